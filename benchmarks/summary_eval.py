"""Summaries of long documents: quill's reading methods against the one-pass baseline.

For each model, seed and document of quill's evaluation set (``quill/evalset``), in one
run:

- ``select``, ``refine``, ``map-reduce`` and ``auto``: ``quill.writing.summarize`` with
  that ``--method``, at the length ``quill summarize`` picks (or ``--words``).
- ``baseline``: what a writer would do without quill: the document cut to what fits one
  context beside the request, followed by the plain request ("Summarize this in about
  N words.", in the document's language), in one pass, same model, sampling and length.
- ``cut``: quill's own one-step prompt, sampling and filters on the same cut document:
  only the reading differs from ``select``.

Scored against each document's own reference abstract and planted facts:

- rouge2: ROUGE-2 F1 over words (English) or characters (Chinese) against the abstract;
- facts_fair: planted facts carried, divided by length/asked where a summary runs over;
- copy: the share of the summary copied in long spans from the document;
- listy: the share of lines that are list items or headings (a summary is prose);
- repeats: lines that appear twice; complete: ends with a complete sentence.

Prints one table per model (mean over seeds, ± the spread between seeds) on stdout,
progress on stderr; ``--json FILE`` keeps every text and score.

    .venv/bin/python benchmarks/summary_eval.py --split tune --ctx 4096
    .venv/bin/python benchmarks/summary_eval.py --model qwen2.5-coder-1.5b --seeds 0,1 \\
        --split report --systems auto,baseline --json run.json
    .venv/bin/python benchmarks/summary_eval.py --report benchmarks/runs/summary-report.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from writing_eval import cut_to_tokens  # noqa: E402  (this folder: run as a script)

from quill import evalset  # noqa: E402
from quill.engine.base import Engine, Message, Sampling  # noqa: E402
from quill.engine.length import CJK_CHARS_PER_WORD  # noqa: E402
from quill.writing import metrics  # noqa: E402
from quill.writing.benchwriting import generate_text  # noqa: E402
from quill.writing.language import is_cjk  # noqa: E402
from quill.writing.presets import sampling  # noqa: E402
from quill.writing.summarize import Summarizer, SummaryOptions  # noqa: E402
from quill.writing.summarycheck import list_share  # noqa: E402

SYSTEMS = ("auto", "select", "refine", "map-reduce", "baseline", "cut")
PRESET = "precise"  # what `quill summarize` uses
KEYS = ("rouge2", "facts_fair", "facts", "copy", "length", "listy", "repeats", "complete")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- scores -------------------------------------------------------------------------


def rouge_n(summary: str, reference: str, n: int = 2) -> float:
    """ROUGE-N F1 over units (case-folded words, single CJK characters)."""
    a = Counter(metrics.ngrams(metrics.units(summary), n))
    b = Counter(metrics.ngrams(metrics.units(reference), n))
    if not a or not b:
        return 0.0
    overlap = sum((a & b).values())
    p, r = overlap / sum(a.values()), overlap / sum(b.values())
    return 2 * p * r / (p + r) if p + r else 0.0


def form(text: str) -> dict[str, float]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return {"listy": 0.0, "repeats": 0.0}
    listy = list_share(text)  # the share the summary check fails a prose summary on
    counts = Counter(lines)
    repeats = sum(c - 1 for c in counts.values() if c > 1) / len(lines)
    return {"listy": listy, "repeats": repeats}


def score(text: str, doc: evalset.Document, words: int) -> dict[str, Any]:
    found = metrics.facts_found(text, [f.forms for f in doc.facts])
    share = sum(found) / len(found) if found else 0.0
    ratio = metrics.length_ratio(text, words, doc.lang) if text else 0.0
    out: dict[str, Any] = {
        "rouge2": rouge_n(text, doc.abstract),
        "facts": share,
        "facts_fair": metrics.at_asked_length(share, ratio),
        "copy": metrics.copy_rate(text, doc.text),
        "length": ratio,
        "complete": float(metrics.ends_complete(text)),
    }
    out.update(form(text))
    return out


# -- systems ------------------------------------------------------------------------


def plain_request(words: int, lang: str) -> str:
    if is_cjk(lang):
        return f"请用大约{round(words * CJK_CHARS_PER_WORD)}字总结这篇文章。"
    return f"Summarize this in about {words} words."


def baseline(engine: Engine, doc: evalset.Document, words: int, base: Sampling) -> dict[str, Any]:
    t0 = time.perf_counter()
    limit = Summarizer(engine, SummaryOptions(words=words), base).plan(doc.text).summary_tokens
    request = plain_request(words, doc.lang)
    overhead = engine.count_messages([Message("user", request + "\n\n")])
    kept = cut_to_tokens(engine, doc.text, engine.info.n_ctx - overhead - limit - 16)
    messages = [Message("user", f"{kept}\n\n{request}")]  # as `cat doc | llm "…"` sends it
    text, finish, stats = generate_text(engine, messages, base.with_(max_tokens=limit), [])
    return {
        "text": text.strip(),
        "finish": finish,
        "seconds": time.perf_counter() - t0,
        "read": engine.count(kept) / max(engine.count(doc.text), 1),
        "generated": stats.generated_tokens,
    }


def cut_summary(
    engine: Engine, doc: evalset.Document, words: int | None, base: Sampling
) -> dict[str, Any]:
    """quill's own one-step prompt, sampling and filters on the document cut to fit one
    context: only the reading differs from ``select``."""
    t0 = time.perf_counter()
    s = Summarizer(engine, SummaryOptions(words=words, method="select"), base)
    plan = s.plan(doc.text, doc.file_name)
    kept = cut_to_tokens(engine, doc.text, plan.chunk_budget or engine.info.n_ctx)
    job = s.start(plan)
    job.messages = s.single_messages(plan, kept)
    job.params = base.with_(max_tokens=plan.summary_tokens)
    result = s.finish(job)
    return {
        "text": result.text,
        "finish": result.finish,
        "seconds": time.perf_counter() - t0,
        "read": engine.count(kept) / max(plan.tokens, 1),
        "generated": result.stats.generated_tokens,
    }


def quill_summary(
    engine: Engine,
    doc: evalset.Document,
    method: str,
    words: int | None,
    base: Sampling,
    figures: bool = True,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    s = Summarizer(engine, SummaryOptions(words=words, method=method, figures=figures), base)
    job = s.start(s.plan(doc.text, doc.file_name))
    for _ in s.run(job):
        pass
    result = s.finish(job)
    sel = job.plan.selection
    return {
        "text": result.text,
        "finish": result.finish,
        "seconds": time.perf_counter() - t0,
        "method": job.plan.method,
        "read": sel.tokens / max(sel.total_tokens, 1) if sel is not None else 1.0,
        "calls": len(job.stats),
        "generated": job.total.generated_tokens,
    }


# -- the run ------------------------------------------------------------------------


def save(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    """The run so far, as JSON (written after every summary, so a long run keeps what
    it has done)."""
    if args.json:
        payload = {"args": {k: v for k, v in vars(args).items()}, "models": results}
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")


def run_model(
    spec: str | None, args: argparse.Namespace, results: list[dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    from quill.env import EngineOptions, Environment

    env = Environment()
    engine = env.engine(EngineOptions(spec, args.ctx, "auto", args.threads))
    info = engine.info
    name = f"{info.name} (ctx {info.n_ctx}, {info.threads} threads)"
    log(f"model {name}")
    recs: list[dict[str, Any]] = []
    results.append({"model": name, "records": recs})
    docs = evalset.documents(args.docs)
    if args.split != "all":
        docs = [d for d in docs if getattr(d, "split", "tune") == args.split]
    for seed in args.seed_list:
        base = sampling(PRESET, 1, seed=seed)
        for doc in docs:
            words = args.words or SummaryOptions().target_for(doc.text)
            for system in args.system_list:
                if system == "baseline":
                    r = baseline(engine, doc, words, base)
                elif system == "cut":
                    r = cut_summary(engine, doc, args.words, base)
                else:
                    r = quill_summary(engine, doc, system, args.words, base, not args.no_figures)
                r.update(score(r["text"], doc, words))
                r.update(system=system, seed=seed, doc=doc.name, lang=doc.lang, words=words)
                recs.append(r)
                save(args, results)
                log(
                    f"  {doc.name} seed {seed} {system:10} {r['seconds']:5.0f} s  "
                    f"rouge2 {r['rouge2']:.3f}  facts {r['facts_fair']:.2f}  "
                    f"len {r['length']:.2f}  copy {r['copy']:.2f}  listy {r['listy']:.2f}"
                )
    env.close()
    return name, recs


def _stat(recs: list[dict[str, Any]], key: str) -> str:
    seeds = sorted({r["seed"] for r in recs})
    per = [mean(r[key] for r in recs if r["seed"] == s) for s in seeds]
    if not per:
        return "-"
    spread = f" ±{max(per) - min(per):.2f}" if len(per) > 1 else ""
    return f"{mean(per):.3f}{spread}"


def table(name: str, recs: list[dict[str, Any]], systems: list[str]) -> str:
    head = ["system", *KEYS, "seconds"]
    rows = [head, ["---"] * len(head)]
    for system in systems:
        mine = [r for r in recs if r["system"] == system]
        if mine:
            rows.append([system, *(_stat(mine, k) for k in (*KEYS, "seconds"))])
    lines = [f"### {name}", ""] + ["| " + " | ".join(r) + " |" for r in rows]
    docs = sorted({r["doc"] for r in recs})
    lines += ["", "rouge2 by document:", ""]
    for d in docs:
        cells = []
        for system in systems:
            vals = [r["rouge2"] for r in recs if r["doc"] == d and r["system"] == system]
            if vals:
                cells.append(f"{system} {mean(vals):.3f}")
        lines.append(f"- {d}: " + ", ".join(cells))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", metavar="PATH|NAME", help="repeatable")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--split", default="all", choices=("tune", "report", "all"))
    ap.add_argument("--docs", default=None, help="comma-separated document names")
    ap.add_argument("--systems", default="select,refine,map-reduce,baseline")
    ap.add_argument("--words", type=int, default=None, help="default: quill's own length")
    ap.add_argument(
        "--no-figures",
        action="store_true",
        help="quill's summaries without the document's key figures shown (to compare)",
    )
    ap.add_argument("--json", default=None, metavar="FILE")
    ap.add_argument(
        "--report", nargs="+", metavar="FILE", help="print the tables of saved --json runs"
    )
    args = ap.parse_args(argv)
    if args.report:
        for path in args.report:
            saved = json.loads(Path(path).read_text(encoding="utf-8"))
            systems = saved["args"]["system_list"]
            for m in saved["models"]:
                print(table(m["model"], m["records"], systems), flush=True)
        return
    args.seed_list = [int(s) for s in args.seeds.split(",")]
    args.system_list = args.systems.split(",")
    unknown = [s for s in args.system_list if s not in SYSTEMS]
    if unknown:
        ap.error(f"unknown systems: {', '.join(unknown)}")
    args.docs = args.docs.split(",") if args.docs else None
    results: list[dict[str, Any]] = []
    for spec in args.model or [None]:
        name, recs = run_model(spec, args, results)
        print(table(name, recs, args.system_list), flush=True)
    save(args, results)


if __name__ == "__main__":
    main()
