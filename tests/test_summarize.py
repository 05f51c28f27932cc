"""Map-reduce on FakeEngine with a tiny context: passes, order, budgets, the report."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quill.engine.base import Message, Result
from quill.engine.fake import FakeEngine
from quill.errors import ContextOverflow, UsageError
from quill.writing.chunk import Chunk
from quill.writing.language import detect_language
from quill.writing.summarize import Summarizer, SummaryOptions, notes_words, summarize
from quill.writing.summary_job import Event, Job, PassStarted, StepDone

DATA = Path(__file__).parent / "data"
PART_RE = re.compile(r"^Part (\d+) of (\d+)")


def document(sections: int = 6, paragraphs: int = 3) -> str:
    out = ["# Survey of the Valley\n\n"]
    for s in range(1, sections + 1):
        out.append(f"## Section {s}\n\n")
        for p in range(1, paragraphs + 1):
            sentence = f"Fact s{s}p{p} is recorded here with some ordinary words around it. "
            out.append(sentence * 4 + f"It ends section {s} paragraph {p}.\n\n")
    return "".join(out)


def kind(messages: list[Message]) -> str:
    user = messages[-1].content
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
    """Map steps answer `note-K` (padded to note_words), combine steps name the parts
    they merged, the final step says SUMMARY."""

    def reply(messages: list[Message]) -> str:
        k = kind(messages)
        user = messages[-1].content
        if k == "map":
            m = PART_RE.match(user)
            assert m is not None
            part = int(m.group(1))
            if delays:
                time.sleep(delays.get(part, 0.0))
            return " ".join([f"note-{part}", *(f"w{i}" for i in range(note_words - 1))])
        if k == "combine":
            labels = re.findall(r"^(Parts? [\d-]+):", user, re.M)
            return "merged " + " ".join(x.replace(" ", "_") for x in labels)
        if k == "reduce":
            return "SUMMARY of the notes."
        return "SINGLE summary."

    return reply


def run(engine: FakeEngine, text: str, **opts: Any) -> tuple[Summarizer, Job, list[Event], Result]:
    s = Summarizer(engine, SummaryOptions(**opts))
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
        ("ok", None),
        ("x = 1; y = 2; z = 3; print(x, y, z) # 42 42 42", None),
    ],
)
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


def test_short_document_is_one_pass() -> None:
    engine = FakeEngine(replier(), n_ctx=4096)
    text = document(sections=2, paragraphs=1)
    _, job, events, result = run(engine, text)
    assert events == []
    assert job.plan.single and job.passes == 1 and len(job.plan.chunks) == 1
    assert len(engine.calls) == 1
    assert kind(engine.calls[0]) == "single"
    user = engine.calls[0][-1].content
    assert text.strip() in user
    assert "Write in English." in user
    assert result.text == "SINGLE summary."
    assert job.plan.tokens == engine.count(text)


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
        assert call[-1].content.startswith(f"Part {k} of {n}")
        assert chunk.text.strip() in call[-1].content
    # Then one reduce step that reads every note, in order.
    assert [kind(c) for c in engine.calls] == ["map"] * n + ["reduce"]
    final = engine.calls[-1][-1].content
    positions = [final.index(f"Part {k}: note-{k}") for k in range(1, n + 1)]
    assert positions == sorted(positions)
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
    text = document(sections=14)
    _, job, events, result = run(engine, text, length="short")
    n = len(job.plan.chunks)
    kinds = [kind(c) for c in engine.calls]
    assert kinds[:n] == ["map"] * n and kinds[-1] == "reduce"
    combines = [c for c in engine.calls if kind(c) == "combine"]
    assert combines, kinds
    assert job.passes == 2 + sum(isinstance(e, PassStarted) and e.kind == "combine" for e in events)
    assert job.passes >= 3
    # The first combine pass reads consecutive runs of parts, in order, each part once.
    first_pass = [
        [int(x) for x in re.findall(r"^Part (\d+):", c[-1].content, re.M)]
        for c in combines
        if re.search(r"^Part \d+:", c[-1].content, re.M)
    ]
    flat = [k for group in first_pass for k in group]
    assert flat == sorted(flat) and len(flat) == len(set(flat))
    for group in first_pass:
        assert group == list(range(group[0], group[-1] + 1)) and len(group) > 1
    # The final step reads notes that cover parts 1..n in order.
    final = engine.calls[-1][-1].content
    spans = [
        (int(a), int(b or a)) for a, b in re.findall(r"^Parts? (\d+)(?:-(\d+))?:", final, re.M)
    ]
    assert spans[0][0] == 1 and spans[-1][1] == n
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start == end + 1
    assert result.text == "SUMMARY of the notes."
    for call, params in zip(engine.calls, engine.params, strict=True):
        assert engine.count_messages(call) + params.max_tokens <= engine.info.n_ctx


def test_empty_section_needs_no_model_call() -> None:
    engine = FakeEngine(replier(), n_ctx=800)
    s = Summarizer(engine, SummaryOptions(length="short"))
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
    assert "Part 2: (this part holds only headings" in engine.calls[-1][-1].content


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


def test_parallel_map_steps_keep_document_order() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    inner = replier(delays={1: 0.3, 2: 0.2, 3: 0.1})

    def reply(messages: list[Message]) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            return inner(messages)
        finally:
            with lock:
                active -= 1

    engine = FakeEngine(reply, n_ctx=800, parallel=4)
    s = Summarizer(engine, SummaryOptions(length="short"), jobs=4)
    assert s.jobs == 4
    job = s.start(s.plan(document()))
    events = list(s.run(job))
    s.finish(job)
    n = len(job.plan.chunks)
    assert peak > 1
    done = [e.done for e in events if isinstance(e, StepDone)]
    assert done == list(range(1, n + 1))
    final = engine.calls[-1][-1].content
    positions = [final.index(f"Part {k}: note-{k}") for k in range(1, n + 1)]
    assert positions == sorted(positions)


def test_jobs_run_in_turn_on_a_one_request_backend() -> None:
    engine = FakeEngine(n_ctx=800)
    assert Summarizer(engine, jobs=8).jobs == 1


def test_interrupted_map_keeps_the_notes_done() -> None:
    def reply(messages: list[Message]) -> str:
        m = PART_RE.match(messages[-1].content)
        if m and m.group(1) == "3":
            raise KeyboardInterrupt
        return replier()(messages)

    engine = FakeEngine(reply, n_ctx=800)
    s = Summarizer(engine, SummaryOptions(length="short"))
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
    s = Summarizer(engine, SummaryOptions(length="short"))
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
    s = Summarizer(engine, SummaryOptions(length="short"), jobs=2)
    job = s.start(s.plan(document(sections=8)))
    list(s.run(job, stop=flag.is_set))
    assert job.interrupted
    assert len(engine.calls) <= 2  # the two in flight stopped; no others started
    assert all(st.generated_tokens < 50 for st in job.stats)


def test_language_focus_and_length_reach_the_prompts() -> None:
    engine = FakeEngine(replier(), n_ctx=4096)
    zh = "苍鹭在芦苇中筑巢。十月水变冷时它们离开。没有人知道它们去了哪里。" * 3
    run(engine, zh, length="short")
    user = engine.calls[-1][-1].content
    assert "Write in Chinese." in user
    assert "characters" in user  # a CJK summary's length is counted in characters
    engine = FakeEngine(replier(), n_ctx=800)
    run(engine, document(), lang="French", focus="the herons", words=40)
    map_user = engine.calls[0][-1].content
    final = engine.calls[-1][-1].content
    assert "Write in English." in map_user  # notes stay in the document's language
    assert "the herons" in map_user and "the herons" in final
    assert "Write in French." in final and "about 40 words" in final


def test_notes_length_follows_the_part_share() -> None:
    assert notes_words(0.5, 100) == 75
    assert notes_words(0.01, 100) == 30  # a floor, so small parts still get notes


def test_user_prompt_override(tmp_path: Path) -> None:
    (tmp_path / "summarize.toml").write_text('system = "You are terse."\n', encoding="utf-8")
    engine = FakeEngine(replier(), n_ctx=4096)
    s = Summarizer(engine, user_dir=tmp_path)
    job = s.start(s.plan("A short text about herons. " * 3))
    list(s.run(job))
    s.finish(job)
    assert engine.calls[0][0].content == "You are terse."


def test_saltmere_document_is_several_thousand_tokens() -> None:
    text = (DATA / "saltmere_report.md").read_text(encoding="utf-8")
    assert 2300 <= len(text.split()) <= 3200
    tail = text[int(len(text) * 0.9) :]
    assert "Quenby" in tail and "Quenby" not in text[: int(len(text) * 0.9)]
