"""What a summary run is made of: the options and the lengths and token budgets they
lead to, the plan, the notes, the progress events and the job that records every step
(for the report, and to keep partial work on interruption)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Literal

from quill.engine.base import Finish, Message, ModelInfo, Sampling, Stats
from quill.engine.length import words as doc_words  # 1.7 CJK characters to the word
from quill.errors import UsageError
from quill.writing.chunk import Chunk, sentence_ends
from quill.writing.salience import Selection

StepKind = Literal["map", "combine", "refine"]

LENGTHS = {"short": 60, "medium": 150, "long": 300}
FORMATS = ("paragraph", "bullets", "tldr", "outline")
# How a document longer than one context is read (docs/summarize.md): select the passages
# that fit one context and write once; refine a running summary part by part; or notes
# on every part, then the summary from the notes. "auto" chooses by length.
METHODS = ("auto", "select", "refine", "map-reduce")
TLDR_WORDS = 40
# With neither --length nor --words, the length follows the document: about 3·√(its
# words), so 300 words get ~50, 3,000 get ~165 and 7,000 or more get AUTO_MAX.
AUTO_FACTOR = 3.0
AUTO_MIN, AUTO_MAX = 25, 250
# Token budgets only: an English word, or 1.7 Chinese characters, in tokens (Qwen2.5 writes
# about 1.23 tokens per English word and 0.68 per Chinese character; lengths themselves
# are counted in words, quill.engine.length)
TOKENS_PER_WORD = 1.4
# A summary may not end before a share of its length in words (floor_share): small
# models asked for 200 words of a long article stop at 70 (the 0.5B ended a quarter of
# its summaries at 0.38 to 0.58 of the length asked, carrying fewer of the abstract's
# facts). FLOOR_SHARE, for a model under SMALL_MODEL_PARAMS, was tuned as 0.6 of the
# length in tokens at 1.4 tokens per word, which is 0.68 of the words in English and
# 0.73 of the characters in Chinese. A larger model (or one whose size the backend does
# not say) ends a summary once it has said what it read, and held on it writes about
# the document instead ("总体而言，本篇文档为…提供了全面的指导"): on four Chinese articles
# with abstracts of their own, not written here (ctx 4096, seed 0), the 1.5B's ROUGE-2
# against the abstracts was 0.325 at a floor of 0.7, 0.359 at 0.6 and 0.388 at 0.5,
# while the 0.5B's summaries of the report half carried 0.071 of the planted facts at
# 0.7, 0.050 at 0.6 and 0.031 at 0.5 (docs/summarize.md, "Where a summary may end").
FLOOR_SHARE = 0.7
LARGER_FLOOR_SHARE = 0.5
SMALL_MODEL_PARAMS = 1_000_000_000
SUMMARY_ROOM = 1.6  # the summary's token limit: this many times its length, plus slack
NOTES_ROOM = 1.5  # a note's token limit: this many times the length asked of it, plus
NOTES_SLACK = 24  # tokens, so even a one-sentence note has room to finish its sentence
# Notes on all parts together: about twice the summary's length. A small model's final
# step keeps close to its notes (it condenses little: measured, it mostly joins them),
# so the notes are then cut back to the summary's length by fit_notes, which keeps the
# sentences that carry the most names, numbers and dates. Measured on quill/evalset
# (0.5B, 4 documents x 3 seeds), asking for twice the length rather than 0.8 times
# raised the facts carried from 0.15 to 0.20 and those in the last fifth of a document
# from 0.06 to 0.18, at a higher copy rate (0.26 to 0.37) and about 15% more time.
NOTES_FACTOR = 2.0
MIN_NOTES_WORDS = 15
# The notes the final step reads, together: about this many times the summary's length,
# each part's notes cut back at a sentence end to its share (see fit_notes).
REDUCE_NOTES_FACTOR = 1.1
# Summaries written by default, the best by the check kept (quill.writing.summarycheck):
# a small model's later tries often carry the figures its first left out, and the
# prompt is still in the cache, so a try costs only its writing (docs/summarize.md).
# Three, the most tries a summary ever had: on the tune half the 1.5B's choice of three
# carried 0.108 of the planted facts at the length asked against 0.097 of two.
BEST_OF = 3


# -- options ----------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryOptions:
    length: str | None = None  # short | medium | long; None: sized to the document
    words: int | None = None  # overrides length
    format: str = "paragraph"  # paragraph | bullets | tldr | outline
    focus: str | None = None
    lang: str | None = None  # None: the document's own language
    max_tokens: int | None = None  # the summary's token limit (default: from the length)
    method: str = "auto"  # how a document longer than the context is read: see METHODS
    best_of: int | None = None  # summaries written, the best kept (None: BEST_OF, unsaid)
    figures: bool = True  # a paragraph summary is shown the document's key figures

    def validate(self) -> None:
        if self.length is not None and self.length not in LENGTHS:
            raise UsageError(
                f"unknown length `{self.length}`", hint="choose one of: " + ", ".join(LENGTHS)
            )
        if self.format not in FORMATS:
            raise UsageError(
                f"unknown format `{self.format}`", hint="choose one of: " + ", ".join(FORMATS)
            )
        if self.words is not None and self.words < 1:
            raise UsageError("--words must be at least 1")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise UsageError("--max-tokens must be at least 1")
        if self.method not in METHODS:
            raise UsageError(
                f"unknown method `{self.method}`", hint="choose one of: " + ", ".join(METHODS)
            )

    @property
    def target_words(self) -> int:
        """The length asked for, where it does not depend on the document (``medium``
        stands in for a length sized to the document)."""
        if self.words is not None:
            return self.words
        if self.format == "tldr":
            return TLDR_WORDS
        return LENGTHS[self.length or "medium"]

    def target_for(self, text: str) -> int:
        """The summary's length in words for ``text``: --words, --length, a TL;DR's, or
        else sized to the document (:func:`auto_words`)."""
        if self.words is not None or self.length is not None or self.format == "tldr":
            return self.target_words
        return auto_words(text)


SELECT_MAX_RATIO = 8.0  # "auto" selects up to this many contexts' worth of document


# The most one step reads in process on a CPU alone. Reading slows as the context fills
# (attention), and the default 1.5B at its default context of 8,192 tokens took 147 to
# 159 s to summarize a 6,481-token report in one pass on 2 cores, past the two minutes
# a writer should wait; selected within 4,096 tokens, the same report took 70 s (both
# from the command line, load included).
# On the tune half (0.5B, ctx 8192) the two read as well: ROUGE-2 0.104 read whole,
# 0.096 selected, each ahead on two of the four long articles (docs/summarize.md).
CPU_READ_TOKENS = 4096


def read_limit(info: ModelInfo) -> int:
    """The most tokens one step of a summary reads: the context, or on an in-process
    model with no layer on a GPU, at most CPU_READ_TOKENS of it."""
    if info.backend == "llama.cpp" and info.gpu_layers == 0:
        return min(info.n_ctx, CPU_READ_TOKENS)
    return info.n_ctx


def auto_method(tokens: int, n_ctx: int) -> str:
    """The method "auto" picks for a document of ``tokens`` that does not fit ``n_ctx``:
    select, then write, while one context holds a fair share of the document; notes on
    every part beyond that, where a selection would leave out too much."""
    return "select" if tokens <= SELECT_MAX_RATIO * n_ctx else "map-reduce"


def auto_words(text: str) -> int:
    """A summary length sized to the document: AUTO_FACTOR·√words, AUTO_MIN to AUTO_MAX,
    and never more than a third of the document."""
    n = doc_words(text)
    words = min(max(round(AUTO_FACTOR * n**0.5), AUTO_MIN), AUTO_MAX)
    return min(words, max(1, round(n / 3)))


def floor_share(n_params: int) -> float:
    """The share of its length a summary may not end before, for a model of
    ``n_params`` parameters (0: not known)."""
    return FLOOR_SHARE if 0 < n_params < SMALL_MODEL_PARAMS else LARGER_FLOOR_SHARE


def summary_max_tokens(opts: SummaryOptions | int) -> int:
    """A finite budget for a summary of the given length (or options): room for
    SUMMARY_ROOM times its length, so a summary that runs long is stopped and trimmed
    back to its last complete sentence rather than allowed to double."""
    if isinstance(opts, SummaryOptions):
        if opts.max_tokens is not None:
            return opts.max_tokens
        opts = opts.target_words
    return max(96, round(opts * TOKENS_PER_WORD * SUMMARY_ROOM) + 48)


def notes_max_tokens(n_ctx: int) -> int:
    """The token budget of one part's notes: an eighth of the context, 96 to 512."""
    return min(max(n_ctx // 8, 96), 512)


def notes_words(share: float, target_words: int) -> int:
    """Words to ask of the notes on a part that holds ``share`` of the document: its
    share of the summary, times NOTES_FACTOR, and at least MIN_NOTES_WORDS. Notes in
    proportion keep every part's weight in the final step, which matters most with a
    small model that copies its notes rather than condensing them."""
    return max(MIN_NOTES_WORDS, round(NOTES_FACTOR * target_words * share))


def notes_cap(words: int, notes_tokens: int) -> int:
    """The token limit for notes of ``words`` words: NOTES_ROOM times their length (a
    small model overshoots what it is asked for), within the notes' budget."""
    return min(notes_tokens, round(NOTES_ROOM * TOKENS_PER_WORD * words) + NOTES_SLACK)


def ask_words(cap: int) -> int:
    """The length to ask of notes whose token limit is ``cap`` (the inverse of
    :func:`notes_cap`), so a note that keeps to its length ends well before its limit."""
    return max(MIN_NOTES_WORDS, round((cap - NOTES_SLACK) / (NOTES_ROOM * TOKENS_PER_WORD)))


@dataclass
class Plan:
    text: str
    title: str | None  # the file name, shown to the model; None for stdin
    tokens: int  # tokens in the document (engine.count)
    chunks: list[Chunk]  # the parts of the map pass; one part when single
    single: bool  # the whole document fits one step
    lang: str | None  # the summary's language (None: the document's, undetected)
    doc_lang: str | None  # the document's language, detected
    chunk_budget: int  # most tokens per part (0 when single)
    notes_tokens: int  # token budget of each notes step
    summary_tokens: int  # token budget of the summary
    target_words: int = 150  # the summary's length (CJK: about 1.7 characters a word)
    method: str = "single"  # single, select, refine or map-reduce
    selection: Selection | None = None  # what "select" kept of the document
    figures: list[str] = field(default_factory=list)  # key sentences shown with the text


@dataclass
class Note:
    label: str  # "Part 2 of 5 (Results)", "Parts 1-4 of 5": for the writer
    text: str
    first: int  # first and last part it covers (1-based)
    last: int


_FACT = re.compile(
    r"\d[\d,.:%/]*|[一二三四五六七八九十百千万零〇两]{2,}|(?<=[a-z,;] )[A-Z][\w&'-]+"
)


def _fact_score(sentence: str) -> int:
    """How many names, numbers and dates a sentence carries (roughly)."""
    return len(_FACT.findall(sentence))


def _copied(sentence: str, source: str) -> bool:
    """Whether most of ``sentence`` is found word for word in ``source``."""
    from quill.writing.metrics import copy_rate  # metrics imports this package

    return bool(source) and copy_rate(sentence, source) >= 0.5


def fit_notes(
    notes: list[Note], shares: list[float], words: float, sources: list[str] | None = None
) -> list[Note]:
    """``notes`` cut back to whole sentences, to about ``words`` words in all: each to its
    part's share of them (``shares``), keeping the sentences that carry the most names,
    numbers and dates (in their order), and never less than one sentence.

    A small model's final step keeps close to the notes it reads: notes of about the
    summary's length make a summary of that length, with every part in it. Notes within
    their share are left as they are. Between sentences that carry as many, one in the
    model's own words goes before one copied from ``sources`` (the text of each note's
    parts)."""
    out: list[Note] = []
    for i, (note, share) in enumerate(zip(notes, shares, strict=True)):
        text, allow = note.text.strip(), words * share
        if doc_words(text) <= allow:
            out.append(note)
            continue
        cuts = [0, *sentence_ends(text), len(text)]
        sentences = [text[a:b] for a, b in itertools.pairwise(cuts) if text[a:b].strip()]
        source = sources[i] if sources is not None else ""
        ranked = sorted(
            range(len(sentences)),
            key=lambda k: (-_fact_score(sentences[k]), _copied(sentences[k], source), k),
        )
        keep: set[int] = set()
        used = 0.0
        for k in ranked:
            size = doc_words(sentences[k])
            if keep and used + size > allow:
                continue
            keep.add(k)
            used += size
        kept = "".join(sentences[k] for k in sorted(keep)).strip()
        out.append(Note(note.label, kept, note.first, note.last))
    return out


@dataclass(frozen=True)
class PassStarted:
    kind: StepKind
    number: int  # 1 for the map pass, 2… for combine passes
    steps: int  # steps in this pass
    tokens: int  # input tokens of the pass (document tokens for the map pass)


@dataclass(frozen=True)
class StepDone:
    kind: StepKind
    done: int  # steps of this pass finished so far
    steps: int
    tokens: int  # input tokens of the step just done
    stats: Stats
    finish: Finish


Event = PassStarted | StepDone


@dataclass
class Job:
    """One document's summary in progress: what is done so far, for reports and for
    keeping partial work when the run is interrupted."""

    plan: Plan
    map_notes: list[Note | None] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # the notes the final step reads
    passes: int = 0  # passes begun, the final one included once it is ready
    stats: list[Stats] = field(default_factory=list)  # every model call, in order
    warnings: list[str] = field(default_factory=list)
    truncated: list[tuple[str, int]] = field(default_factory=list)  # notes cut at a limit
    trimmed: list[str] = field(default_factory=list)  # of those, trimmed to a sentence end
    current: tuple[StepKind, int, int] | None = None  # step running: kind, number, of
    interrupted: bool = False  # ``stop`` ended the run before the final step was ready
    messages: list[Message] | None = None  # the final step's prompt, once ready
    params: Sampling | None = None

    def record(self, stats: Stats) -> None:
        self.stats.append(stats)

    @property
    def total(self) -> Stats:
        """All model calls together."""
        return total_stats(self.stats)

    def partial_notes(self) -> str:
        """The notes finished so far, in document order, as Markdown."""
        done = [n for n in self.map_notes if n is not None]
        return "\n\n".join(f"### {n.label}\n\n{n.text.strip()}" for n in done)

    def problems(self) -> list[str]:
        out = list(self.warnings)
        if self.truncated:
            n = len(self.truncated)
            which = "; ".join(f"{label}: {cap} tokens" for label, cap in self.truncated[:4])
            those = "those parts" if n > 1 else "that part"
            if len(self.trimmed) == n:
                how = f"{'they were' if n > 1 else 'it was'} trimmed back to the last complete"
                how += f" sentence, so the summary may miss the end of {those}"
            elif self.trimmed:
                how = (
                    f"{len(self.trimmed)} of them trimmed back to the last complete sentence; the "
                    f"summary may miss the end of {those}"
                )
            else:
                how = f"the summary may miss the end of {those}"
            out.append(
                f"the notes on {n} part{'s' if n > 1 else ''} reached their token limit "
                f"({which}{'; …' if n > 4 else ''}); {how}"
            )
        return out


def total_stats(stats: list[Stats]) -> Stats:
    """Token counts and times summed over model calls; the time to first token is the
    last call's (the one whose text a writer sees arrive)."""
    out = Stats()
    for s in stats:
        out.prompt_tokens += s.prompt_tokens
        out.evaluated_tokens += s.evaluated_tokens
        out.generated_tokens += s.generated_tokens
        out.prompt_s += s.prompt_s
        out.gen_s += s.gen_s
    if stats:
        out.ttft_s = stats[-1].ttft_s
    return out


@dataclass
class Summary:
    text: str
    finish: Finish
    job: Job
    note: str = ""
