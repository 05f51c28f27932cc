"""`quill summarize`: long documents summarized honestly, by token-counted map-reduce.

Plain functions and objects over an Engine; nothing here prints. The flow:

- ``Summarizer.plan(text)`` counts the document with the engine's tokenizer. If the whole
  document and room for the summary fit the context, the plan is one step. Otherwise the
  document is cut by :func:`quill.writing.chunk.chunk_text` into parts that each fit the
  context beside the notes prompt and the notes' own token budget.
- ``Summarizer.run(job)`` is a generator: it turns each part into notes (the map pass,
  concurrently when the backend serves parallel requests), then, while all the notes do
  not fit one final step, merges consecutive groups of them into shorter notes (combine
  passes). It yields ``PassStarted`` / ``StepDone`` events for a progress display and
  leaves the final step's prompt in ``job.messages``.
- The caller runs the final step: the CLI streams it to the terminal, ``finish`` /
  ``summarize`` here complete it in one go.

Every generation runs under the loop guard with a finite token budget. Notes are asked
for in a length their budget leaves room for; notes that still reach it are trimmed
back to their last complete sentence, and tidied (no headings, code blocks or labels
copied from the source) before the next step reads them. Nothing is cut silently: the
job records every step's stats and a warning for each part whose notes were stopped
early.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

from quill.engine.base import Engine, Message, Piece, Result, Sampling
from quill.engine.generation import Generation
from quill.engine.length import CJK_CHARS_PER_WORD
from quill.errors import ContextOverflow, UsageError
from quill.writing.chunk import Chunk, chunk_text, heading_paths
from quill.writing.cleanup import (
    Transform,
    drop_echoed_header,
    sentence_gate,
    strip_blocks,
)
from quill.writing.draft import opening
from quill.writing.figures import key_sentences
from quill.writing.language import detect_language
from quill.writing.openings import lead
from quill.writing.retry import RETRIES, checked, run_generation
from quill.writing.salience import select
from quill.writing.summary_job import (
    BEST_OF,
    FORMATS,
    LENGTHS,
    TOKENS_PER_WORD,
    Event,
    Job,
    Note,
    PassStarted,
    Plan,
    StepDone,
    Summary,
    SummaryOptions,
    auto_method,
    auto_words,
    floor_share,
    notes_cap,
    notes_max_tokens,
    notes_words,
    read_limit,
    summary_max_tokens,
)
from quill.writing.summary_passes import NotePasses, Stop, generate_step, section
from quill.writing.summary_prompts import SummaryPrompts
from quill.writing.summarycheck import summary_check

__all__ = [
    "CJK_CHARS_PER_WORD",
    "FORMATS",
    "LENGTHS",
    "Summarizer",
    "SummaryOptions",
    "auto_words",
    "notes_cap",
    "notes_max_tokens",
    "notes_words",
    "summarize",
    "summary_max_tokens",
]

# A part holds at most this many times its notes' budget: notes can only be so much
# shorter than what they cover before a small model starts dropping the end of a part.
PART_RATIO = 4
MIN_CHUNK_TOKENS = 64


# -- the summarizer ---------------------------------------------------------------------


class Summarizer:
    def __init__(
        self,
        engine: Engine,
        options: SummaryOptions | None = None,
        base: Sampling | None = None,
        *,
        jobs: int = 1,
        user_dir: Path | None = None,
        native_prompts: bool = True,
    ) -> None:
        self.opts = options or SummaryOptions()
        self.opts.validate()
        if jobs < 1:
            raise UsageError("--jobs must be at least 1")
        self.engine = engine
        self.base = base or Sampling(temperature=0.2, repeat_penalty=1.12)
        self.prompts = SummaryPrompts(
            self.opts.format, self.opts.focus, user_dir, native=native_prompts
        )
        self.margin = 4 + engine.info.n_ctx // 64  # slack for tokens merging at joins
        workers = max(1, min(jobs, engine.info.parallel))
        self.passes = NotePasses(engine, self.prompts, self.base, workers, self.margin)

    @property
    def jobs(self) -> int:
        """Steps run at once (the backend's parallel requests at most): the passes'."""
        return self.passes.jobs

    def one_step_at_a_time(self) -> Summarizer:
        """A copy whose steps run one after another: for files summarized side by side,
        each file's own steps in turn."""
        one = copy.copy(self)
        one.passes = NotePasses(self.engine, self.prompts, self.base, 1, self.margin)
        return one

    # -- prompts ------------------------------------------------------------------

    def single_messages(self, plan: Plan, text: str | None = None) -> list[Message]:
        return self.prompts.single(plan, text)

    def map_messages(
        self,
        plan: Plan,
        text: str,
        part: int | str,
        parts: int | str,
        section: str,
        words: int = 100,
    ) -> list[Message]:
        return self.prompts.map(plan, text, part, parts, section, words)

    def combine_messages(self, plan: Plan, notes: list[Note], words: int = 100) -> list[Message]:
        return self.prompts.combine(plan, notes, words)

    def reduce_messages(self, plan: Plan, notes: list[Note]) -> list[Message]:
        return self.prompts.reduce(plan, notes)

    # -- planning ---------------------------------------------------------------------

    def plan(self, text: str, title: str | None = None) -> Plan:
        """Count the document and decide: one step, or parts within the context."""
        engine, n_ctx = self.engine, self.engine.info.n_ctx
        doc_lang = detect_language(text)
        tokens = engine.count(text)
        target = self.opts.target_for(text)
        summary_tokens = (
            self.opts.max_tokens if self.opts.max_tokens is not None else summary_max_tokens(target)
        )
        too_small = False
        if self.opts.max_tokens is None:  # room for the length asked for, within reason
            summary_tokens = min(summary_tokens, n_ctx // 3)
            too_small = summary_tokens < target * TOKENS_PER_WORD
        if too_small or summary_tokens > n_ctx // 2:
            raise ContextOverflow(
                f"a summary of about {target} words (up to {summary_tokens} tokens) does "
                f"not fit beside its notes in a context of {n_ctx} tokens",
                hint="raise --ctx, or ask for a shorter summary (--length, --words)",
            )
        plan = Plan(
            text=text,
            title=title,
            tokens=tokens,
            chunks=[Chunk(text, tokens, (), 0)],
            single=True,
            lang=self.opts.lang or doc_lang,
            doc_lang=doc_lang,
            chunk_budget=0,
            notes_tokens=notes_max_tokens(n_ctx),
            summary_tokens=summary_tokens,
            target_words=target,
        )
        n_read = read_limit(engine.info)  # what one step may read
        may_fit = tokens + summary_tokens < n_read
        if may_fit:
            self._show_figures(plan)
            need = engine.count_messages(self.single_messages(plan)) + summary_tokens
            if need <= n_read:
                return plan
        method = self.opts.method
        if method == "auto":
            method = auto_method(tokens, n_read)
        if method == "select":
            if not may_fit:
                self._show_figures(plan)
            return self._plan_select(plan)
        plan.figures = []  # read in parts: no step reads the whole text they go with
        if method == "refine":
            return self._plan_refine(plan)
        # Map-reduce: each part fits beside the notes prompt (with the longest heading
        # path and part numbers it can show) and the notes' own budget.
        sections = [section(p) for p in heading_paths(text)]
        longest = max(sections, key=engine.count, default="")
        overhead = engine.count_messages(self.map_messages(plan, "", 9999, 9999, longest))
        budget = n_ctx - overhead - plan.notes_tokens - self.margin
        if budget < MIN_CHUNK_TOKENS:
            raise self._too_small(plan, " in parts")
        plan.single = False
        plan.method = "map-reduce"
        plan.chunk_budget = budget = min(budget, PART_RATIO * plan.notes_tokens)
        plan.chunks = chunk_text(text, budget, engine.count, tokens)
        return plan

    def _show_figures(self, plan: Plan) -> None:
        """The document's key figures, for a paragraph summary read in one step
        (:mod:`quill.writing.figures`): shown after the text, so counted in its budget."""
        if self.opts.figures and self.opts.format == "paragraph":
            plan.figures = key_sentences(plan.text, plan.target_words)

    def _too_small(self, plan: Plan, how: str = "") -> ContextOverflow:
        """The error for a context too small to read ``plan``'s document ``how``."""
        return ContextOverflow(
            f"the document is {plan.tokens:,} tokens and a context of "
            f"{self.engine.info.n_ctx} tokens leaves too little room to summarize it{how}",
            hint="raise --ctx (2048 or more)",
        )

    def _plan_select(self, plan: Plan) -> Plan:
        """Select, then write: the passages that fit one step beside its prompt."""
        overhead = self.engine.count_messages(self.single_messages(plan, ""))
        budget = read_limit(self.engine.info) - overhead - plan.summary_tokens - self.margin
        if budget < MIN_CHUNK_TOKENS:
            raise self._too_small(plan)
        plan.method = "select"
        plan.chunk_budget = budget
        plan.selection = chosen = select(plan.text, budget, self.engine.count)
        plan.chunks = [Chunk(chosen.text, chosen.tokens, (), 0)]
        return plan

    def _plan_refine(self, plan: Plan) -> Plan:
        """Refine: parts that each fit beside the running summary and the new one."""
        n_ctx = self.engine.info.n_ctx
        overhead = self.engine.count_messages(self.prompts.refine(plan, "", "x" * 8))
        budget = n_ctx - overhead - 2 * plan.summary_tokens - self.margin
        if budget < MIN_CHUNK_TOKENS:
            raise self._too_small(plan)
        plan.single = False
        plan.method = "refine"
        plan.chunk_budget = budget
        plan.chunks = chunk_text(plan.text, budget, self.engine.count, plan.tokens)
        return plan

    # -- running ----------------------------------------------------------------------

    def start(self, plan: Plan) -> Job:
        return Job(plan)

    def run(self, job: Job, stop: Stop | None = None) -> Iterator[Event]:
        """Run the map and combine passes, yielding progress; afterwards ``job.messages``
        and ``job.params`` hold the final step.

        ``stop`` is polled between generated pieces and between steps: once it returns
        True, the step in flight is stopped at a clean point (its engine stream is told
        to end, its stats kept), ``job.interrupted`` is set and the run ends, with the
        notes finished so far in ``job.map_notes``."""
        plan = job.plan
        final_params = self._final_params(plan)
        if plan.single:
            job.passes = 1
            text = plan.selection.text if plan.selection is not None else None
            job.messages, job.params = self.single_messages(plan, text), final_params
            return
        if plan.method == "refine":
            yield from self._refine_pass(job, stop)
            return
        yield from self.passes.map_pass(job, stop)
        if job.interrupted:
            return
        notes = [n for n in job.map_notes if n is not None]
        n_ctx = self.engine.info.n_ctx
        while True:
            notes = self.passes.fit(plan, notes)
            messages = self.reduce_messages(plan, notes)
            need = self.engine.count_messages(messages) + plan.summary_tokens + self.margin
            if need <= n_ctx or len(notes) == 1:
                break
            notes = yield from self.passes.combine_pass(job, notes, stop)
            if job.interrupted:
                return
        job.notes = notes
        job.passes += 1
        job.messages, job.params = messages, final_params

    def _refine_pass(self, job: Job, stop: Stop | None) -> Iterator[Event]:
        """A running summary, rewritten with each part in turn; the last rewrite is the
        final step, left in ``job.messages`` like the other methods' final step."""
        plan = job.plan
        chunks = plan.chunks
        n = len(chunks)
        job.passes = 1
        summary = ""
        yield PassStarted("refine", 1, n - 1, sum(c.tokens for c in chunks[:-1]))
        for k in range(n - 1):
            job.current = ("refine", k + 1, n - 1)
            if stop is not None and stop():
                job.interrupted = True
                return
            messages = self.prompts.refine(plan, summary, chunks[k].text)
            text, finish, stats, _ = generate_step(
                self.engine,
                self.base,
                messages,
                plan.summary_tokens,
                stop,
                transform=self._refine_transform(plan),
            )
            job.record(stats)
            if finish == "interrupted":
                job.interrupted = True
                return
            if text.strip():
                summary = text
            job.map_notes.append(Note(f"Parts 1-{k + 1} of {n}", summary, 1, k + 1))
            yield StepDone("refine", k + 1, n - 1, chunks[k].tokens, stats, finish)
        job.current = None
        job.notes = [Note(f"Parts 1-{n - 1} of {n}", summary, 1, n - 1)]
        job.passes += 1
        job.messages = self.prompts.refine(plan, summary, chunks[-1].text)
        job.params = self._final_params(plan)

    def _final_params(self, plan: Plan) -> Sampling:
        """The final step's sampling: a paragraph or TL;DR is prose, so no line of it may
        begin as a list item or heading (``Sampling.prose``: small models asked for a
        paragraph of a document full of lists answer with one), and near the length
        asked it is pushed to end at its next sentence end (``Sampling.end_after``), and
        it may not end before a share of that length that depends on the model's size
        (:func:`floor_share`; ``Sampling.min_words``)."""
        prose = self.opts.format in ("paragraph", "tldr")
        return self.base.with_(
            max_tokens=plan.summary_tokens,
            prose=prose,
            end_after=plan.target_words,
            min_words=round(floor_share(self.engine.info.n_params) * plan.target_words),
        )

    def _refine_transform(self, plan: Plan) -> Transform:
        gate = sentence_gate(plan.summary_tokens)
        strip = strip_blocks(headings=True)

        def tidy(pieces: Iterator[Piece]) -> Iterator[Piece]:
            return strip(gate(pieces))

        return tidy

    def finish(self, job: Job) -> Result:
        """Run the final step without streaming (``run`` must have finished)."""
        result = run_generation(self.final_generation(job))
        job.record(result.stats)
        return result

    def final_generation(self, job: Job) -> Generation:
        """The final step, checked (:mod:`quill.writing.summarycheck`): BEST_OF tries by
        default, three tries in all; ``best_of`` N in the options keeps the best of N,
        and a summary that copies the document, answers prose with a list, misses the
        length asked by far or loops is then written again with the next seed (at most
        twice). It comes out whole,
        once chosen, with a note saying what the check did."""
        if job.messages is None or job.params is None:
            raise RuntimeError("run the map and combine passes first")
        messages = job.messages

        def once(p: Sampling) -> Generation:
            return Generation(
                self.engine.stream(messages, p),
                p,
                transforms=[self.final_transform(job)],
                what="summary",
            )

        check = summary_check(
            job.plan.text, job.plan.target_words, job.plan.lang, self.opts.format == "paragraph"
        )
        n, retries = summary_tries(self.opts.best_of)
        quiet = self.opts.best_of is None  # the default: BEST_OF tries, the choice unsaid
        return checked(
            once, check, job.params, n=n, retries=retries, what="summary", quiet_best_of=quiet
        )

    def final_transform(self, job: Job) -> Transform:
        """The stream filters of the final step, for a caller that streams it: the text
        ends with a complete sentence (:func:`~quill.writing.cleanup.sentence_gate`), and
        headings (but in an outline) and code blocks copied from the document are
        dropped (:func:`~quill.writing.cleanup.strip_blocks`), and so are a first line
        that repeats the prompt and the prompt's "<notes>" tags."""
        limit = job.params.max_tokens if job.params is not None else job.plan.summary_tokens
        gate = sentence_gate(limit)
        strip = strip_blocks(headings=self.opts.format != "outline")
        prompt = "\n".join(m.content for m in job.messages or [])
        source = "\n\n".join(n.text for n in job.notes) if job.notes else job.plan.text
        if job.plan.method == "refine":
            source += "\n\n" + job.plan.chunks[-1].text
        echo = drop_echoed_header(prompt, source)
        begun = lead(opening(job.messages or []))

        def final(pieces: Iterator[Piece]) -> Iterator[Piece]:
            return strip(gate(echo(begun(pieces))))

        return final


def summary_tries(best_of: int | None) -> tuple[int, int]:
    """The tries of a summary's final step for ``--best-of`` (None: the default): how
    many are written (N), and how many more at most while none has passed. By default
    the later tries are the retries too: three tries at most, as with one try."""
    if best_of is None:
        return BEST_OF, RETRIES - (BEST_OF - 1)
    return max(1, best_of), RETRIES


def summarize(
    engine: Engine,
    text: str,
    options: SummaryOptions | None = None,
    base: Sampling | None = None,
    *,
    title: str | None = None,
    jobs: int = 1,
    user_dir: Path | None = None,
) -> Summary:
    """Summarize ``text`` in one call (no streaming): plan, passes, final step."""
    s = Summarizer(engine, options, base, jobs=jobs, user_dir=user_dir)
    job = s.start(s.plan(text, title))
    for _ in s.run(job):
        pass
    result = s.finish(job)
    return Summary(result.text, result.finish, job, result.note)
