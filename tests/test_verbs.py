"""The writing verbs through the CLI on a FakeEngine: prompt assembly, input, output,
flags, drafts; and the pieces they share (Chain, parts of a long text, grammars)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

from quill.engine.base import Message, Sampling
from quill.engine.fake import FakeEngine
from quill.engine.generation import generate
from quill.errors import BackendError, InputError, UsageError
from quill.store.db import Store
from quill.writing import analyze as an
from quill.writing import verbs

DOC = """# Linen

Linen is cool in summer. It gets softer with every wash.

```python
print("linen")
```

## Care

Wash it cold. Dry it flat.
"""


def _store(run: Run) -> Store:
    return Store(run.env.paths.db_file)


def _user(engine: FakeEngine, i: int = 0) -> str:
    return engine.calls[i][-1].content


def _system(engine: FakeEngine, i: int = 0) -> str:
    return engine.calls[i][0].content


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    p = tmp_path / "linen.md"
    p.write_text(DOC, encoding="utf-8")
    return p


# -- rewrite, expand, shorten ----------------------------------------------------------------


def test_rewrite_asks_for_the_tone_length_and_audience(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("Dear reader, linen is cool.")
    r = cli(
        ["rewrite", "--tone", "formal", "--shorter", "--audience", "tailors", "-i", "No jokes."],
        engine=engine,
        stdin="linen is cool, lol\n",
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "Dear reader, linen is cool.\n"
    user = _user(engine)
    assert "linen is cool, lol" in user
    assert "formal and polished" in user  # the [tones] description of "formal"
    assert "half as long" in user and "tailors" in user and "No jokes." in user
    assert "same language as the text" in user
    assert engine.params[0].temperature == 0.3  # the template's [sampling]


def test_an_unknown_tone_is_used_as_written_and_flags_beat_the_template(
    cli: Callable[..., Run],
) -> None:
    engine = FakeEngine("ok")
    r = cli(["rewrite", "--tone", "wistful", "-t", "0.9"], engine=engine, stdin="text\n")
    assert r.exit_code == 0
    assert "Tone: wistful." in _user(engine)
    assert engine.params[0].temperature == 0.9


@pytest.mark.parametrize(("verb", "fragment"), [("expand", "twice as long"), ("shorten", "half")])
def test_expand_and_shorten_are_forms_of_rewrite(
    cli: Callable[..., Run], verb: str, fragment: str
) -> None:
    engine = FakeEngine("ok")
    r = cli([verb], engine=engine, stdin="some text\n")
    assert r.exit_code == 0 and fragment in _user(engine)
    with _store(r) as s:
        v = s.draft_version(1)
        assert v is not None and v.meta["command"] == "rewrite" and v.meta["template"] == "rewrite"


def test_a_sized_rewrite_ends_near_its_length_and_says_its_own_limit(
    cli: Callable[..., Run],
) -> None:
    """Asked for twice a 48-word paragraph, the 1.5B ran on to its token limit and ended
    mid-sentence in all three tries; the report line named the command's 1,024 tokens,
    not the part's own limit."""
    source = " ".join(["word"] * 40) + ".\n"
    engine = FakeEngine("ok.")
    assert cli(["expand"], engine=engine, stdin=source).exit_code == 0
    assert engine.params[0].end_after == 80  # about twice its 40 words
    assert engine.params[0].min_words == 52  # and not ended before it is longer (1.3x)
    engine = FakeEngine("ok.")
    assert cli(["shorten"], engine=engine, stdin=source).exit_code == 0
    assert engine.params[0].end_after == 20 and engine.params[0].min_words == 0
    engine = FakeEngine("ok.")
    assert cli(["rewrite", "--tone", "formal"], engine=engine, stdin=source).exit_code == 0
    assert engine.params[0].end_after == 0  # a change of tone keeps its own length
    long = FakeEngine(" ".join(f"w{i}" for i in range(500)))
    r = cli(["expand"], engine=long, stdin=source)
    limit = long.params[0].max_tokens
    assert limit < 1024 and f"limit of {limit} tokens" in r.stderr


def test_shorter_and_longer_contradict(cli: Callable[..., Run]) -> None:
    r = cli(["rewrite", "--shorter", "--longer"], engine=FakeEngine("x"), stdin="t\n")
    assert r.exit_code == UsageError.exit_code


def test_rewrite_keeps_code_blocks_and_saves_the_source(cli: Callable[..., Run], doc: Path) -> None:
    engine = FakeEngine("Rewritten.")
    r = cli(["rewrite", str(doc), "--seed", "3"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert '```python\nprint("linen")\n```' in r.stdout
    assert all("print(" not in m.content for call in engine.calls for m in call)
    with _store(r) as s:
        v = s.draft_version(1)
        assert v is not None and v.content == r.stdout
        assert v.meta["source"]["path"] == str(doc.resolve()) and v.meta["seed"] == 3


def test_rewrite_diff_prints_a_unified_diff(cli: Callable[..., Run], tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("The cat sat.\n", encoding="utf-8")
    r = cli(["rewrite", str(src), "--diff", "--no-save"], engine=FakeEngine("The dog sat."))
    assert r.exit_code == 0, r.stderr
    assert "-The cat sat." in r.stdout and "+The dog sat." in r.stdout
    assert r.stdout.startswith(f"--- {src}")


def test_rewrite_review_needs_a_terminal(cli: Callable[..., Run]) -> None:
    r = cli(["rewrite", "--review"], engine=FakeEngine("x"), stdin="text\n")
    assert r.exit_code == UsageError.exit_code and "terminal" in r.stderr


def test_a_draft_is_the_input_and_gets_the_next_version(cli: Callable[..., Run]) -> None:
    cli(["draft", "x"], engine=FakeEngine("First version."))
    engine = FakeEngine("Second version.")
    r = cli(["rewrite", "--draft", "1", "--tone", "casual"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert "First version." in _user(engine)
    assert "saved as draft 1 v2" in r.stderr
    with _store(r) as s:
        v = s.draft_version(1)
        assert v is not None and v.content == "Second version." and v.meta["source"]["draft"] == 1


def test_empty_and_binary_input_are_refused(cli: Callable[..., Run], tmp_path: Path) -> None:
    binary = tmp_path / "x.pdf"
    binary.write_bytes(b"%PDF-1.4 \x00\x01")
    r = cli(["rewrite", str(binary)], engine=FakeEngine("x"))
    assert r.exit_code == InputError.exit_code and "PDF" in r.stderr
    r = cli(["rewrite"], engine=FakeEngine("x"), stdin="  \n")
    assert r.exit_code == InputError.exit_code and "empty" in r.stderr
    r = cli(["rewrite"], engine=FakeEngine("x"))
    assert r.exit_code == InputError.exit_code and "nothing to rewrite" in r.stderr


def test_out_is_atomic_and_refuses_to_overwrite(cli: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "out.md"
    r = cli(["rewrite", "--out", str(out)], engine=FakeEngine("New."), stdin="old\n")
    assert r.exit_code == 0 and out.read_text() == "New.\n"
    r = cli(["rewrite", "--out", str(out)], engine=FakeEngine("Newer."), stdin="old\n")
    assert r.exit_code == 8 and out.read_text() == "New.\n"


# -- translate -------------------------------------------------------------------------------


def test_translate_passes_code_through_and_keeps_the_spacing(
    cli: Callable[..., Run], doc: Path
) -> None:
    def reply(messages: list[Message]) -> str:
        text = messages[-1].content.split("<text>\n", 1)[1].split("\n</text>", 1)[0]
        return "\n" + text.upper() + "\n\n"  # the model's stray blank lines are trimmed

    engine = FakeEngine(reply)
    r = cli(["translate", str(doc), "--to", "zh", "--no-save"], engine=engine)
    assert r.exit_code == 0, r.stderr
    head, code, tail = DOC.partition('```python\nprint("linen")\n```\n')
    assert r.stdout == head.upper() + code + tail.upper()
    assert "from English into Chinese" in _user(engine)
    assert all("print(" not in m.content for call in engine.calls for m in call)


def test_a_long_text_is_translated_in_parts_and_nothing_is_cut(cli: Callable[..., Run]) -> None:
    paragraphs = [f"Paragraph {i} says something about linen and wool." for i in range(60)]
    text = "\n\n".join(paragraphs) + "\n"

    def reply(messages: list[Message]) -> str:
        return messages[-1].content.split("<text>\n", 1)[1].split("\n</text>", 1)[0]

    engine = FakeEngine(reply, n_ctx=512)
    r = cli(["translate", "--to", "fr", "--no-save"], engine=engine, stdin=text)
    assert r.exit_code == 0, r.stderr
    assert len(engine.calls) > 1  # in parts
    assert r.stdout == text  # every paragraph, in order, with its blank lines
    for call, p in zip(engine.calls, engine.params, strict=True):
        assert engine.count_messages(call) + p.max_tokens <= 512 + 64


def test_translate_needs_a_language(cli: Callable[..., Run]) -> None:
    r = cli(["translate"], engine=FakeEngine("x"), stdin="hello\n")
    assert r.exit_code == UsageError.exit_code


# -- outline, titles, continue ------------------------------------------------------------------


def test_an_outline_is_asked_for_in_the_texts_language_by_name() -> None:
    """Told "the same language as the text", the 1.5B outlined a Chinese article in
    English, as a piece to write."""
    from quill.writing.verbs import outline_messages

    zh = outline_messages("近年来，越来越多的城市开始建设口袋公园，周边居民的户外活动时间增加了。")
    assert zh[-1].content.rstrip().endswith("Write in Chinese.")
    en = outline_messages("The council made parking on the main street cost twice as much.")
    assert en[-1].content.rstrip().endswith("Write in English.")
    assert outline_messages("短文", lang="French")[-1].content.rstrip().endswith("in French.")


def test_outline_streams_markdown_and_is_saved(cli: Callable[..., Run], doc: Path) -> None:
    engine = FakeEngine("## Linen\n\n- cool\n- soft")
    r = cli(["outline", str(doc)], engine=engine)
    assert r.exit_code == 0 and r.stdout.startswith("## Linen")
    assert "Wash it cold" in _user(engine)
    with _store(r) as s:
        d = s.draft(1)
        assert d is not None and d.kind == "outline"


def test_titles_are_exactly_n_lines_without_numbering(cli: Callable[..., Run]) -> None:
    engine = FakeEngine(
        '1. Cool Linen\n- "Soft Linen"\n**Wash Cold**\n2) Cool linen\nFlat Dry\nSix\nSeven'
    )
    r = cli(["titles", "-n", "4", "--no-save"], engine=engine, stdin="About linen.\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["Cool Linen", "Soft Linen", "Wash Cold", "Flat Dry"]
    assert "4 different titles" in _user(engine)
    grammar = engine.params[0].grammar
    assert grammar is not None and '"4. " title' in grammar and "5. " not in grammar


def test_too_few_titles_are_reported(cli: Callable[..., Run]) -> None:
    r = cli(["titles", "--no-save"], engine=FakeEngine("Only one"), stdin="About linen.\n")
    assert r.exit_code == 0 and r.stdout == "Only one\n"
    assert "gave 1 titles, not 5" in r.stderr


def test_a_language_code_is_read_as_its_name(cli: Callable[..., Run]) -> None:
    """`--lang zh` was sent as "Write it in zh." and the draft's check then found it "in
    Chinese, not zh"."""
    engine = FakeEngine("欢迎来到我们的图书馆。我们很高兴您能加入。")
    r = cli(["draft", "a short welcome note", "--lang", "zh"], engine=engine)
    assert r.exit_code == 0 and "Write it in Chinese." in _user(engine)
    assert "not zh" not in r.stderr and "check:" not in r.stderr


def test_a_continuation_loses_the_tag_its_draft_was_shown_in(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("The queue grew longer.\n</draft>")
    r = cli(["continue", "--words", "40"], engine=engine, stdin="The bakery opens at six.\n")
    assert r.exit_code == 0 and r.stdout == "The queue grew longer.\n"


def test_continue_of_a_chinese_draft_begins_no_latin_word_of_its_own(
    cli: Callable[..., Run],
) -> None:
    zh = FakeEngine("后来起风了。")
    sea = "海面很平静，渔船慢慢靠岸。天色渐渐暗了下来，码头上的灯一盏盏亮起。\n"
    assert cli(["continue"], engine=zh, stdin=sea).exit_code == 0
    assert zh.params[0].native
    en = FakeEngine("Then the wind rose.")
    assert cli(["continue"], engine=en, stdin="The sea was calm.\n").exit_code == 0
    assert not en.params[0].native


def test_continue_prints_only_the_continuation_and_keeps_the_whole(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    story = tmp_path / "story.md"
    story.write_text("The sea was calm.\n", encoding="utf-8")
    out = tmp_path / "whole.md"
    engine = FakeEngine("Then the wind rose.")
    r = cli(["continue", str(story), "--words", "50", "--out", str(out)], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "Then the wind rose.\n"
    assert "The sea was calm." in _user(engine) and "about 50 words" in _user(engine)
    assert out.read_text() == "The sea was calm.\n\nThen the wind rose.\n"
    with _store(r) as s:
        v = s.draft_version(1)
        assert v is not None and v.content == "The sea was calm.\n\nThen the wind rose."
    r = cli(["continue", "--draft", "1"], engine=FakeEngine("And it rained."))
    assert r.exit_code == 0 and "saved as draft 1 v2" in r.stderr
    with _store(r) as s:
        v = s.draft_version(1)
        assert v is not None and v.content.endswith("Then the wind rose.\n\nAnd it rained.")


def test_continue_shows_the_model_the_end_of_a_long_draft(cli: Callable[..., Run]) -> None:
    text = "\n\n".join(f"Sentence number {i} of the long draft." for i in range(400)) + "\n"
    engine = FakeEngine("More.", n_ctx=1024)
    r = cli(["continue", "--no-save"], engine=engine, stdin=text)
    assert r.exit_code == 0, r.stderr
    assert "number 399" in _user(engine) and "number 0 " not in _user(engine)
    assert "reads the last" in r.stderr


# -- analyze, classify, moderate --------------------------------------------------------------

ANALYSIS = {
    "sentiment": "positive",
    "score": 0.8,
    "tone": ["Warm", "warm", "plain"],
    "weakest": [
        {"sentence": 2, "problem": "vague", "why": "Softer how?"},
        {"sentence": 2, "problem": "wordy", "why": "again"},
        {"sentence": 3, "problem": "wordy", "why": "Wash it cold."},
    ],
}


def test_analyze_json_has_a_fixed_schema(cli: Callable[..., Run], doc: Path) -> None:
    engine = FakeEngine(json.dumps(ANALYSIS))
    r = cli(["analyze", str(doc), "--json"], engine=engine)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {
        "language",
        "words",
        "sentences",
        "paragraphs",
        "characters",
        "reading_time_s",
        "reading_level",
        "sentiment",
        "tone",
        "weakest",
    }
    assert data["sentences"] == 4 and data["language"] == "English"
    assert data["sentiment"] == {"label": "positive", "score": 0.8}
    assert data["tone"] == ["warm", "plain"]
    assert data["weakest"] == [
        {
            "index": 2,
            "sentence": "It gets softer with every wash.",
            "problem": "vague",
            "why": "Softer how?",
        },
        {"index": 3, "sentence": "Wash it cold.", "problem": "wordy", "why": ""},
    ]
    assert data["reading_level"]["flesch_reading_ease"] > 60
    assert "2. It gets softer with every wash." in _user(engine)
    assert engine.params[0].grammar and engine.params[0].temperature == 0


def test_analyze_prints_a_report_for_a_reader(cli: Callable[..., Run], doc: Path) -> None:
    r = cli(["analyze", str(doc)], engine=FakeEngine(json.dumps(ANALYSIS)))
    assert r.exit_code == 0
    assert "sentiment: positive (+0.80)" in r.stdout and "reading level:" in r.stdout
    assert "weakest sentences:" in r.stdout


def test_analyze_refuses_an_answer_that_is_not_json(cli: Callable[..., Run], doc: Path) -> None:
    r = cli(["analyze", str(doc)], engine=FakeEngine("I think it is nice."))
    assert r.exit_code == BackendError.exit_code and "not the JSON" in r.stderr


def test_classify_answers_one_label(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("Feature")
    r = cli(["classify", "-l", "bug, feature,question"], engine=engine, stdin="Add dark mode\n")
    assert r.exit_code == 0 and r.stdout == "feature\n"
    assert "- bug\n- feature\n- question" in _user(engine)
    assert engine.params[0].grammar == 'root ::= "bug" | "feature" | "question"\n'


def test_classify_json_adds_a_reason(cli: Callable[..., Run]) -> None:
    engine = FakeEngine('{"label": "bug", "reason": "It crashes."}')
    r = cli(["classify", "-l", "bug,feature", "--json"], engine=engine, stdin="It crashes\n")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {"label": "bug", "reason": "It crashes."}


def test_classify_needs_two_labels(cli: Callable[..., Run]) -> None:
    r = cli(["classify", "-l", "bug"], engine=FakeEngine("bug"), stdin="x\n")
    assert r.exit_code == UsageError.exit_code


def _moderation(**flags: bool) -> str:
    answer = {c: flags.get(c, False) for c in an.CATEGORIES}
    return json.dumps({**answer, "reason": "because"})


def test_moderate_exits_0_when_nothing_is_flagged(cli: Callable[..., Run]) -> None:
    r = cli(["moderate"], engine=FakeEngine(_moderation()), stdin="A nice day.\n")
    assert r.exit_code == 0 and r.stdout == "nothing flagged\n"


def test_moderate_exits_11_when_something_is_flagged(cli: Callable[..., Run]) -> None:
    r = cli(["moderate", "--json"], engine=FakeEngine(_moderation(violence=True)), stdin="x\n")
    assert r.exit_code == 11
    data = json.loads(r.stdout)
    assert data["flagged"] is True and data["categories"]["violence"] is True


def test_moderate_finds_personal_data_by_pattern(cli: Callable[..., Run]) -> None:
    text = "Write to jane.doe@example.com or call +44 20 7946 0958.\n"
    r = cli(["moderate"], engine=FakeEngine(_moderation()), stdin=text)
    assert r.exit_code == 11
    assert "personal data (e-mail address, phone number)" in r.stdout


def test_personal_data_patterns() -> None:
    assert an.personal_data("card 4111 1111 1111 1111") == ["card number"]
    assert an.personal_data("card 4111 1111 1111 1112") == []
    assert an.personal_data("On 2024-01-15 we sold 1,234,567 units.") == []


# -- grammars: always JSON that parses --------------------------------------------------------


def _parses(grammar: str) -> bool:
    """Whether llama.cpp's own grammar parser accepts ``grammar`` (no model needed)."""
    import llama_cpp as lc

    sampler = lc.llama_sampler_init_grammar(None, grammar.encode(), b"root")
    if not sampler:
        return False
    lc.llama_sampler_free(sampler)
    return True


def test_the_grammars_are_accepted_by_llama_cpp() -> None:
    assert _parses(an.schema_grammar(an.analysis_schema(12)))
    assert _parses(an.schema_grammar(an.analysis_schema(1000)))
    assert _parses(an.schema_grammar(an.moderation_schema()))
    assert _parses(an.classify_grammar(["bug", 'say "hi"', "问题"], reason=False))
    assert _parses(an.classify_grammar(["a", "b"], reason=True))
    assert _parses(verbs.titles_grammar(5))
    assert not _parses("root ::= undefined-rule")


@pytest.mark.model
def test_the_llama_engine_refuses_a_bad_grammar_before_generating(
    llama_engine: object,
) -> None:
    engine = llama_engine
    bad = Sampling(temperature=0, max_tokens=4, grammar="root ::= nothing-here")
    with pytest.raises(BackendError):
        engine.complete([Message("user", "hi")], bad)  # type: ignore[attr-defined]


# -- what the verbs share ------------------------------------------------------------------------


def test_plan_parts_keeps_everything_and_sets_code_apart() -> None:
    parts = verbs.plan_parts(DOC, lambda t: len(t.split()), 8, keep_code=True)
    assert "".join(p.text for p in parts) == DOC
    code = [p for p in parts if p.code and p.core.strip()]
    assert len(code) == 1 and code[0].core.startswith("```python")
    assert all(p.core == p.core.strip() for p in parts if not p.code)


def test_an_unclosed_fence_runs_to_the_end() -> None:
    text = "Intro.\n\n```\ncode\nmore"
    assert verbs.split_code(text) == [(False, "Intro.\n\n"), (True, "```\ncode\nmore")]


def test_a_chain_streams_parts_and_sums_their_stats() -> None:
    engine = FakeEngine(lambda m: m[-1].content.upper())
    params = Sampling(max_tokens=50)
    steps = [
        "<",
        lambda: generate(engine, [Message("user", "one two")], params),
        "|",
        lambda: generate(engine, [Message("user", "three")], params),
        ">",
    ]
    chain = verbs.Chain(steps, params)
    seen: list[str] = []

    class Listener:
        def on_text(self, text: str) -> None:
            seen.append(text)

        def on_done(self, result: object) -> None:
            seen.append("DONE")

    chain.add_listener(Listener())
    assert "".join(chain) == "<ONE TWO|THREE>"
    result = chain.close()
    assert result.text == "<ONE TWO|THREE>" and result.finish == "stop"
    assert result.stats.generated_tokens == 3 and seen[-1] == "DONE" and seen.count("DONE") == 1


def test_a_stopped_chain_keeps_what_it_had_and_starts_nothing_more() -> None:
    engine = FakeEngine("a b c d e f")
    params = Sampling(max_tokens=50)
    started: list[int] = []

    def start(i: int) -> object:
        started.append(i)
        return generate(engine, [Message("user", "x")], params)

    chain = verbs.Chain(["[", lambda: start(1), "|", lambda: start(2)], params)
    it = iter(chain)
    assert next(it) == "[" and next(it) == "a"
    chain.stop()
    result = chain.close()
    assert result.finish == "interrupted" and result.text.startswith("[a")
    assert started == [1] and "interrupted" in result.note


def test_template_sampling_precedence() -> None:
    spec = {"preset": "precise", "temperature": 0.1, "max_tokens": 99}
    p = verbs.template_sampling(
        spec, preset=None, default_preset="balanced", max_tokens=None, default_max=10
    )
    assert p.temperature == 0.1 and p.max_tokens == 99 and p.repeat_penalty == 1.12
    p = verbs.template_sampling(
        spec,
        preset="creative",
        default_preset="balanced",
        max_tokens=5,
        default_max=10,
        temperature=None,
    )
    assert p.temperature == 1.0 and p.max_tokens == 5  # --preset: the template steps aside
    p = verbs.template_sampling(
        {}, preset=None, default_preset="balanced", max_tokens=None, default_max=10, temperature=0.0
    )
    assert p.temperature == 0.0 and p.max_tokens == 10


def test_clean_title() -> None:
    assert verbs.clean_title('1. "Linen, Loved"') == "Linen, Loved"
    assert verbs.clean_title("- **Wash Cold**") == "Wash Cold"
    assert verbs.clean_title("Title: 5 Ways to Fold") == "5 Ways to Fold"
    assert verbs.clean_title("标题：亚麻") == "亚麻"
    assert verbs.clean_title("3. What We Learned.") == "What We Learned"
    assert verbs.clean_title("亚麻的夏天。") == "亚麻的夏天"
    assert verbs.clean_title("Plans for 2026.") == "Plans for 2026"
    for kept in ("Smith & Co.", "Made in the U.S.", "Wait for It...", "Why Now?", "Go!"):
        assert verbs.clean_title(kept) == kept


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("<text>\nBonjour.\n</text>", "Bonjour."),
        ("  <text>Bonjour.</text>  ", "Bonjour."),
        ("Bonjour <text> inside.", "Bonjour <text> inside."),
        ("Hi", "Hi"),
    ],
)
def test_echoed_text_markers_are_dropped(
    cli: Callable[..., Run], reply: str, expected: str
) -> None:
    r = cli(["translate", "--to", "fr", "--no-save"], engine=FakeEngine(reply), stdin="Hello.\n")
    assert r.exit_code == 0 and r.stdout == expected + "\n"


# -- check, then retry or repair -----------------------------------------------------------

CASUAL = "hey team!! the Harbor Lane demo moved to Thursday at 3pm, Priya's running it lol\n"
REFUSAL = "I'm sorry for the inconvenience caused, but I can't assist with that."
FORMAL = "Dear colleagues, the Harbor Lane demo has moved to Thursday at 3 p.m. Priya will run it."


def _replies(*texts: str) -> Callable[[list[Message]], str]:
    """A FakeEngine reply that gives ``texts`` in turn (the last one from then on)."""
    calls: list[int] = []

    def reply(messages: list[Message]) -> str:
        calls.append(1)
        return texts[min(len(calls), len(texts)) - 1]

    return reply


def test_a_refusal_is_retried_with_another_seed_and_never_printed(
    cli: Callable[..., Run],
) -> None:
    engine = FakeEngine(_replies(REFUSAL, FORMAL))
    r = cli(
        ["rewrite", "--tone", "formal", "--seed", "7", "--no-save"], engine=engine, stdin=CASUAL
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout == FORMAL + "\n" and "sorry" not in r.stdout
    assert [p.seed for p in engine.params] == [7, 8]
    assert engine.params[1].temperature >= 0.5  # a new seed must be able to change the text
    assert "retried with seed 8" in r.stderr and "refuses" in r.stderr
    assert r.stderr.count("retried with seed 8") == 1


def test_a_formal_rewrite_shows_an_example_and_keeps_the_facts(cli: Callable[..., Run]) -> None:
    dropped = "Dear colleagues, the demo has moved to Thursday at 3 p.m."  # no Harbor Lane, Priya
    engine = FakeEngine(_replies(dropped, FORMAL))
    r = cli(["rewrite", "--tone", "formal", "--no-save"], engine=engine, stdin=CASUAL)
    assert r.exit_code == 0 and r.stdout == FORMAL + "\n"
    roles = [m.role for m in engine.calls[0]]
    assert roles == ["system", "user", "assistant", "user"]  # an example pair, then the text
    assert "drops Harbor, Lane, Priya" in r.stderr


def test_casual_marks_in_a_formal_rewrite_are_trimmed(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("Hey team!! The Harbor Lane demo is on Thursday at 3pm with Priya 😀")
    r = cli(["rewrite", "--tone", "formal", "--no-save"], engine=engine, stdin=CASUAL)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "The Harbor Lane demo is on Thursday at 3pm with Priya\n"
    assert len(engine.calls) == 1 and "trimmed" in r.stderr


def test_a_formal_chinese_rewrite_loses_its_chatty_address() -> None:
    from quill.writing.verbruns import formal_marks_removed

    assert formal_marks_removed("各位小伙伴们，\n\n周三开会。迟到的请喝奶茶～") == (
        "各位，\n\n周三开会。迟到的请喝奶茶。"
    )
    assert formal_marks_removed("家人们！明天开会。") == "各位，明天开会。"


def test_a_try_with_fewer_casual_marks_ranks_better() -> None:
    """None of three formal tries may pass; the one kept is then the least casual."""
    from quill.writing.verbcheck import register_problems

    worse = register_problems("Also, c'mon guys 😅", "", "formal")
    better = register_problems("Also, please wash your mugs, guys.", "", "formal")
    assert worse[0] and better[0] and better[1] < worse[1]


def test_a_rewrite_that_never_passes_keeps_the_best_try_and_says_so(
    cli: Callable[..., Run],
) -> None:
    engine = FakeEngine(_replies(REFUSAL, "Dear all, the demo is on Thursday.", REFUSAL))
    r = cli(["rewrite", "--tone", "formal", "--no-save"], engine=engine, stdin=CASUAL)
    assert r.exit_code == 0
    assert len(engine.calls) == 3  # the first try and two retries, no more
    assert r.stdout == "Dear all, the demo is on Thursday.\n"  # a refusal is never the answer
    assert "still failing after 3 tries" in r.stderr and "drops" in r.stderr
    assert r.stderr.count("still failing") == 1  # said once, as a warning


def test_a_casual_rewrite_must_read_casual(cli: Callable[..., Run]) -> None:
    stiff = "Please be advised that the review is on Monday at 10:30."
    engine = FakeEngine(_replies(stiff, "Hey all! The review's on Monday at 10:30, see you there!"))
    r = cli(["rewrite", "--tone", "casual", "--no-save"], engine=engine, stdin=stiff + "\n")
    assert r.exit_code == 0 and r.stdout.startswith("Hey all!")
    assert "does not read casual" in r.stderr or "unchanged" in r.stderr


def test_a_translation_preamble_is_removed(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("### 说明\n这段文本翻译成中文如下：\n\n渡轮每天早上7:40从港口出发。")
    r = cli(
        ["translate", "--to", "zh", "--no-save"],
        engine=engine,
        stdin="The ferry leaves the harbour at 7:40 every morning.\n",
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "渡轮每天早上7:40从港口出发。\n"
    assert len(engine.calls) == 1 and "trimmed" in r.stderr


def test_a_translation_into_chinese_begins_only_the_sources_kept_words_in_latin(
    cli: Callable[..., Run],
) -> None:
    """Sampling.native with the words a translation may keep: its names, code and URLs,
    not the prompt's, which holds every word of the source ("最 productive的时间")."""
    text = "Ask Mia Chen to run `quill doctor` on the productive days, see https://ex.org.\n"
    zh = FakeEngine("请陈米娅在高效的日子运行 `quill doctor`，见 https://ex.org。")
    assert cli(["translate", "--to", "zh", "--no-save"], engine=zh, stdin=text).exit_code == 0
    p = zh.params[0]
    assert p.native and p.native_words is not None
    kept = set(p.native_words.split())
    assert {"quill", "doctor", "https", "mia", "chen"} <= kept
    assert not {"productive", "days", "run", "ask"} & kept
    fr = FakeEngine("Demandez à Mia Chen.")
    assert cli(["translate", "--to", "fr", "--no-save"], engine=fr, stdin=text).exit_code == 0
    assert not fr.params[0].native
    back = FakeEngine("The ferry leaves at seven.")
    r = cli(["translate", "--to", "en", "--no-save"], engine=back, stdin="渡轮七点出发。\n")
    assert r.exit_code == 0 and not back.params[0].native


def test_words_left_untranslated_are_retried(cli: Callable[..., Run]) -> None:
    engine = FakeEngine(_replies("ferry 每天早上从港口出发。", "渡轮每天早上从港口出发。"))
    r = cli(
        ["translate", "--to", "zh", "--no-save"],
        engine=engine,
        stdin="The ferry leaves the harbour every morning.\n",
    )
    assert r.exit_code == 0 and r.stdout == "渡轮每天早上从港口出发。\n"
    assert "untranslated: ferry" in r.stderr and "retried" in r.stderr


MARKDOWN = """## Getting there

The ferry leaves **Harbor Pier** at 7:40. Run `skerry times --today` first.

- Bring a jacket.
1. Check the [timetable](https://example.org/t).

```bash
skerry times --today   # not translated
```
"""
ZH = {
    "Getting there": "## 交通",  # the model adds its own heading marks
    "The ferry leaves **Harbor Pier** at 7:40. Run `skerry times --today` first.": (
        "渡轮 7:40 从 **Harbor Pier** 出发。请先运行 `skerry times --today`。"
    ),
    "Bring a jacket.": "- 带一件外套。",
    "Check the [timetable](https://example.org/t).": "查看[时刻表](https://example.org/t)。",
}


def test_translate_goes_block_by_block_and_keeps_code_and_markdown(
    cli: Callable[..., Run],
) -> None:
    def reply(messages: list[Message]) -> str:
        return ZH[messages[-1].content.split("<text>\n", 1)[1].split("\n</text>", 1)[0]]

    engine = FakeEngine(reply)
    r = cli(["translate", "--to", "zh", "--no-save"], engine=engine, stdin=MARKDOWN)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        "## 交通\n\n渡轮 7:40 从 **Harbor Pier** 出发。请先运行 `skerry times --today`。\n\n"
        "- 带一件外套。\n1. 查看[时刻表](https://example.org/t)。\n\n"
        "```bash\nskerry times --today   # not translated\n```\n"
    )
    assert len(engine.calls) == 4  # one block each; the code block is never sent
    assert all("not translated" not in m.content for call in engine.calls for m in call)
    assert [m.role for m in engine.calls[0]] == ["system", "user", "assistant", "user"]


def test_lost_inline_code_is_a_failed_translation() -> None:
    from quill.writing import translate as tr

    block = tr.Block("", "Run `quill doctor` now.", "\n", "para")
    check = tr.check_block(block, "Chinese", "English")
    assert check("现在运行 `quill doctor`。").ok
    at = tr.check_block(tr.Block("", "It leaves at 7:40.", "", "para"), "Chinese", "English")
    assert at("它七点四十出发。").problems == ("drops 7:40",) and at("它7:40出发。").ok
    lost = check("现在运行 quill doctor。").problems
    assert "changes or drops inline code `quill doctor`" in lost


def test_a_link_must_stay_a_link_and_bold_stay_bold() -> None:
    """The 1.5B wrote "[the lab office](URL)" as "实验室办公室[URL]" and dropped the bold
    of "**four hours**": the address is still there, the link and the stress are not."""
    from quill.writing import translate as tr
    from quill.writing.verbcheck import markdown_lost

    src = "It lasts **four hours**. Ask [the lab office](https://lab.example.edu/help)."
    check = tr.check_block(tr.Block("", src, "\n", "para"), "Chinese", "English")
    assert check("它持续**四小时**。请咨询[实验室办公室](https://lab.example.edu/help)。").ok
    broken = check("它持续四小时。请咨询实验室办公室[https://lab.example.edu/help]。").problems
    assert "unlinks https://lab.example.edu/help" in broken
    assert "drops bold (1 of 1)" in broken
    assert markdown_lost("请咨询实验室办公室。", src)[0] == (
        "drops the link to https://lab.example.edu/help"
    )
    # marks inside inline code are code, not bold
    assert markdown_lost("run `a__b__c`", "run `a__b__c`") == []
    assert markdown_lost("x **a** and ** b", "**a** and **b**") == ["drops bold (1 of 2)"]


def test_italics_must_stay_italics() -> None:
    """The 1.5B translated "the small ferry *Wren*" as "小船“绿鸟”": the name lost its
    emphasis. A list's "* ", bold's two marks and snake_case are not italics."""
    from quill.writing import translate as tr
    from quill.writing.verbcheck import markdown_lost

    src = "Every evening the small ferry *Wren* leaves the north pier."
    check = tr.check_block(tr.Block("", src, "\n", "para"), "Chinese", "English")
    assert "drops italics (1 of 1)" in check("每天晚上，小渡轮“鹪鹩号”从北码头出发。").problems
    assert check("每天晚上，小渡轮*鹪鹩号*从北码头出发。").ok
    assert markdown_lost("run it", "run snake_case_name * not *") == []
    assert markdown_lost("* a\n* b", "* a\n* b") == []
    assert markdown_lost("a _b_ c", "a _b_ c") == []
    assert markdown_lost("a b c", "a _b_ c") == ["drops italics (1 of 1)"]


def test_quotes_that_stand_for_italics_become_italics_again() -> None:
    """The 1.5B wrote "the small ferry *Wren*" as 小船“绿鸟” on every try: Chinese marks
    a name with quotes. Where the count matches and the source has no quotes of its own,
    the quotes become the source's italics; the block's tidy does it."""
    from quill.writing import translate as tr

    src = "Every evening the small ferry *Wren* leaves the north pier."
    assert tr.italics_back("每天晚上，小渡轮“鹪鹩号”从北码头出发。", src) == (
        "每天晚上，小渡轮*鹪鹩号*从北码头出发。"
    )
    tidy = tr.tidy_block(tr.Block("", "2. Choose _Night_ and then `N29`.", "\n", "para"))
    assert tidy("2. 选择“夜”然后输入 `N29`。") == "2. 选择_夜_然后输入 `N29`。"
    # more quoted spans than italics, quotes in the source, or italics kept: left alone
    assert tr.italics_back("小船“绿鸟”从“北”码头出发。", src) == "小船“绿鸟”从“北”码头出发。"
    assert tr.italics_back("他说“好”。", 'He said "fine".') == "他说“好”。"
    assert tr.italics_back("小船*绿鸟*说“好”。", src) == "小船*绿鸟*说“好”。"


def test_blocks_give_the_text_back() -> None:
    from quill.writing.translate import blocks

    parts = blocks(MARKDOWN + "| a | b |\n|---|---|\n\n  indented\n", lambda t: len(t.split()), 50)
    assert "".join(b.text for b in parts) == MARKDOWN + "| a | b |\n|---|---|\n\n  indented\n"
    kinds = [b.kind for b in parts if not b.literal]
    assert kinds == ["heading", "para", "item", "item", "table", "para"]
    assert parts[0].lead == "## " and parts[0].core == "Getting there"


def test_titles_with_hashtags_and_emoji_are_refused(cli: Callable[..., Run]) -> None:
    engine = FakeEngine(
        "1. Fix It Saturdays #RepairCafe 🔧\n#Repair #Cafe\n"
        "Mending Together - This title highlights the community\nThe Repair Café\n"
    )
    r = cli(["titles", "-n", "3", "--no-save"], engine=engine, stdin="About a repair café.\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["Fix It Saturdays", "Mending Together", "The Repair Café"]
    assert "#" not in r.stdout and "🔧" not in r.stdout
    assert "trimmed: a hashtag, an emoji, an explanation" in r.stderr


def test_too_few_titles_are_asked_for_again(cli: Callable[..., Run]) -> None:
    engine = FakeEngine(
        _replies("Bees on the Roof\n#bees", "Bees on the roof\nCity Honey\nHive Five")
    )
    r = cli(["titles", "-n", "3", "--seed", "4", "--no-save"], engine=engine, stdin="Bees.\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["Bees on the Roof", "City Honey", "Hive Five"]
    assert [p.seed for p in engine.params] == [4, 5] and "asked again with seed 5" in r.stderr


def test_best_of_keeps_the_best_and_stops_at_the_first_pass() -> None:
    from quill.engine.base import Result
    from quill.writing.retry import RETRY_DRY, Verdict, best_of, retry_params

    texts = iter(["bad bad", "good", "bad", "better"])
    seen: list[Sampling] = []

    def run(p: Sampling) -> Result:
        seen.append(p)
        return Result(next(texts), "stop")

    def check(text: str) -> Verdict:
        return Verdict(("bad",) if "bad" in text else (), text.count("bad") + len(text) / 100)

    out = best_of(run, check, Sampling(temperature=0.0, seed=3))
    assert out.text == "good" and out.action == "retried" and out.tries == 2
    assert [p.seed for p in seen] == [3, 4] and seen[1].temperature == 0.5
    assert seen[0].dry == 0.0 and seen[1].dry == RETRY_DRY  # a retry cannot loop again
    texts = iter(["good", "bad", "goo"])
    out = best_of(lambda p: Result(next(texts), "stop"), check, Sampling(seed=1), n=3)
    assert out.text == "goo" and out.action == "best-of" and "best of 3" in out.note()
    assert retry_params(Sampling(seed=None, temperature=0.8), 2).seed == 2
    assert retry_params(Sampling(dry=1.2), 1).dry == 1.2  # a stronger setting stays


def test_verb_checks() -> None:
    from quill.writing import titlecheck as tc
    from quill.writing import verbcheck as vc

    assert vc.refusal(REFUSAL) and vc.refusal("抱歉，我无法协助完成这个请求。")
    assert vc.refusal(FORMAL) is None
    assert vc.refusal("I'm sorry, I can't make it.", "I'm sorry, I can't make it.") is None
    facts = vc.source_facts("hey, demo moved to Thurs 14 March at 3pm, Priya's running v2.3")
    firsts = [f[0] for f in facts]
    assert firsts == ["14", "3", "v2.3", "thursday", "march", "Priya"]
    assert vc.missing_facts("On Thursday 14 March at 15:00 Priya runs 2.3.", facts) == []
    assert set(vc.informal_markers("Hey guys!! gonna be late 😅")) >= {"Hey", "guys", "!!", "😅"}
    assert vc.informal_markers(FORMAL) == []
    assert vc.informal_markers("兄弟们！下周二搞个团建哈～") and not vc.informal_markers(
        "各位同事："
    )
    # a statement's softening particle is casual (the 1.5B's "formal" rewrite kept it);
    # a question's is not
    assert vc.informal_markers("别把杯子放在水池里，真的有点恶心呢。") == ["呢"]
    assert vc.informal_markers("这几天先去二楼茶水间吧！") == ["吧"]
    assert vc.informal_markers("您的意见呢？") == []
    assert vc.leftover_words(
        "渡轮 ferry 从 Harbor 出发，运行 `run it`。", "The ferry at Harbor. `run it`", "Chinese"
    ) == ["ferry"]
    assert vc.leftover_words("The teahouse opens at six.", "茶馆六点开门。", "English") == []
    assert vc.leftover_words("The 茶馆 opens.", "茶馆六点开门。", "English") == ["茶馆"]
    assert vc.preamble_lines("以下是翻译：\n\n你好。") == 2 and vc.preamble_lines("你好。") == 0
    assert tc.title_faults("Bees 🐝 #city") == ["a hashtag", "an emoji"]
    # a Chinese title that drifts into a third language (the 1.5B); a term of the text stays
    assert tc.title_faults("孩子们高高兴兴 quà异样") == ["a word in another language"]
    assert tc.title_faults("用 Python 写一个小工具") == []
    assert tc.title_faults("A Café on Quay Street") == []


def test_a_sign_off_ends_a_rewrite_and_broken_emphasis_is_closed_up() -> None:
    from quill.writing import translate as tr
    from quill.writing import verbcheck as vc

    assert vc.ends_complete("Dear colleagues,\n\nPlease reply.\n\nBest regards")
    assert not vc.ends_complete("Dear colleagues,\n\nPlease reply and\n\nBest regards")
    para = tr.Block("", "The ferry leaves **Harbor Pier** at 7:40.", "\n", "para")
    assert (
        tr.tidy_block(para)("渡轮 7:40 从** Harbor Pier**出发。")
        == "渡轮 7:40 从**Harbor Pier**出发。"
    )
    heading = tr.Block("## ", "Morning tea", "\n", "heading")
    assert tr.tidy_block(heading)("## 早茶。") == "早茶"
    check = tr.check_block(tr.Block("", "茶馆六点开门。", "", "para"), "English", "Chinese")
    assert (
        "adds emphasis the text does not have" in check("The tea house opens at **6 am**.").problems
    )


def test_rewrite_best_of_writes_each_part_n_times_and_keeps_the_best(
    cli: Callable[..., Run],
) -> None:
    """`--best-of 3` writes three even when the first passes, and keeps a passing one over
    a try that drops the facts; without it one passing try is all."""
    dropped = "Dear all, the demo is on Thursday."
    engine = FakeEngine(_replies(dropped, FORMAL, dropped))
    args = ["rewrite", "--tone", "formal", "--seed", "5", "--no-save", "--best-of", "3"]
    r = cli(args, engine=engine, stdin=CASUAL)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == FORMAL + "\n"
    assert [p.seed for p in engine.params] == [5, 6, 7]
    assert "best of 3" in r.stderr
    once = FakeEngine(_replies(FORMAL, dropped))
    r = cli(["rewrite", "--tone", "formal", "--no-save"], engine=once, stdin=CASUAL)
    assert r.exit_code == 0 and len(once.calls) == 1


def test_translate_best_of_writes_each_block_n_times(cli: Callable[..., Run], doc: Path) -> None:
    def reply(messages: list[Message]) -> str:  # every word "translated", the shape kept
        text = messages[-1].content.split("<text>\n", 1)[1].split("\n</text>")[0]

        def word(m: re.Match[str]) -> str:
            return "".join(chr(0x4E00 + ord(c) * 7 % 997) for c in m.group(0)[:2])

        return re.sub(r"[A-Za-z]+", word, text)

    engine = FakeEngine(reply)
    plain = cli(["translate", str(doc), "--to", "zh", "--no-save"], engine=engine)
    assert plain.exit_code == 0 and not plain.stderr.strip(), plain.stderr
    blocks = len(engine.calls)
    engine.calls.clear()
    r = cli(["translate", str(doc), "--to", "zh", "--no-save", "--best-of", "2"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert len(engine.calls) == 2 * blocks and r.stdout == plain.stdout


def test_best_of_is_at_least_one(cli: Callable[..., Run]) -> None:
    r = cli(["rewrite", "--tone", "formal", "--best-of", "0"], stdin=CASUAL)
    assert r.exit_code == 2 and "--best-of" in r.stderr
