"""The writing figures a model earns on quill's evaluation set (`quill bench --writing`).

Drafts: ``samples`` drafts of the first brief (seeds ``seed``, ``seed + 1``, …) for
diversity, and in the full set one draft of every other brief. Summaries: one document
in the quick set, all four in the full set, with quill's own summarize at the engine's
context. Every text is scored with :mod:`quill.writing.metrics`. Nothing here prints;
progress goes to a callback.

:func:`generate_text` is the one function that turns a prompt into text for the
writing benchmarks (this command and ``benchmarks/writing_eval.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from statistics import mean
from typing import Any

from quill import evalset
from quill.engine.base import Engine, Finish, Message, Piece, Sampling, Stats
from quill.writing import draft as drafting
from quill.writing import metrics
from quill.writing.presets import sampling
from quill.writing.summarize import SummaryOptions, summarize

SCHEMA = "quill.bench.writing/1"
QUICK_DOCS = ("quenby-water",)
QUICK_EXTRA_BRIEFS = ("autumn-poem",)  # one Chinese draft beside the samples
SUMMARY_PRESET = "precise"  # as `quill summarize`
DRAFT_PRESET = "balanced"  # as `quill draft`

Filter = Callable[[Iterator[Piece]], Iterator[Piece]]
Progress = Callable[[str], None]


def generate_text(
    engine: Engine,
    messages: list[Message],
    params: Sampling,
    filters: Sequence[Filter] = (),
) -> tuple[str, Finish, Stats]:
    """Text, finish reason and stats of one generation, on the path every command uses
    (:class:`quill.engine.generation.Generation`: loop guard, filters, loop cut)."""
    from quill.engine.generation import generate

    gen = generate(engine, messages, params, transforms=filters)
    gen.text()
    result = gen.close()
    return result.text.strip(), result.finish, result.stats


# -- options and results ----------------------------------------------------------------


@dataclass(frozen=True)
class BenchOptions:
    samples: int = 4  # drafts of the first brief, for diversity
    seed: int = 0
    full: bool = False  # every brief and every document (else the quick subset)
    words: int = SummaryOptions().target_words  # summary length asked for


@dataclass
class DraftScore:
    brief: str
    seed: int
    finish: str
    tokens: int
    seconds: float
    repeated_4gram_rate: float
    leaked: list[str]
    text: str


@dataclass
class SummaryScore:
    document: str
    lang: str
    finish: str
    seconds: float
    parts: int
    length_ratio: float
    length_ok: bool
    copy_rate: float
    complete: bool
    facts_carried: float
    heading_echo: float
    leaked: list[str]
    text: str


@dataclass
class WritingReport:
    model: dict[str, Any]
    options: BenchOptions
    drafts: list[DraftScore] = field(default_factory=list)
    summaries: list[SummaryScore] = field(default_factory=list)
    seconds: float = 0.0

    # -- figures ------------------------------------------------------------------

    def figures(self) -> dict[str, dict[str, Any]]:
        """The headline figures (None where nothing was measured)."""
        d, s = self.drafts, self.summaries
        first = [x.text for x in d if x.brief == d[0].brief] if d else []
        texts = [x.text for x in d] + [x.text for x in s]
        leaks = [p for x in d for p in x.leaked] + [p for x in s for p in x.leaked]
        leaky = sum(bool(x.leaked) for x in d) + sum(bool(x.leaked) for x in s)
        return {
            "diversity": {
                "distinct_2": metrics.distinct_n(first, 2) if first else None,
                "samples": len(first),
                "brief": d[0].brief if d else None,
            },
            "stability": {
                "repeated_4gram_rate": _mean([x.repeated_4gram_rate for x in d]),
                "ends_by_itself": _mean([float(x.finish == "stop") for x in d]),
                "loops": _mean([float(x.finish == "loop") for x in d]),
                "drafts": len(d),
            },
            "summary": {
                "length_ratio": _mean([x.length_ratio for x in s]),
                "length_ok": _mean([float(x.length_ok) for x in s]),
                "copy_rate": _mean([x.copy_rate for x in s]),
                "complete_final_sentence": _mean([float(x.complete) for x in s]),
                "facts_carried": _mean([x.facts_carried for x in s]),
                "documents": len(s),
            },
            "leaks": {
                "rate": leaky / len(texts) if texts else None,
                "texts": len(texts),
                "phrases": leaks,
            },
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """(figure, value, what it means) for a table."""
        f = self.figures()
        div, stab, summ, leak = f["diversity"], f["stability"], f["summary"], f["leaks"]
        return [
            (
                "diversity: distinct-2",
                _num(div["distinct_2"]),
                f"{div['samples']} samples of one brief; higher is more varied",
            ),
            (
                "stability: repeated 4-grams",
                _num(stab["repeated_4gram_rate"]),
                "share of a draft's 4-grams seen before in it; lower is better",
            ),
            (
                "stability: ends by itself",
                _num(stab["ends_by_itself"]),
                "share of drafts not cut at the token limit or in a loop",
            ),
            (
                "summary: length / asked",
                _num(summ["length_ratio"]),
                f"1.00 is on target; asked {self.options.words} words",
            ),
            (
                "summary: length within ±35%",
                _num(summ["length_ok"]),
                "share of summaries",
            ),
            (
                "summary: copy rate",
                _num(summ["copy_rate"]),
                "share of 8-word (12-character) spans copied from the source",
            ),
            (
                "summary: complete final sentence",
                _num(summ["complete_final_sentence"]),
                "share of summaries",
            ),
            (
                "summary: facts carried",
                _num(summ["facts_carried"]),
                "share of the document's planted facts",
            ),
            (
                "leaked instructions",
                _num(leak["rate"]),
                f"share of {leak['texts']} texts that talk about their brief",
            ),
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "options": asdict(self.options),
            "seconds": round(self.seconds, 2),
            "figures": self.figures(),
            "drafts": [asdict(x) for x in self.drafts],
            "summaries": [asdict(x) for x in self.summaries],
        }


def _mean(xs: list[float]) -> float | None:
    return mean(xs) if xs else None


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


# -- running ----------------------------------------------------------------------------


def plan_briefs(opts: BenchOptions) -> list[tuple[evalset.Brief, int]]:
    """(brief, seed) for every draft to write: the first brief ``samples`` times, then
    one Chinese brief (quick) or every other brief (full), once each."""
    all_ = evalset.briefs()
    first = all_[0]
    out = [(first, opts.seed + k) for k in range(opts.samples)]
    rest = all_[1:] if opts.full else [b for b in all_ if b.id in QUICK_EXTRA_BRIEFS]
    out += [(b, opts.seed) for b in rest]
    return out


def plan_documents(opts: BenchOptions) -> list[evalset.Document]:
    return evalset.documents() if opts.full else evalset.documents(list(QUICK_DOCS))


def run_draft(engine: Engine, brief: evalset.Brief, seed: int) -> DraftScore:
    budget = drafting.max_tokens_for(brief.words)
    params = sampling(DRAFT_PRESET, budget, seed=seed, end_after=brief.words or 0)
    messages = drafting.build_messages(
        brief.brief, form=brief.form, tone=brief.tone, words=brief.words
    )
    t0 = time.perf_counter()
    text, finish, stats = generate_text(
        engine, messages, params, drafting.filters(messages, params.max_tokens)
    )
    return DraftScore(
        brief=brief.id,
        seed=seed,
        finish=finish,
        tokens=stats.generated_tokens,
        seconds=round(time.perf_counter() - t0, 2),
        repeated_4gram_rate=metrics.repeated_ngram_rate(text, 4),
        leaked=metrics.leaked_phrases(text),
        text=text,
    )


def run_summary(engine: Engine, doc: evalset.Document, opts: BenchOptions) -> SummaryScore:
    base = sampling(SUMMARY_PRESET, 1, seed=opts.seed)
    t0 = time.perf_counter()
    s = summarize(engine, doc.text, SummaryOptions(words=opts.words), base, title=doc.file_name)
    text = s.text
    return SummaryScore(
        document=doc.name,
        lang=doc.lang,
        finish=s.finish,
        seconds=round(time.perf_counter() - t0, 2),
        parts=len(s.job.plan.chunks),
        length_ratio=metrics.length_ratio(text, opts.words, doc.lang) if text else 0.0,
        length_ok=bool(text) and metrics.length_ok(text, opts.words, doc.lang),
        copy_rate=metrics.copy_rate(text, doc.text),
        complete=metrics.ends_complete(text),
        facts_carried=metrics.facts_carried(text, [f.forms for f in doc.facts]),
        heading_echo=metrics.heading_echo(text, doc.text),
        leaked=metrics.leaked_phrases(text),
        text=text,
    )


def run(engine: Engine, opts: BenchOptions, progress: Progress | None = None) -> WritingReport:
    """Write every draft and summary of the set and score them."""
    say = progress or (lambda _msg: None)
    info = engine.info
    report = WritingReport(
        model={"name": info.name, "path": info.path, "n_ctx": info.n_ctx},
        options=opts,
    )
    t0 = time.perf_counter()
    briefs = plan_briefs(opts)
    docs = plan_documents(opts)
    total = len(briefs) + len(docs)
    for k, (brief, seed) in enumerate(briefs, 1):
        say(f"[{k}/{total}] draft {brief.id} (seed {seed})")
        report.drafts.append(run_draft(engine, brief, seed))
    for k, doc in enumerate(docs, len(briefs) + 1):
        say(f"[{k}/{total}] summary of {doc.file_name}")
        report.summaries.append(run_summary(engine, doc, opts))
    report.seconds = time.perf_counter() - t0
    return report
