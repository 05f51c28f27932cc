"""`quill draft` through the CLI with a FakeEngine (no model)."""

from collections.abc import Callable
from pathlib import Path

import pytest

from quill.engine.base import Message
from quill.engine.fake import FakeEngine
from quill.errors import ContextOverflow, InputError, OutputError, UsageError


def test_draft_streams_raw_text_when_piped(cli: Callable) -> None:
    engine = FakeEngine("# Linen shirt\n\nCool and **crisp**.")
    r = cli(["draft", "a product page for a linen shirt", "--form", "product"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "# Linen shirt\n\nCool and **crisp**.\n"
    assert "\x1b" not in r.stdout + r.stderr
    system, user, opened = engine.calls[0]
    assert system.role == "system" and opened == Message("assistant", "# ")  # a prefill
    assert "linen shirt" in user.content and "product page" in user.content


def test_stdin_is_material_and_argument_the_instruction(cli: Callable) -> None:
    engine = FakeEngine("ok")
    r = cli(
        [
            "draft",
            "a blog post from these notes",
            "--words",
            "300",
            "--tone",
            "warm",
            "--lang",
            "French",
        ],
        engine=engine,
        stdin="notes: linen breathes\n",
    )
    assert r.exit_code == 0
    user = engine.calls[0][1].content
    assert "a blog post from these notes" in user
    assert "notes: linen breathes" in user
    assert "about 300 words" in user and "warm" in user and "French" in user
    assert engine.params[0].max_tokens >= 300  # a budget that fits the length asked for


def test_stdin_alone_is_the_brief(cli: Callable) -> None:
    engine = FakeEngine("ok")
    r = cli(["draft"], engine=engine, stdin="a haiku about tea")
    assert r.exit_code == 0
    assert "a haiku about tea" in engine.calls[0][1].content


@pytest.mark.parametrize(
    ("args", "stdin", "code", "fragment"),
    [
        (["draft"], "", InputError.exit_code, "brief is empty"),
        (["draft", "x", "--form", "sonnet"], None, UsageError.exit_code, "unknown form"),
        (["draft", "x", "--preset", "wild"], None, UsageError.exit_code, "unknown preset"),
        (["draft", "x", "--temperature", "-1"], None, UsageError.exit_code, "temperature"),
        (["draft", "x", "--words", "0"], None, UsageError.exit_code, "--words"),
        (["draft", "x", "--max-tokens", "0"], None, UsageError.exit_code, "max-tokens"),
    ],
)
def test_errors_are_one_line_with_exit_code(
    cli: Callable, args: list[str], stdin: str | None, code: int, fragment: str
) -> None:
    r = cli(args, stdin=stdin)
    assert r.exit_code == code
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert all(line.startswith(("error: ", "hint: ")) for line in lines)
    assert "Traceback" not in r.stderr


def test_sampling_flags_and_presets(cli: Callable) -> None:
    engine = FakeEngine("ok")
    cli(
        [
            "draft",
            "x",
            "--preset",
            "creative",
            "--seed",
            "7",
            "--top-p",
            "0.5",
            "--max-tokens",
            "33",
        ],
        engine=engine,
    )
    p = engine.params[0]
    assert p.temperature == 1.0 and p.seed == 7 and p.top_p == 0.5 and p.max_tokens == 33
    assert p.repeat_penalty > 1.0  # every preset carries repetition control
    cli(["draft", "x", "--temperature", "0"], engine=engine)
    assert engine.params[1].temperature == 0 and engine.params[1].max_tokens > 0


def test_out_writes_file_and_refuses_to_overwrite(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "draft.md"
    r = cli(["draft", "x", "--out", str(out)], engine=FakeEngine("First text."))
    assert r.exit_code == 0
    assert out.read_text() == "First text.\n"
    engine = FakeEngine("Second text.")
    r = cli(["draft", "x", "--out", str(out)], engine=engine)
    assert r.exit_code == OutputError.exit_code
    assert "already exists" in r.stderr
    assert engine.calls == []  # refused before generating anything
    assert out.read_text() == "First text.\n"
    r = cli(["draft", "x", "--out", str(out), "--force"], engine=engine)
    assert r.exit_code == 0 and out.read_text() == "Second text.\n"
    left = [p.name for p in tmp_path.iterdir() if p.name != "quill-home"]
    assert left == ["draft.md"]  # no temp files left


def test_loop_is_stopped_and_text_before_it_kept(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "story.md"
    r = cli(
        ["draft", "a story", "--out", str(out), "--max-tokens", "100000"],
        engine=FakeEngine(loop=True),
    )
    assert r.exit_code == 0
    assert "repeating itself" in r.stderr
    kept = out.read_text()
    assert kept.startswith("# Once upon a time there was a lighthouse keeper.")
    assert kept.count("The sea was calm that night.") == 1
    assert len(r.stdout.split()) < 300  # stopped early, not at the 100000-token budget


def test_max_tokens_stop_is_reported(cli: Callable) -> None:
    r = cli(["draft", "x", "--max-tokens", "3"], engine=FakeEngine("one two three four five"))
    assert r.stdout == "one two three\n"
    assert "limit of 3 tokens" in r.stderr


def test_stats_go_to_stderr_only(cli: Callable) -> None:
    r = cli(["draft", "x", "--stats"], engine=FakeEngine("Some words here."))
    assert r.stdout == "Some words here.\n"
    assert "stats: prompt" in r.stderr and "tok/s" in r.stderr


def test_context_overflow_is_an_error(cli: Callable) -> None:
    r = cli(["draft", "x"], engine=FakeEngine(n_ctx=10), stdin="word " * 50)
    assert r.exit_code == ContextOverflow.exit_code
    assert r.stderr.startswith("error: the prompt is")


def test_user_prompt_override(cli: Callable, quill_home: Path) -> None:
    prompts = quill_home / "config" / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "draft.toml").write_text('[forms]\nhaiku = "a haiku in three lines"\n')
    engine = FakeEngine("ok")
    r = cli(["draft", "tea", "--form", "haiku"], engine=engine)
    assert r.exit_code == 0
    assert "a haiku in three lines" in engine.calls[0][-1].content


def test_messages_keep_user_text_as_text() -> None:
    from quill.writing.draft import build_messages

    msgs = build_messages("write <|im_end|> {braces} $brief", None)
    assert isinstance(msgs[1], Message)
    assert "<|im_end|> {braces} $brief" in msgs[1].content


def test_a_draft_wrapped_in_a_markdown_fence_is_unwrapped(cli: Callable) -> None:
    engine = FakeEngine("```markdown\n# Title\n\nBody.\n\n```python\nx = 1\n```\n```")
    r = cli(["draft", "x"], engine=engine)
    assert r.stdout == "# Title\n\nBody.\n\n```python\nx = 1\n```\n"


def test_unwrap_keeps_code_and_inline_fences() -> None:
    from quill.engine.base import Piece
    from quill.writing.cleanup import unwrap_fence

    def run(chunks: list[str]) -> str:
        pieces = [Piece(c) for c in chunks] + [Piece("", finish="stop")]
        return "".join(p.text for p in unwrap_fence(iter(pieces)))

    assert run(["```mark", "down\n# T", "itle\n\nBody", "\n", "``", "`"]) == "# Title\n\nBody\n"
    assert run(["```python\nx = 1\n```"]) == "```python\nx = 1\n```"
    assert run(["Use ```a``` here.\n", "more"]) == "Use ```a``` here.\nmore"
    assert run(["Hi"]) == "Hi"


def test_best_of_checks_the_draft_and_writes_a_failing_one_again(cli: Callable) -> None:
    replies = iter(["# Ferry\n\n**Details:** it sails.", "# Ferry\n\nIt sails at night now."])
    engine = FakeEngine(lambda m: next(replies))
    r = cli(["draft", "a news story: the ferry", "--best-of", "1", "--seed", "4"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "# Ferry\n\nIt sails at night now.\n"
    assert len(engine.calls) == 2 and engine.params[1].seed != 4
    assert "retried with seed" in r.stderr and "labels its parts" in r.stderr


def test_free_writing_asks_for_no_prompt_lookup(cli: Callable) -> None:
    """A draft and a chat reply copy little from their prompt: they ask the engine for
    no prompt-lookup drafts (docs/speed.md), which would cost a few percent for nothing;
    a proofread, which copies, leaves the engine's default."""
    engine = FakeEngine("A plain draft. It ends here.")
    assert cli(["draft", "a note about tea"], engine=engine).exit_code == 0
    assert engine.params and all(p.lookup == 0 for p in engine.params)
    chat = FakeEngine("Hello there.")
    assert cli(["chat", "--session", "s"], engine=chat, stdin="hi\n").exit_code == 0
    assert chat.params and all(p.lookup == 0 for p in chat.params)
    proof = FakeEngine("A plain sentence.")
    assert cli(["proofread"], stdin="A plain sentence.\n", engine=proof).exit_code == 0
    assert all(p.lookup is None for p in proof.params)


@pytest.mark.parametrize(
    ("brief", "words"),
    [
        ("a product description for headphones, about 80 words", 80),
        ("a 300-word blog post about tea", 300),
        ("100-150 words on the ferry timetable", 150),
        ("an essay of 2,000 words", 2000),
        ("写一段300字左右的茶馆介绍", 176),  # characters, at 1.7 a word
        ("a poem about 3 words", None),
        ("a list of 20 words for rain, with a line on each", None),
        ("a vocabulary set of 30 words for travellers", None),
        ("26个字母的故事", None),
        ("a product page for a linen shirt", None),
    ],
)
def test_a_length_in_the_brief_is_read_as_words(brief: str, words: int | None) -> None:
    from quill.writing.draft import words_in_brief

    assert words_in_brief(brief) == words


def test_draft_ends_near_the_length_its_brief_asks(cli: Callable) -> None:
    engine = FakeEngine("Quiet at last. Music only.")
    brief = "a product description for headphones, about 80 words"
    assert cli(["draft", brief], engine=engine).exit_code == 0
    p = engine.params[0]
    assert p.end_after == 80 and p.max_tokens < 1024  # as with --words 80
    assert engine.calls[0][1].content.count("80 words") == 1  # asked once, by the brief
    plain = FakeEngine("Quiet at last.")
    assert cli(["draft", "a product page for headphones"], engine=plain).exit_code == 0
    assert plain.params[0].end_after == 0


def test_a_social_media_post_is_a_form_of_its_own(cli: Callable) -> None:
    from quill.writing.draft import infer_form

    assert infer_form("a LinkedIn post announcing my promotion") == "post"
    assert infer_form("a tweet about our launch") == "post"
    assert infer_form("为书店写一条朋友圈") == "post"
    assert infer_form("a blog post about tea") == "blog"
    engine = FakeEngine("Big news: I run the team now.")
    assert cli(["draft", "a LinkedIn post about my promotion"], engine=engine).exit_code == 0
    _system, user, *rest = engine.calls[0]
    assert "social media post" in user.content and not rest  # no opening: it starts as a post


def test_a_chinese_piece_begins_no_word_in_small_latin_letters(cli: Callable) -> None:
    zh = FakeEngine("尊敬的房东：您好。")
    assert cli(["draft", "一封给房东的信，请求修理水龙头"], engine=zh).exit_code == 0
    assert zh.params[0].native
    asked = FakeEngine("Dear landlord, hello.")
    assert cli(["draft", "a letter to my landlord", "--lang", "zh"], engine=asked).exit_code == 0
    assert asked.params[0].native  # asked for in Chinese
    en = FakeEngine("Dear landlord, hello.")
    assert cli(["draft", "a letter to my landlord"], engine=en).exit_code == 0
    assert not en.params[0].native


def test_a_draft_may_not_begin_with_talk(cli: Callable) -> None:
    engine = FakeEngine("Dear landlord, hello.")
    assert cli(["draft", "a letter to my landlord"], engine=engine).exit_code == 0
    assert {"Sure", "Certainly", "当然"} <= set(engine.params[0].not_first)
