"""The passes of a summary read in parts: notes on each part (the map pass, concurrent
where the backend serves parallel requests), then notes merged group by group while
they do not fit one final step (combine passes).

Every step runs under the loop guard with a finite token budget (:func:`generate_step`);
notes that reach it are trimmed back to their last complete sentence, and tidied (no
headings, code blocks or labels copied from the source, no echo of the prompt) before
the next step reads them. Each step's stats, and a warning for each part whose notes
were stopped early, go in the job: nothing is cut silently.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed

from quill.engine.base import Engine, Finish, Message, Sampling, Stats
from quill.engine.loop import LoopDetector, guarded, stop_stream
from quill.errors import ContextOverflow
from quill.writing.chunk import complete_prefix
from quill.writing.cleanup import Transform
from quill.writing.notes import drop_prompt_echo, tidy_notes
from quill.writing.summary_job import (
    REDUCE_NOTES_FACTOR,
    Event,
    Job,
    Note,
    PassStarted,
    Plan,
    StepDone,
    ask_words,
    fit_notes,
    notes_cap,
    notes_words,
)
from quill.writing.summary_prompts import SummaryPrompts

SECTION_CHARS = 100  # longest heading path shown in a prompt

Stop = Callable[[], bool]  # polled while working: True asks the run to stop now


def section(path: tuple[str, ...]) -> str:
    """A part's heading path as a prompt shows it ("Results > Costs"), its start cut
    where it runs over SECTION_CHARS."""
    titles = [t for t in path if t]
    s = " > ".join(titles)
    if len(s) > SECTION_CHARS:
        s = "…" + s[-(SECTION_CHARS - 1) :]
    return s


def _is_bare(text: str) -> bool:
    """A part that holds only headings (an empty section)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return all(re.match(r"^ {0,3}#{1,6}(\s|$)", ln) for ln in lines)


def generate_step(
    engine: Engine,
    base: Sampling,
    messages: list[Message],
    max_tokens: int,
    stop: Stop | None = None,
    transform: Transform | None = None,
) -> tuple[str, Finish, Stats, str]:
    """(text, finish, stats, note) of one step of a summary (notes, or a refine step),
    under the loop guard, its stream passed through ``transform``; ``stop`` is polled
    between pieces."""
    params = base.with_(max_tokens=max_tokens)
    detector = LoopDetector()
    raw = engine.stream(messages, params)
    pieces = guarded(raw, detector)
    if transform is not None:
        pieces = transform(pieces)
    parts: list[str] = []
    finish: Finish = "stop"
    stats = Stats()
    note = ""
    for piece in pieces:
        parts.append(piece.text)
        if piece.finish is not None:
            finish, stats, note = piece.finish, piece.stats or stats, piece.note
            break
        if stop is not None and stop():
            final = stop_stream(raw, "interrupted")
            finish, stats = "interrupted", final.stats or stats
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
            break
    text = detector.kept_text() if finish == "loop" else "".join(parts)
    return text.strip(), finish, stats, note


class NotePasses:
    """The map and combine passes of one summarizer: its engine, prompts, sampling,
    workers and the context's slack for tokens merging at joins."""

    def __init__(
        self, engine: Engine, prompts: SummaryPrompts, base: Sampling, jobs: int, margin: int
    ) -> None:
        self.engine, self.prompts, self.base = engine, prompts, base
        self.jobs, self.margin = jobs, margin

    def fit(self, plan: Plan, notes: list[Note]) -> list[Note]:
        """The notes cut back to about the summary's length (see :func:`fit_notes`)."""
        total = max(plan.tokens, 1)
        shares = [sum(c.tokens for c in plan.chunks[n.first - 1 : n.last]) / total for n in notes]
        sources = ["".join(c.text for c in plan.chunks[n.first - 1 : n.last]) for n in notes]
        return fit_notes(notes, shares, plan.target_words * REDUCE_NOTES_FACTOR, sources)

    def _note_step(
        self,
        job: Job,
        label: str,
        messages: list[Message],
        max_tokens: int,
        stop: Stop | None,
        source: str,
        headings: tuple[str, ...] = (),
    ) -> tuple[str, Finish, Stats]:
        """One notes step on ``source`` (a part, or the notes being merged)."""
        text, finish, stats, _ = generate_step(self.engine, self.base, messages, max_tokens, stop)
        job.record(stats)
        if finish == "length":
            job.truncated.append((label, max_tokens))
            cut = complete_prefix(text, closed=True)
            if 0 < cut < len(text.rstrip()):
                text = text[:cut]
                job.trimmed.append(label)
        elif finish == "loop":
            job.warnings.append(f"the notes on {label} began repeating; the repeats were cut")
        if finish != "interrupted":
            prompt = "\n".join(m.content for m in messages)
            text = drop_prompt_echo(tidy_notes(text, headings), prompt, source) or "(no notes)"
        return text, finish, stats

    def _note_length(self, plan: Plan, share: float) -> tuple[int, int]:
        """(words to ask, token limit) of notes on ``share`` of the document."""
        words = notes_words(share, plan.target_words)
        cap = notes_cap(words, plan.notes_tokens)
        return min(words, ask_words(cap)), cap

    def _map_one(self, job: Job, k: int, stop: Stop | None = None) -> StepDone:
        plan = job.plan
        n = len(plan.chunks)
        chunk = plan.chunks[k]
        part_section = section(chunk.headings)
        label = f"Part {k + 1} of {n}" + (f" ({part_section})" if part_section else "")
        if stop is not None and stop():
            return StepDone("map", 0, n, chunk.tokens, Stats(), "interrupted")
        if _is_bare(chunk.text):
            # An empty section: nothing to read, no model call, but still accounted for.
            text, stats = "(this part holds only headings, no text)", Stats()
            finish: Finish = "stop"
        else:
            words, cap = self._note_length(plan, chunk.tokens / max(plan.tokens, 1))
            messages = self.prompts.map(plan, chunk.text, k + 1, n, part_section, words)
            text, finish, stats = self._note_step(
                job, label, messages, cap, stop, chunk.text, chunk.headings
            )
        if finish != "interrupted":
            job.map_notes[k] = Note(label, text, k + 1, k + 1)
        return StepDone("map", 0, n, chunk.tokens, stats, finish)

    def map_pass(self, job: Job, stop: Stop | None) -> Iterator[Event]:
        chunks = job.plan.chunks
        n = len(chunks)
        job.map_notes = [None] * n
        job.passes = 1
        yield PassStarted("map", 1, n, job.plan.tokens)
        if self.jobs == 1:
            for k in range(n):
                job.current = ("map", k + 1, n)
                step = self._map_one(job, k, stop)
                if step.finish == "interrupted":
                    job.interrupted = True
                    return
                yield StepDone("map", k + 1, n, step.tokens, step.stats, step.finish)
            job.current = None
            return
        # Parallel: every worker polls one flag, raised by ``stop`` or by an exception here.
        halt = threading.Event()

        def stopped() -> bool:
            return halt.is_set() or (stop is not None and stop())

        job.current = ("map", 1, n)
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(self._map_one, job, k, stopped) for k in range(n)]
            try:
                for done, fut in enumerate(as_completed(futures), 1):
                    step = fut.result()
                    if step.finish == "interrupted":
                        job.interrupted = True
                        break
                    job.current = ("map", min(done + 1, n), n)
                    yield StepDone("map", done, n, step.tokens, step.stats, step.finish)
            finally:  # an interruption, an error, or the consumer closing the generator
                if job.interrupted or any(not f.done() for f in futures):
                    halt.set()
                    for f in futures:
                        f.cancel()
        if not job.interrupted:
            job.current = None

    def _groups(self, plan: Plan, notes: list[Note]) -> list[list[Note]]:
        """Consecutive groups of notes that each fit one combine step."""
        n_ctx = self.engine.info.n_ctx
        overhead = self.engine.count_messages(self.prompts.combine(plan, [], 100))
        budget = n_ctx - overhead - plan.notes_tokens - self.margin
        groups: list[list[Note]] = []
        used = 0
        for note in notes:
            size = self.engine.count(self.prompts.note_size_text(plan, note)) + 2
            if groups and used + size <= budget:
                groups[-1].append(note)
                used += size
            else:
                groups.append([note])
                used = size
        if all(len(g) == 1 for g in groups):
            raise ContextOverflow(
                f"a context of {n_ctx} tokens cannot hold two parts' notes together",
                hint="raise --ctx",
            )
        return groups

    def combine_pass(
        self, job: Job, notes: list[Note], stop: Stop | None
    ) -> Generator[Event, None, list[Note]]:
        plan = job.plan
        groups = self._groups(plan, notes)
        work = [g for g in groups if len(g) > 1]
        job.passes += 1
        tokens = sum(self.engine.count(n.text) for g in work for n in g)
        yield PassStarted("combine", job.passes, len(work), tokens)
        out: list[Note] = []
        done = 0
        for group in groups:
            if len(group) == 1:  # passes through unchanged: no token evaluated for nothing
                out.append(group[0])
                continue
            first, last = group[0].first, group[-1].last
            label = f"Parts {first}-{last} of {len(plan.chunks)}"
            job.current = ("combine", done + 1, len(work))
            if stop is not None and stop():
                job.interrupted = True
                return out
            share = sum(c.tokens for c in plan.chunks[first - 1 : last]) / max(plan.tokens, 1)
            words, cap = self._note_length(plan, share)
            messages = self.prompts.combine(plan, group, words)
            source = "\n\n".join(n.text for n in group)
            text, finish, stats = self._note_step(job, label, messages, cap, stop, source)
            if finish == "interrupted":
                job.interrupted = True
                return out
            out.append(Note(label, text, first, last))
            done += 1
            size = sum(self.engine.count(n.text) for n in group)
            yield StepDone("combine", done, len(work), size, stats, finish)
        job.current = None
        return out
