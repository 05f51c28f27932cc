"""The draft prompt says what to write and how it should read, and nothing about the
reply itself (a small model repeats such instructions back at the end of the piece)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill.writing.draft import brief_language, build_messages

# Phrases a small model echoed back about its instructions.
META = ("same language", "markdown", "code block", "output only", "requirements", "brief:")


@pytest.mark.parametrize(
    ("brief", "form", "words", "tone"),
    [
        ("a product page for a linen shirt", None, None, None),
        ("a product page for a linen shirt", "product", None, None),
        ("a launch email for our new tea shop", "email", 150, "warm"),
        (
            "a short news story: the town library reopens after a two-year renovation",
            "news",
            200,
            None,
        ),
    ],
)
def test_english_prompt_has_no_instructions_about_the_reply(
    brief: str, form: str | None, words: int | None, tone: str | None
) -> None:
    system, user = build_messages(brief, form=form, words=words, tone=tone)
    text = (system.content + "\n" + user.content).lower()
    for phrase in META:
        assert phrase not in text, phrase
    assert user.content.startswith(f"Write {brief}.")
    assert "write it in" not in user.content.lower()  # English needs no language line
    if words:
        assert f"about {words} words" in user.content
    if tone:
        assert f"{tone} tone" in user.content


def test_chinese_brief_gets_a_chinese_prompt() -> None:
    system, user = build_messages("写一首关于秋天的短诗", form="poem", words=40)
    assert "作者" in system.content and "Write" not in user.content
    assert user.content.startswith("写一首关于秋天的短诗。")
    assert "一首意象生动的诗" in user.content
    assert "约 68 字" in user.content  # 40 words: about 68 characters
    for phrase in ("简报", "同样的语言", "Markdown"):
        assert phrase not in system.content + user.content


def test_language_line_only_where_it_says_something() -> None:
    _, user = build_messages("eine kurze Geschichte über einen Leuchtturm und das Meer")
    assert "Write it in German." in user.content
    _, user = build_messages("a haiku about tea", lang="French")
    assert "Write it in French." in user.content
    _, user = build_messages("写一首关于秋天的短诗", lang="English")
    assert "Write it in English." in user.content and "Write " in user.content
    _, user = build_messages("a haiku about tea", lang="Chinese")
    assert user.content.startswith("写a haiku")  # the prompt in the piece's language


def test_a_brief_with_a_verb_of_its_own_stays_as_it_is() -> None:
    _, user = build_messages("tell our customers we moved to Mill Street", form="email")
    assert user.content.startswith("tell our customers we moved to Mill Street.\n")
    _, user = build_messages("为一款城市通勤电动自行车写一段产品介绍", words=100)
    assert user.content.startswith("为一款城市通勤电动自行车写一段产品介绍。")
    _, user = build_messages("一首关于茶的诗")
    assert user.content.startswith("写一首关于茶的诗。\n")  # then the poem's shape


def test_material_keeps_its_blank_lines_and_indents() -> None:
    material = "notes:\n\n\n\n    indented line"
    _, user = build_messages("a blog post from these notes", material)
    assert material in user.content


def test_material_and_custom_forms(tmp_path: Path) -> None:
    (tmp_path / "draft.toml").write_text('[forms]\nlimerick = "a limerick"\n', encoding="utf-8")
    _, user = build_messages(
        "a post from these notes", "linen breathes", form="limerick", user_dir=tmp_path
    )
    assert "Shape it as a limerick." in user.content and "linen breathes" in user.content


@pytest.mark.parametrize(
    ("brief", "lang"),
    [
        ("写一首关于秋天的短诗", "Chinese"),
        ("秋の短い詩を書いて", "Japanese"),
        ("a haiku about tea", None),
        ("a product page for a linen shirt", None),
        ("eine kurze Geschichte über einen Leuchtturm und das Meer", "German"),
    ],
)
def test_brief_language(brief: str, lang: str | None) -> None:
    assert brief_language(brief) == lang


@pytest.mark.parametrize(
    ("brief", "form"),
    [
        ("a product page for a linen shirt", "product"),
        ("a launch email for our new tea shop", "email"),
        ("a blog post about our new product page", "blog"),  # the first named wins
        ("a short news story about the library", "news"),
        ("a haiku about tea", "poem"),
        ("写一首关于秋天的短诗", "poem"),
        ("给客户写一封道歉邮件", "email"),
        ("为一款电动自行车写一段产品介绍", "product"),
        ("three tips for working from home", None),
        ("a storyboard for an advert", "marketing"),  # not a story
    ],
)
def test_the_form_a_brief_names_is_used_without_form(brief: str, form: str | None) -> None:
    """`quill draft "a product page for a linen shirt"` gets the product page's shape,
    as with --form product; --form still decides when given."""
    from quill.writing.draft import infer_form

    assert infer_form(brief) == form
    if form is not None:
        assert build_messages(brief) == build_messages(brief, form=form)
    _, user = build_messages(brief, form="article")
    assert "article" in user.content or "文章" in user.content
