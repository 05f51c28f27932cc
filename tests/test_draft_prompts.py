"""The draft prompt says what to write and how it should read, and nothing about the
reply itself (a small model repeats such instructions back at the end of the piece) or
the parts of its shape (which come back as labels): the shape is shown by the reply's
opening, written for the model (a prefill)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill.engine.base import Message
from quill.engine.fake import FakeEngine
from quill.writing.draft import brief_language, build_messages, is_statement, opening

# Phrases a small model echoed back about its instructions.
META = ("same language", "markdown", "code block", "output only", "requirements", "brief:")
# Names of a piece's parts, which a small model writes back as labels.
PARTS = (
    "headline",
    "first paragraph",
    "lead paragraph",
    "call to action",
    "sign-off",
    "greeting",
    "bulleted",
    "beginning, middle",
    "标题",
    "正文",
    "第一段",
    "下一步",
    "落款",
)


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
    system, user, *_ = build_messages(brief, form=form, words=words, tone=tone)
    text = (system.content + "\n" + user.content).lower()
    for phrase in META + PARTS:
        assert phrase not in text, phrase
    assert user.content.startswith(f"Write {brief}.")
    assert "write it in" not in user.content.lower()  # English needs no language line
    if words:
        assert f"about {words} words" in user.content
    if tone:
        assert f"{tone} tone" in user.content


def test_chinese_brief_gets_a_chinese_prompt() -> None:
    system, user, opened = build_messages("写一首关于秋天的短诗", form="poem", words=40)
    assert opened == Message("assistant", "# ")  # a title line
    assert "作者" in system.content and "Write" not in user.content
    assert user.content.startswith("写一首关于秋天的短诗。")
    assert "一首意象生动的诗" in user.content
    assert "约 68 字" in user.content  # 40 words: about 68 characters
    for phrase in ("简报", "同样的语言", "Markdown", *PARTS):
        assert phrase not in system.content + user.content


def test_language_line_only_where_it_says_something() -> None:
    _, user, *_ = build_messages("eine kurze Geschichte über einen Leuchtturm und das Meer")
    assert "Write it in German." in user.content
    _, user, *_ = build_messages("a haiku about tea", lang="French")
    assert "Write it in French." in user.content
    _, user, *_ = build_messages("写一首关于秋天的短诗", lang="English")
    assert "Write it in English." in user.content and "Write " in user.content
    # not "写a haiku about tea。": wrapped in the Chinese prompt, an English brief came
    # back in English on one seed of two
    _, user, *_ = build_messages("a haiku about tea", lang="Chinese")
    assert user.content.startswith("Write a haiku") and "Write it in Chinese." in user.content


def test_a_brief_with_a_verb_of_its_own_stays_as_it_is() -> None:
    _, user, *_ = build_messages("tell our customers we moved to Mill Street", form="email")
    assert user.content.startswith("tell our customers we moved to Mill Street.\n")
    _, user, *_ = build_messages("为一款城市通勤电动自行车写一段产品介绍", words=100)
    assert user.content.startswith("为一款城市通勤电动自行车写一段产品介绍。")
    _, user, *_ = build_messages("一首关于茶的诗")
    assert user.content.startswith("写一首关于茶的诗。\n")  # then the poem's shape


@pytest.mark.parametrize(
    "brief",
    [
        "the library will stay open until 10 pm during exam weeks starting March 3",
        "our bakery opens a second shop on Harbour Road next month",
        "Northfield Hospital opens a new children's wing on June 12",
        "the town's night market reopens on Friday with forty stalls",
        "our design studio just hired its fifth employee",
        "the redesigned homepage goes live on Monday",
        # a verb news is told with, then a preposition or a number
        "the city pool closes for repairs from July 1 to July 20",
        "the clinic reopens after a two-week break",
        "the team welcomes two new engineers",
        "our office shuts early on Friday",
    ],
)
def test_a_statement_of_news_is_asked_for_as_an_announcement(brief: str) -> None:
    """After "Write " alone the 1.5B answered such a brief with the statement again."""
    assert is_statement(brief)
    _, user, *_ = build_messages(brief)
    assert user.content.startswith(f"Write an announcement: {brief}.")


@pytest.mark.parametrize(
    "brief",
    [
        "a poem about tea",
        "a short story about a clockmaker who is asked to repair a clock",
        "marketing copy for a neighbourhood bakery's new sourdough subscription",
        "product page for a linen shirt",
        "the history of tea in China",
        "the products in our catalogue",
        "tips for staying focused while working at home",
        "three reasons to visit Lisbon in winter",
        "a news story: the town library reopens on Friday",
        "welcome message for new members of the choir",
        # a verb in a clause or phrase of the noun phrase's own
        "tips for parents whose kids are starting school",
        "reasons why remote work is here to stay",
        "what to do when the power is out",
        "guide to the trails that are open in winter",
        # a plural noun before "for" is no verb
        "weekend plans for families",
        "product launches for small teams",
        "gift ideas for teachers",
    ],
)
def test_a_brief_naming_its_piece_is_not_a_statement(brief: str) -> None:
    assert not is_statement(brief)
    _, user, *_ = build_messages(brief)
    assert user.content.startswith(f"Write {brief}.")


@pytest.mark.parametrize(
    ("brief", "sentence"),
    [
        ("a short speech for my grandmother's 90th birthday dinner", "to be spoken aloud."),
        ("a toast for my sister's wedding", "to be spoken aloud."),
        ("为公司年会写一篇致辞", "当众念出来的讲话稿。"),
    ],
)
def test_a_speech_is_asked_for_as_one_to_be_spoken(brief: str, sentence: str) -> None:
    """Without the form's sentence the 1.5B wrote a letter for a speech brief ("Dear
    [Grandmother's Name], I hope this letter finds you well")."""
    msgs = build_messages(brief)
    assert msgs[1].content.endswith(sentence)
    assert len(msgs) == 2  # a speech has no title: the reply is not begun for the model


@pytest.mark.parametrize(
    ("brief", "sentence"),
    [
        ("a review of a neighborhood ramen restaurant", "from your own experience."),
        ("a hotel review for a weekend stay in Lisbon", "from your own experience."),
        ("给一部新上映的科幻电影写一篇影评", "写你亲身的体验。"),
    ],
)
def test_a_review_is_written_from_experience_under_a_title(brief: str, sentence: str) -> None:
    """With no form, the 1.5B began reviews "As a language model, I don't have personal
    experiences…" and "Sure, I can help you write a review… Please provide me with the
    details"."""
    msgs = build_messages(brief)
    assert msgs[1].content.endswith(sentence)
    assert msgs[-1] == Message("assistant", "# ")


def test_a_chinese_brief_is_never_an_announcement() -> None:
    _, user, *_ = build_messages("图书馆考试周将开放到晚上十点 will open")
    assert user.content.startswith("写图书馆")


def test_material_keeps_its_blank_lines_and_indents() -> None:
    material = "notes:\n\n\n\n    indented line"
    _, user, *_ = build_messages("a blog post from these notes", material)
    assert material in user.content


def test_material_and_custom_forms(tmp_path: Path) -> None:
    (tmp_path / "draft.toml").write_text('[forms]\nlimerick = "a limerick"\n', encoding="utf-8")
    _, user, *_ = build_messages(
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
    _, user, *_ = build_messages(brief, form="article")
    assert "article" in user.content or "文章" in user.content


@pytest.mark.parametrize(
    ("brief", "form", "start"),
    [
        ("the town library reopens", "news", "# "),
        ("a linen shirt", "product", "# "),
        ("our tea shop opens on Saturday", "email", "Subject: "),
        ("给客户写一封邮件，为订单延迟发货道歉", None, "主题："),
        ("为一款城市通勤电动自行车写一段产品介绍", None, "# "),
        ("a haiku about tea", None, "# "),
        ("three tips for working from home", None, ""),  # no form: no opening
    ],
)
def test_the_form_is_shown_by_the_replys_opening(brief: str, form: str | None, start: str) -> None:
    msgs = build_messages(brief, form=form)
    assert opening(msgs) == start
    if start:
        assert msgs[-1] == Message("assistant", start) and msgs[-2].role == "user"
    else:
        assert msgs[-1].role == "user"


def test_a_form_of_your_own_has_no_opening_unless_given(tmp_path: Path) -> None:
    (tmp_path / "draft.toml").write_text(
        '[forms]\nlimerick = "a limerick"\nhaiku = "a haiku"\n[openings]\nhaiku = "## "\n',
        encoding="utf-8",
    )
    assert opening(build_messages("tea", form="limerick", user_dir=tmp_path)) == ""
    assert opening(build_messages("tea", form="haiku", user_dir=tmp_path)) == "## "


# -- shape labels and the check -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("# Night ferry\n\n**First Paragraph:** The ferry sails at ten.", "First Paragraph"),
        ("The ferry sails.\n\n**Details:**\nIt stops twice.", "Details"),
        ("正文：茶馆的评书专场每周六开讲。", "正文"),
        ("下一步：立即预订座位。", "下一步"),
        ("Headline: Night ferry starts in June", "Headline"),
        ("- **Call to Action:** Book now.", "Call to Action"),
        ("**Headline**\n\nNight ferry", "Headline"),
    ],
)
def test_shape_labels_found(text: str, label: str) -> None:
    from quill.writing.metrics import shape_labels

    assert shape_labels(text) == [label]


@pytest.mark.parametrize(
    "text",
    [
        "Subject: Tea on Saturday\n\nDear all,",
        "## Key Features\n\n- Folds flat",
        "When: Saturday\nWhere: Mill Street",
        "# Night Ferry\n\nThe details are simple: it sails at ten.",
        "## Conclusion\n\nThe ferry is here.",
    ],
)
def test_shape_labels_not_found(text: str) -> None:
    from quill.writing.metrics import shape_labels

    assert shape_labels(text) == []


def test_shape_talk() -> None:
    from quill.writing.metrics import shape_talk

    assert shape_talk("This headline captures the essence of the news story: a ferry.")
    assert shape_talk("通过标题、好处和结尾这样的格式，文案不仅能够吸引读者。")
    assert not shape_talk("The ferry captures the evening light.")
    assert shape_talk("产品介绍页面可以分为以下几个部分：")
    assert shape_talk("A news story indicates that the ferry will sail at night.")
    assert shape_talk("The page should include the following sections:")
    assert not shape_talk("The ferry calls at the following islands: Arran and Bute.")


def test_a_closing_wish_that_the_copy_helps_is_talk() -> None:
    from quill.writing.metrics import leaked_phrases

    assert leaked_phrases("# 茶馆\n\n周六见。\n\n希望这个文案能够帮助到您！")
    assert not leaked_phrases("# 茶馆\n\n希望大家周六都能来听书。")


GOOD = "# Night ferry\n\nThe island ferry will sail at night every Friday from June. " * 1


def test_check_passes_a_finished_piece_and_names_each_problem() -> None:
    from quill.writing.draft import check

    assert check(GOOD, lang="English") == []
    assert check(GOOD + "\n\n**Details:** it stops twice.")[0].startswith("labels its parts")
    assert "has no complete ending" in check("# Night ferry\n\nThe ferry will sail at")
    assert check(GOOD, lang="Chinese") == ["is in English, not Chinese"]
    assert check(GOOD, words=200)[0].endswith("times the length asked")
    talk = check(GOOD + "\n\nI hope this helps!")
    assert talk and talk[0].startswith("talks about the brief")
    assert check("") == ["is empty"]


def test_a_failing_draft_is_written_again_with_another_seed() -> None:
    from quill.engine.base import Result, Sampling
    from quill.writing.draft import write_checked

    replies = iter(["# Ferry\n\n**Details:** it sails.", "# Ferry\n\nIt sails at night."])
    seeds: list[int | None] = []

    def write(p: Sampling) -> Result:
        seeds.append(p.seed)
        return Result(next(replies), "stop")

    got = write_checked(write, Sampling(seed=5), lang="English")
    assert len(seeds) == 2 and seeds[0] == 5 and seeds[1] != 5
    assert got.text == "# Ferry\n\nIt sails at night." and got.action == "retried"
    assert "labels its parts" in got.note() and str(seeds[1]) in got.note()


def test_retries_stop_at_two_and_keep_the_best() -> None:
    from quill.engine.base import Result, Sampling
    from quill.writing.draft import write_checked

    replies = iter(["# A\n\n**Body:** x\n\nI hope this helps!", "# B\n\nCut off at", "# C\n\nEnds"])
    got = write_checked(lambda p: Result(next(replies), "stop"), Sampling(seed=1))
    assert got.tries == 3 and got.text == "# B\n\nCut off at"  # fewest problems, earliest
    first = write_checked(lambda p: Result(GOOD, "stop"), Sampling(seed=1))
    assert first.tries == 1 and first.note() == ""
    cut = write_checked(lambda p: Result("# A\n\nCut", "interrupted"), Sampling(seed=1))
    assert cut.tries == 1  # a stop the writer asked for is never retried


def test_a_checked_draft_generation_comes_out_whole_with_its_note() -> None:
    from quill.engine.base import Sampling
    from quill.engine.generation import generate
    from quill.writing.draft import checked_generation, filters, piece_check

    brief = "a news story: the ferry sails at night"
    msgs = build_messages(brief, words=20)
    replies = iter(["# Ferry\n\n**Details:** it sails.", "# Ferry\n\nIt sails at night now."])
    engine = FakeEngine(lambda m: next(replies))
    gen = checked_generation(
        lambda p: generate(engine, msgs, p, transforms=filters(msgs)),
        Sampling(seed=2),
        piece_check(brief),
    )
    text = "".join(gen)
    result = gen.close()
    assert text == "# Ferry\n\nIt sails at night now." == result.text
    assert "labels its parts" in result.note and len(engine.calls) == 2


def test_a_streamed_draft_is_checked_as_it_ends_and_trimmed_at_its_limit() -> None:
    from quill.engine.base import Sampling
    from quill.engine.generation import generate
    from quill.writing.draft import filters, piece_check

    brief = "a news story: the ferry sails at night"
    msgs = build_messages(brief)
    engine = FakeEngine("# Ferry\n\n**Details:** it sails at night. It stops at two")
    gen = generate(
        engine, msgs, Sampling(max_tokens=60), transforms=filters(msgs, 60, piece_check(brief))
    )
    pieces = iter(gen)
    assert next(pieces) == "# Ferry"  # streams at once, the opening with the first word
    "".join(pieces)
    result = gen.close()
    assert "labels its parts" in result.note and "complete ending" in result.note
    cut = FakeEngine("# Ferry\n\nIt sails at night. It stops at two and then")
    gen = generate(cut, msgs, Sampling(max_tokens=9), transforms=filters(msgs, 9))
    "".join(gen)
    assert gen.close().text == "# Ferry\n\nIt sails at night."


@pytest.mark.model
def test_real_news_draft_opens_with_a_heading_and_names_no_parts(llama_engine: object) -> None:
    from quill.engine.base import Sampling
    from quill.writing.benchwriting import generate_text
    from quill.writing.draft import filters
    from quill.writing.metrics import shape_labels

    msgs = build_messages("a news story: the island ferry will sail at night from June")
    params = Sampling(temperature=0, seed=3, max_tokens=80)
    text, _, _ = generate_text(llama_engine, msgs, params, filters(msgs))  # type: ignore[arg-type]
    assert text.startswith("# ") and len(text.split("\n")[0].split()) <= 16
    assert "\n\n" in text  # the heading, then the story
    assert shape_labels(text) == []
