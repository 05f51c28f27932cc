"""Map-reduce on FakeEngine with a tiny context: passes, order, budgets, the report."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ask

from quill.engine.base import Message, Result
from quill.engine.fake import FakeEngine
from quill.errors import ContextOverflow, UsageError
from quill.writing.chunk import Chunk
from quill.writing.language import detect_language
from quill.writing.summarize import (
    Summarizer,
    SummaryOptions,
    auto_words,
    notes_words,
    summarize,
    summary_max_tokens,
)
from quill.writing.summary_job import Event, Job, PassStarted, StepDone

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.usefixtures("unchecked")  # see conftest.unchecked
PART_RE = re.compile(r"^Part (\d+) of (\d+)")


MR = "map-reduce"  # the tests of notes on every part ask for that method by name


def document(sections: int = 6, paragraphs: int = 3) -> str:
    out = ["# Survey of the Valley\n\n"]
    for s in range(1, sections + 1):
        out.append(f"## Section {s}\n\n")
        for p in range(1, paragraphs + 1):
            sentence = f"Fact s{s}p{p} is recorded here with some ordinary words around it. "
            out.append(sentence * 4 + f"It ends section {s} paragraph {p}.\n\n")
    return "".join(out)


def kind(messages: list[Message]) -> str:
    user = ask(messages)
    if PART_RE.match(user):
        return "map"
    if "Merge these notes" in user:
        return "combine"
    if user.startswith("These are notes on the"):
        return "reduce"
    return "single"


def replier(
    note_words: int = 3, delays: dict[int, float] | None = None
) -> Callable[[list[Message]], str]:
    """Map steps answer `note-K` (padded to note_words), combine steps name the notes
    they merged, the final step says SUMMARY."""

    def reply(messages: list[Message]) -> str:
        k = kind(messages)
        user = ask(messages)
        if k == "map":
            m = PART_RE.match(user)
            assert m is not None
            part = int(m.group(1))
            if delays:
                time.sleep(delays.get(part, 0.0))
            return " ".join([f"note-{part}", *(f"w{i}" for i in range(note_words - 1))])
        if k == "combine":
            return "merged " + " ".join(re.findall(r"note-\d+", user))
        if k == "reduce":
            return "SUMMARY of the notes."
        return "SINGLE summary."

    return reply


def run(
    engine: FakeEngine, text: str, native_prompts: bool = True, **opts: Any
) -> tuple[Summarizer, Job, list[Event], Result]:
    opts.setdefault("method", "map-reduce")
    s = Summarizer(engine, SummaryOptions(**opts), native_prompts=native_prompts)
    job = s.start(s.plan(text, "doc.md"))
    events = list(s.run(job))
    result = s.finish(job)
    return s, job, events, result


def test_options_are_checked() -> None:
    for bad in (
        SummaryOptions(length="huge"),
        SummaryOptions(format="poem"),
        SummaryOptions(words=0),
        SummaryOptions(max_tokens=0),
    ):
        with pytest.raises(UsageError):
            bad.validate()
    with pytest.raises(UsageError):
        Summarizer(FakeEngine(), jobs=0)
    assert SummaryOptions(format="tldr").target_words < SummaryOptions().target_words
    assert SummaryOptions(words=42, length="long").target_words == 42


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "The keeper lit the lamp and the ships passed in the night, as they always did.",
            "English",
        ),
        ("苍鹭在芦苇中筑巢。十月水变冷时它们离开。没有人知道它们去了哪里。", "Chinese"),
        (
            "蒼鷺在蘆葦中築巢。十月水變冷時們離開。這個沒有人知道們去了哪裡。",
            "Chinese (Traditional)",
        ),
        ("谷は長くて狭い。春には川が北へ流れる。博士は毎日鳥を数えた。", "Japanese"),
        (
            "Le gardien a allumé la lampe et les bateaux sont passés dans la nuit pour la ville.",
            "French",
        ),
        (
            "Der Wärter hat die Lampe angezündet und die Schiffe sind in der Nacht mit dem Wind.",
            "German",
        ),
        (  # "a" is English too: a short English brief is not Portuguese
            "a short news story: the town library reopens after a two-year renovation",
            "English",
        ),
        ("ok", None),
        ("x = 1; y = 2; z = 3; print(x, y, z) # 42 42 42", None),
    ],
)
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    ("backend", "gpu_layers", "single"),
    [("llama.cpp", 0, False), ("llama.cpp", 29, True), ("openai", 0, True)],
)
def test_one_step_reads_at_most_4096_tokens_on_a_cpu(
    backend: str, gpu_layers: int, single: bool
) -> None:
    """An in-process model on the CPU alone reads at most CPU_READ_TOKENS in one step
    (reading slows as the context fills): a longer document that fits the context is
    selected from; with layers on a GPU, or on a server, the context is the limit."""
    import dataclasses

    from quill.writing.summary_job import CPU_READ_TOKENS

    engine = FakeEngine(replier(), n_ctx=8192)
    engine.info = dataclasses.replace(engine.info, backend=backend, gpu_layers=gpu_layers)
    text = document(sections=40, paragraphs=3)  # fits 8,192 tokens, not 4,096
    assert CPU_READ_TOKENS < engine.count(text) < 8192 - 1000
    plan = Summarizer(engine).plan(text, "doc.md")
    if single:
        assert plan.method == "single" and plan.selection is None
    else:
        assert plan.method == "select"
        assert plan.selection is not None and plan.selection.tokens < CPU_READ_TOKENS


def test_short_document_is_one_pass() -> None:
    engine = FakeEngine(replier(), n_ctx=4096)
    text = document(sections=2, paragraphs=1)
    _, job, events, result = run(engine, text)
    assert events == []
    assert job.plan.single and job.passes == 1 and len(job.plan.chunks) == 1
    assert len(engine.calls) == 1
    assert kind(engine.calls[0]) == "single"
    user = ask(engine.calls[0])
    assert text.strip() in user
    # The text, then the plain request after it, and no system prompt
    # (docs/summarize.md); the reply is the model's own from its first word.
    assert user.startswith("# Survey of the Valley")
    assert user.endswith("\n\nSummarize this in about 31 words.")
    assert [m.role for m in engine.calls[0]] == ["user"]
    assert result.text == "SINGLE summary."
    assert job.plan.tokens == engine.count(text)


def test_where_a_summary_may_end_follows_the_model_size() -> None:
    """A model under a billion parameters may not end its summary before FLOOR_SHARE of
    the length asked (the 0.5B stops before it has said what it read); a larger one, or
    one of unknown size, before LARGER_FLOOR_SHARE (the 1.5B, held longer, writes about
    the document instead)."""
    from dataclasses import replace

    from quill.writing.summary_job import FLOOR_SHARE, LARGER_FLOOR_SHARE, floor_share

    assert floor_share(630_167_424) == FLOOR_SHARE == 0.7
    assert floor_share(1_777_088_000) == floor_share(0) == LARGER_FLOOR_SHARE == 0.5
    floors = {}
    for n_params in (630_167_424, 1_777_088_000):
        engine = FakeEngine(replier(), n_ctx=4096)
        engine.info = replace(engine.info, n_params=n_params)
        _, job, _, _ = run(engine, document(sections=2, paragraphs=1))
        final = engine.params[-1]
        assert final.end_after == job.plan.target_words
        floors[n_params] = final.min_words / job.plan.target_words
    assert floors == pytest.approx({630_167_424: 0.7, 1_777_088_000: 0.5}, abs=0.02)


def test_map_reduce_passes_order_and_budgets() -> None:
    engine = FakeEngine(replier(), n_ctx=800)
    text = document()
    _, job, events, result = run(engine, text, length="short")
    plan = job.plan
    n = len(plan.chunks)
    assert not plan.single and n >= 3
    # Nothing cut: the parts put together are the document, each within its budget.
    assert "".join(c.text for c in plan.chunks) == text
    assert all(c.tokens <= plan.chunk_budget for c in plan.chunks)
    # Map steps in document order, each reading its own part.
    maps = [c for c in engine.calls if kind(c) == "map"]
    assert len(maps) == n
    for k, (call, chunk) in enumerate(zip(maps, plan.chunks, strict=True), 1):
        assert ask(call).startswith(f"Part {k} of {n}")
        assert chunk.text.strip() in ask(call)
    # Then one reduce step that reads every note, in order.
    assert [kind(c) for c in engine.calls] == ["map"] * n + ["reduce"]
    final = ask(engine.calls[-1])
    assert re.findall(r"note-(\d+)", final) == [str(k) for k in range(1, n + 1)]
    assert "Part " not in final.split("<notes>")[1]  # notes come without labels to copy
    assert job.passes == 2
    assert result.text == "SUMMARY of the notes."
    # Progress events: one pass started, one step done per part.
    assert events[0] == PassStarted("map", 1, n, plan.tokens)
    steps = [e for e in events if isinstance(e, StepDone)]
    assert [e.done for e in steps] == list(range(1, n + 1))
    assert sum(e.tokens for e in steps) == sum(c.tokens for c in plan.chunks)
    # Every request fits the context with its whole token budget.
    for call, params in zip(engine.calls, engine.params, strict=True):
        assert engine.count_messages(call) + params.max_tokens <= engine.info.n_ctx


def test_report_is_true() -> None:
    engine = FakeEngine(replier(), n_ctx=800)
    text = document()
    _, job, _, _ = run(engine, text, length="short")
    assert len(job.stats) == len(engine.calls)
    total = job.total
    assert total.prompt_tokens == sum(engine.count_messages(c) for c in engine.calls)
    notes = [n.text for n in job.map_notes if n is not None]
    assert total.generated_tokens == sum(len(t.split()) for t in notes) + 4  # + the summary
    assert job.plan.tokens == engine.count(text)
    assert job.problems() == []


def test_notes_that_do_not_fit_are_combined_recursively_in_order() -> None:
    engine = FakeEngine(replier(note_words=80), n_ctx=800)
    text = document(sections=40)
    _, job, events, result = run(engine, text, length="short")
    n = len(job.plan.chunks)
    kinds = [kind(c) for c in engine.calls]
    assert kinds[:n] == ["map"] * n and kinds[-1] == "reduce"
    combines = [c for c in engine.calls if kind(c) == "combine"]
    assert combines, kinds
    assert job.passes == 2 + sum(isinstance(e, PassStarted) and e.kind == "combine" for e in events)
    assert job.passes >= 3
    # The first combine pass reads consecutive runs of parts' notes (which hold "w0"),
    # in order, each part once.
    first_pass = [
        [int(x) for x in re.findall(r"note-(\d+)", ask(c))] for c in combines if " w0 " in ask(c)
    ]
    flat = [k for group in first_pass for k in group]
    assert flat == sorted(flat) and len(flat) == len(set(flat))
    for group in first_pass:
        assert group == list(range(group[0], group[-1] + 1)) and len(group) > 1
    # The final step reads notes that cover parts 1..n in order.
    final = ask(engine.calls[-1])
    assert re.findall(r"note-(\d+)", final) == [str(k) for k in range(1, n + 1)]
    assert result.text == "SUMMARY of the notes."
    for call, params in zip(engine.calls, engine.params, strict=True):
        assert engine.count_messages(call) + params.max_tokens <= engine.info.n_ctx


def test_empty_section_needs_no_model_call() -> None:
    engine = FakeEngine(replier(), n_ctx=800)
    s = Summarizer(engine, SummaryOptions(length="short", method=MR))
    text = document(sections=3, paragraphs=6)
    plan = s.plan(text)
    plan.chunks = [
        Chunk("# A\n\nSome text here.\n\n", 5, ("A",), 0),
        Chunk("## Empty\n\n### Also empty\n\n", 5, ("A", "Empty"), 22),
        Chunk("## B\n\nMore text.\n", 5, ("A", "B"), 50),
    ]
    job = s.start(plan)
    list(s.run(job))
    s.finish(job)
    assert [kind(c) for c in engine.calls] == ["map", "map", "reduce"]
    assert job.map_notes[1] is not None
    assert "only headings" in job.map_notes[1].text
    assert "(this part holds only headings" in ask(engine.calls[-1])


def test_looping_notes_are_cut_and_reported() -> None:
    def reply(messages: list[Message]) -> str:
        if kind(messages) == "map":
            return "The sea was calm that night. " * 40
        return "SUMMARY."

    engine = FakeEngine(reply, n_ctx=800)
    _, job, _, result = run(engine, document(), length="short")
    notes = [n for n in job.map_notes if n is not None]
    assert all(n.text.count("The sea was calm") < 5 for n in notes)
    assert any("began repeating" in p for p in job.problems())
    assert result.text == "SUMMARY."


def test_notes_cut_at_their_limit_are_reported() -> None:
    engine = FakeEngine(replier(note_words=300), n_ctx=800)
    _, job, _, _ = run(engine, document(), length="short")
    problems = job.problems()
    assert any("reached their token limit" in p for p in problems), problems


def test_final_step_limit_is_reported() -> None:
    engine = FakeEngine(lambda m: " ".join(f"w{i}" for i in range(1000)), n_ctx=4096)
    summary = summarize(engine, "A short text to summarize. " * 5)
    assert summary.finish == "length"
    assert "limit" in summary.note


def test_context_too_small_is_an_error() -> None:
    with pytest.raises(ContextOverflow):
        Summarizer(FakeEngine(n_ctx=200)).plan(document())
    with pytest.raises(ContextOverflow):  # the summary alone would not fit
        Summarizer(FakeEngine(n_ctx=400), SummaryOptions(words=400)).plan("Short.")


class InFlight:
    """A replier that counts the requests in flight at once (``peak``)."""

    def __init__(self, delays: dict[int, float]) -> None:
        self.active = self.peak = 0
        self.lock = threading.Lock()
        self.inner = replier(delays=delays)

    def __call__(self, messages: list[Message]) -> str:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return self.inner(messages)
        finally:
            with self.lock:
                self.active -= 1


def test_parallel_map_steps_keep_document_order() -> None:
    reply = InFlight({1: 0.3, 2: 0.2, 3: 0.1})
    engine = FakeEngine(reply, n_ctx=800, parallel=4)
    s = Summarizer(engine, SummaryOptions(length="short", method=MR), jobs=4)
    assert s.jobs == 4
    job = s.start(s.plan(document()))
    events = list(s.run(job))
    s.finish(job)
    n = len(job.plan.chunks)
    assert reply.peak > 1
    done = [e.done for e in events if isinstance(e, StepDone)]
    assert done == list(range(1, n + 1))
    final = ask(engine.calls[-1])
    assert re.findall(r"note-(\d+)", final) == [str(k) for k in range(1, n + 1)]


def test_one_step_at_a_time_runs_its_map_steps_in_turn() -> None:
    """Files summarized side by side each run their own steps in turn: the copy's map
    pass never has two requests in flight, where the original's does."""
    reply = InFlight({1: 0.1, 2: 0.1})
    engine = FakeEngine(reply, n_ctx=800, parallel=4)
    s = Summarizer(engine, SummaryOptions(length="short", method=MR), jobs=4)
    one = s.one_step_at_a_time()
    assert (one.jobs, s.jobs) == (1, 4)
    job = one.start(one.plan(document()))
    list(one.run(job))
    one.finish(job)
    assert len(job.plan.chunks) > 2 and reply.peak == 1


def test_jobs_run_in_turn_on_a_one_request_backend() -> None:
    engine = FakeEngine(n_ctx=800)
    assert Summarizer(engine, jobs=8).jobs == 1


def test_interrupted_map_keeps_the_notes_done() -> None:
    def reply(messages: list[Message]) -> str:
        m = PART_RE.match(ask(messages))
        if m and m.group(1) == "3":
            raise KeyboardInterrupt
        return replier()(messages)

    engine = FakeEngine(reply, n_ctx=800)
    s = Summarizer(engine, SummaryOptions(length="short", method=MR))
    job = s.start(s.plan(document()))
    with pytest.raises(KeyboardInterrupt):
        for _ in s.run(job):
            pass
    assert job.current == ("map", 3, len(job.plan.chunks))
    partial = job.partial_notes()
    assert "note-1" in partial and "note-2" in partial and "note-3" not in partial


def test_stop_ends_the_run_at_a_clean_point() -> None:
    """`stop` is what Ctrl-C raises in the CLI: the step in flight is told to stop (its
    stats are kept), the run ends, and the notes finished before it are kept."""
    calls = 0

    def stop() -> bool:
        return calls >= 3  # becomes true while part 3 is being written

    def reply(messages: list[Message]) -> str:
        nonlocal calls
        calls += 1
        return " ".join(f"w{i}" for i in range(20))

    engine = FakeEngine(reply, n_ctx=800)
    s = Summarizer(engine, SummaryOptions(length="short", method=MR))
    job = s.start(s.plan(document(sections=8)))
    events = list(s.run(job, stop=stop))
    assert job.interrupted and job.messages is None
    assert job.current == ("map", 3, len(job.plan.chunks))
    assert [e.done for e in events if isinstance(e, StepDone)] == [1, 2]
    assert [n is not None for n in job.map_notes[:3]] == [True, True, False]
    assert len(job.stats) == 3  # the stopped step's stats are kept
    assert 0 < job.stats[2].generated_tokens < 20
    assert len(engine.calls) == 3  # nothing started after the stop


def test_stop_reaches_parallel_workers() -> None:
    flag = threading.Event()

    def reply(messages: list[Message]) -> str:
        flag.set()
        return " ".join(f"w{i}" for i in range(50))

    engine = FakeEngine(reply, n_ctx=800, delay=0.01, parallel=2)
    s = Summarizer(engine, SummaryOptions(length="short", method=MR), jobs=2)
    job = s.start(s.plan(document(sections=8)))
    list(s.run(job, stop=flag.is_set))
    assert job.interrupted
    assert len(engine.calls) <= 2  # the two in flight stopped; no others started
    assert all(st.generated_tokens < 50 for st in job.stats)


def test_language_focus_and_length_reach_the_prompts() -> None:
    zh = "苍鹭在芦苇中筑巢。十月水变冷时它们离开。没有人知道它们去了哪里。" * 3
    engine = FakeEngine(replier(), n_ctx=4096)
    run(engine, zh, length="short", native_prompts=False)
    user = ask(engine.calls[-1])
    assert "Write in Chinese." in user
    assert "characters" in user  # a CJK summary's length is counted in characters
    engine = FakeEngine(replier(), n_ctx=800)
    run(engine, document(), lang="French", focus="the herons", words=40)
    map_user = ask(engine.calls[0])
    final = ask(engine.calls[-1])
    assert "Write in English." in map_user  # notes stay in the document's language
    assert "the herons" in map_user and "the herons" in final
    assert "Write in French." in final and "about 40 words" in final


def test_chinese_document_gets_chinese_prompts() -> None:
    """Measured on the default model: Chinese instructions for a Chinese document (see
    docs/summarize.md). Notes and summary are asked for in Chinese, lengths in 字."""
    zh = "苍鹭在芦苇中筑巢。十月水变冷时它们离开。没有人知道它们去了哪里。" * 3
    engine = FakeEngine(replier(), n_ctx=4096)
    run(engine, zh, length="short")
    user, begun = engine.calls[-1]
    assert begun.content == "本文"
    assert "Summarize" not in user.content
    assert user.content.startswith("请用大约102字（3句左右）总结这篇文档")
    long_zh = "".join(
        f"## 第{k}节\n\n" + "苍鹭在芦苇中筑巢， 十月水变冷时离开。 " * 70 + "\n\n" for k in range(6)
    )
    engine = FakeEngine(lambda m: "要点。", n_ctx=800)
    s = Summarizer(engine, SummaryOptions(words=60, method=MR))
    plan = s.plan(long_zh)
    assert not plan.single
    job = s.start(plan)
    list(s.run(job))
    maps = [c for c in engine.calls if "<part>" in ask(c)]
    assert maps and all(re.search(r"请用(?: \d+ 句|一句)自己的话", ask(c)) for c in maps)
    # --lang English on a Chinese document: Chinese notes, an English final prompt.
    engine = FakeEngine(lambda m: "要点。", n_ctx=800)
    s = Summarizer(engine, SummaryOptions(words=60, lang="English", method=MR))
    job = s.start(s.plan(long_zh))
    list(s.run(job))
    assert job.messages is not None
    assert ask(job.messages).startswith("These are notes on the")
    assert "Write in English." in ask(job.messages)


def test_notes_length_follows_the_part_share() -> None:
    assert notes_words(0.5, 100) == 100  # notes together: twice the summary's, cut later
    assert notes_words(0.01, 100) == 15  # a floor, so small parts still get notes


def test_user_prompt_override(tmp_path: Path) -> None:
    (tmp_path / "summarize.toml").write_text(
        'system = "You are terse."\n[requests]\nparagraph = "Tell it in $n $unit."\n',
        encoding="utf-8",
    )
    engine = FakeEngine(replier(), n_ctx=4096)
    s = Summarizer(engine, user_dir=tmp_path)
    job = s.start(s.plan("A short text about herons. " * 3))
    list(s.run(job))
    s.finish(job)
    assert engine.calls[0][0].content.endswith("\n\nTell it in 5 words.")
    engine = FakeEngine(replier(), n_ctx=800)
    s = Summarizer(engine, SummaryOptions(words=40, method=MR), user_dir=tmp_path)
    list(s.run(s.start(s.plan(document()))))  # the notes steps keep the system prompt
    assert engine.calls[0][0] == Message("system", "You are terse.")


def test_saltmere_document_is_several_thousand_tokens() -> None:
    text = (DATA / "saltmere_report.md").read_text(encoding="utf-8")
    assert 2300 <= len(text.split()) <= 3200
    tail = text[int(len(text) * 0.9) :]
    assert "Quenby" in tail and "Quenby" not in text[: int(len(text) * 0.9)]


# -- lengths, budgets and tidy notes --------------------------------------------------


def test_default_length_follows_the_document() -> None:
    short = "The heron nests in the reeds. " * 20  # 120 words
    long = "The heron nests in the reeds and leaves when the water cools. " * 600
    assert auto_words(short) < 40
    assert 150 <= auto_words(document(sections=30, paragraphs=6)) <= 250
    assert auto_words(long) == 250  # capped
    assert auto_words("Herons.") == 1  # never more than a third of the document
    zh = "苍鹭在芦苇中筑巢。" * 100  # 900 characters: about 530 words
    assert 55 <= auto_words(zh) <= 80
    # --length and --words still decide when given.
    assert SummaryOptions(length="long").target_for(short) == 300
    assert SummaryOptions(words=42).target_for(long) == 42
    assert SummaryOptions(format="tldr").target_for(long) == 40
    engine = FakeEngine(replier(), n_ctx=4096)
    s = Summarizer(engine)
    assert s.plan(short).target_words == auto_words(short)
    assert "about 33 words" in ask(s.single_messages(s.plan(short)))


def test_summary_budget_leaves_room_for_its_length_only() -> None:
    for words in (40, 150, 300):
        limit = summary_max_tokens(words)
        assert words * 1.4 * 1.4 < limit < words * 1.4 * 2 + 64


def test_notes_are_asked_for_a_length_their_limit_leaves_room_for() -> None:
    engine = FakeEngine(replier(), n_ctx=1200)
    run(engine, document(sections=12), words=200)
    maps = [(c, p) for c, p in zip(engine.calls, engine.params, strict=True) if kind(c) == "map"]
    assert maps
    for call, params in maps:
        m = re.search(r"Tell in (\d+|one) short sentences? of your own", ask(call))
        assert m is not None, ask(call)
        asked = 1 if m.group(1) == "one" else int(m.group(1))  # ~15 words, 1.4 tokens each
        assert asked * 15 * 1.4 * 1.4 <= params.max_tokens, (asked, params.max_tokens)
    # Notes on all parts together are asked to be about as long as the summary.
    asked_all = [re.findall(r"Tell in (\d+|one)", ask(c))[0] for c, _ in maps]
    total = sum(1 if a == "one" else int(a) for a in asked_all)
    assert 200 / 15 * 0.5 <= total <= 200 / 15 * 1.2


def test_notes_at_their_limit_are_trimmed_to_a_sentence_end_and_reported() -> None:
    def reply(messages: list[Message]) -> str:
        if kind(messages) != "map":
            return "SUMMARY."
        return " ".join(f"Stone {k} leans a little toward the sea." for k in range(60))

    engine = FakeEngine(reply, n_ctx=800)
    _, job, _, _ = run(engine, document(), length="short")
    notes = [n.text for n in job.map_notes if n is not None]
    assert notes and all(t.endswith("a little toward the sea.") for t in notes), notes
    assert len(job.trimmed) == len(job.truncated) == len(notes)
    (problem,) = job.problems()
    assert "reached their token limit" in problem
    assert "trimmed back to the last complete sentence" in problem


def test_notes_are_tidied_before_the_final_step() -> None:
    def reply(messages: list[Message]) -> str:
        k = kind(messages)
        if k == "map":
            part = PART_RE.match(ask(messages))
            assert part is not None
            return (
                f"Part {part.group(1)}: ## Section heading\n\n## Section {part.group(1)}\n\n"
                f"```python\nprint('code')\n```\n\nFact note-{part.group(1)} is kept."
            )
        return "SUMMARY."

    engine = FakeEngine(reply, n_ctx=800)
    run(engine, document(), length="short")
    final = ask(engine.calls[-1]).split("<notes>")[1]
    assert "```" not in final and "print(" not in final
    assert "## Section" not in final and "Part " not in final
    assert "Fact note-1 is kept." in final


def test_final_summary_at_its_limit_ends_with_a_complete_sentence() -> None:
    reply = " ".join(f"Stone {k} was laid in 1864." for k in range(60)) + " It leans toward"
    engine = FakeEngine(reply, n_ctx=4096)
    summary = summarize(engine, "A short text to summarize. " * 5, SummaryOptions(words=30))
    assert summary.finish == "length"
    assert summary.text.endswith("1864.")
    assert "trimmed back to the last complete sentence" in summary.note
    s = Summarizer(engine, SummaryOptions(words=30))
    job = s.start(s.plan("A short text to summarize. " * 5))
    list(s.run(job))
    assert job.params is not None
    gate = s.final_transform(job)
    pieces = list(gate(engine.stream(job.messages or [], job.params)))
    assert "".join(p.text for p in pieces).endswith("1864.")
    assert pieces[-1].note.endswith("trimmed back to the last complete sentence")


def test_notes_are_fitted_to_the_summary_length_at_sentence_ends() -> None:
    from quill.writing.summary_job import Note, fit_notes

    long = Note("Part 1", "One two three four five. Six seven eight nine ten. Eleven twelve.", 1, 1)
    short = Note("Part 2", "Alpha beta gamma.", 2, 2)
    zh = Note("Part 3", "塔建于一八六四年。塔高三十一米。第一位守塔人点亮了灯。", 3, 3)
    out = fit_notes([long, short, zh], [0.5, 0.25, 0.25], 22)
    assert out[0].text == "One two three four five. Six seven eight nine ten."  # 10 of 11
    assert out[1] is short  # within its share: as it was
    assert out[2].text == "塔建于一八六四年。"  # 5.5 words: 9 characters is about 5
    tiny = fit_notes([long], [0.1], 5)
    assert tiny[0].text == "One two three four five."  # never less than a sentence
    # As many facts either way: the sentence in the model's own words is kept, not the
    # one copied from the part.
    part = "The tower was lit by its first keeper on a stormy night in the year 1864."
    note = Note("Part 1", part + " Its first keeper lit it in 1864 during a storm.", 1, 1)
    kept = fit_notes([note], [1.0], 12, [part])
    assert kept[0].text == "Its first keeper lit it in 1864 during a storm."
    assert fit_notes([note], [1.0], 12)[0].text == part  # no source: the first


def test_final_step_reads_notes_of_about_the_summary_length() -> None:
    def reply(messages: list[Message]) -> str:
        if kind(messages) == "map":
            return " ".join(f"Sentence {k} of these notes is here." for k in range(8))
        return "SUMMARY."

    engine = FakeEngine(reply, n_ctx=800)
    _, job, _, _ = run(engine, document(), words=40)
    final = ask(engine.calls[-1]).split("<notes>")[1].split("</notes>")[0]
    words = len(final.split())
    assert 40 * 0.8 <= words <= 40 * 1.1 + 7 * len(job.notes), words
    assert all(n.text.endswith("here.") for n in job.notes)


# -- select, refine, auto -------------------------------------------------------------


def test_auto_selects_passages_within_one_context_and_writes_once() -> None:
    engine = FakeEngine(lambda m: "A summary of the survey.", n_ctx=800)
    text = document()
    s = Summarizer(engine, SummaryOptions(length="short"))
    plan = s.plan(text, "doc.md")
    assert plan.method == "select" and plan.single and plan.selection is not None
    job = s.start(plan)
    assert list(s.run(job)) == []
    result = s.finish(job)
    assert len(engine.calls) == 1 and result.text == "A summary of the survey."
    prompt = ask(engine.calls[0])
    assert engine.count_messages(engine.calls[0]) + plan.summary_tokens <= 800
    assert "Fact s1p1" in prompt  # the opening is always read
    assert plan.selection.tokens < plan.tokens
    assert f"of {plan.tokens:,} tokens" in plan.selection.describe()


def test_auto_takes_notes_on_every_part_of_a_very_long_document() -> None:
    engine = FakeEngine(replier(), n_ctx=800)
    s = Summarizer(engine, SummaryOptions(length="short"))
    plan = s.plan(document(sections=40, paragraphs=4))
    assert plan.tokens > 8 * 800 and plan.method == "map-reduce" and not plan.single


def test_refine_rewrites_a_running_summary_part_by_part() -> None:
    seen: list[str] = []

    def reply(messages: list[Message]) -> str:
        seen.append(ask(messages))
        return f"Summary after step {len(seen)}."

    engine = FakeEngine(reply, n_ctx=800)
    s = Summarizer(engine, SummaryOptions(length="short", method="refine"))
    plan = s.plan(document(), "doc.md")
    n = len(plan.chunks)
    assert plan.method == "refine" and n >= 3
    job = s.start(plan)
    events = list(s.run(job))
    assert [e.kind for e in events] == ["refine"] * n
    assert "<summary>" not in seen[0]  # the first part has no summary yet
    for k in range(1, n - 1):
        assert f"Summary after step {k}." in seen[k]  # each step reads the one before
        assert plan.chunks[k].text.strip()[:40] in seen[k]
    result = s.finish(job)
    assert result.text == f"Summary after step {n}."
    assert f"Summary after step {n - 1}." in seen[-1] and len(engine.calls) == n
    for call in engine.calls:
        assert engine.count_messages(call) + plan.summary_tokens <= 800


def test_unknown_method_is_refused() -> None:
    with pytest.raises(UsageError):
        SummaryOptions(method="skim").validate()
