"""quill's writing, side by side with a plain baseline on the same model, in one run.

On quill's own evaluation set (quill/evalset: four long documents in English and
Chinese with planted facts, and draft briefs), for each model given and each seed:

- Summaries. quill: ``quill.writing.summarize.Summarizer``, run as ``summarize()`` runs
  it (map-reduce when the document does not fit the context). Baseline: the document
  cut by tokens to what fits one context beside the prompt and the summary, summarized
  in one pass by the Summarizer's own final step (its one-pass prompt, sampling and
  stream filter), so only the reading differs.
  Scored: facts carried (all, and those in the last 20% of the document), copy rate,
  length against ``--words``, complete final sentence, heading echo, leaked phrases,
  wall time.
- Drafts. quill: ``quill.writing.draft.build_messages`` (system prompt, form, length,
  language rules) and quill's stream filter. Baseline: the brief alone as the user
  message, no system prompt, same sampling and token budget. Scored: leaked-instruction
  rate, share that ends by itself (not at the token limit or in a loop), repeated
  4-gram rate, distinct-2 across the drafts, length where the brief sets ``words``.

Prints Markdown tables (quill, baseline, and their difference or ratio) on stdout and
progress on stderr; ``--json FILE`` keeps every text and score. With several seeds, each
figure is the mean over seeds, and ``±`` gives the spread (largest minus smallest
per-seed mean).

    .venv/bin/python benchmarks/writing_eval.py                      # everything
    .venv/bin/python benchmarks/writing_eval.py --quick --seeds 0,1  # a subset, 2 seeds
    python benchmarks/writing_eval.py --model some.gguf --model other --ctx 4096 \\
        --docs quenby-water --briefs linen-shirt,autumn-poem --json out.json
    python benchmarks/writing_eval.py --rescore out.json   # new metrics, same texts
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quill import evalset  # noqa: E402
from quill.engine.base import Engine, Message, Sampling  # noqa: E402
from quill.writing import draft as drafting  # noqa: E402
from quill.writing import metrics  # noqa: E402
from quill.writing.benchwriting import generate_text  # noqa: E402
from quill.writing.presets import sampling  # noqa: E402
from quill.writing.summarize import Summarizer, SummaryOptions  # noqa: E402
from quill.writing.summary_job import StepDone  # noqa: E402

QUICK_DOCS = ["quenby-water", "songfeng-teahouse"]
QUICK_BRIEFS = ["linen-shirt", "tea-shop-email", "autumn-poem", "bike-product-zh"]
LATE = 0.8  # a fact at or after this position is "late": beyond a 2,048 context's reach
SUMMARY_PRESET = "precise"  # what `quill summarize` uses
DRAFT_PRESET = "balanced"  # what `quill draft` uses


# Generation: one function turns (engine, messages, params) into text + finish for both
# writing benchmarks, quill.writing.benchwriting.generate_text (guarded by the loop
# detector); the stream filters of `quill draft` come from quill.writing.draft.filters().
generate = generate_text


# -- summaries ------------------------------------------------------------------------


def cut_to_tokens(engine: Engine, text: str, budget: int) -> str:
    """The longest prefix of ``text`` within ``budget`` tokens, backed off to the last
    line or sentence end when one is near (within the last 10%)."""
    if engine.count(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if engine.count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    floor = int(len(cut) * 0.9)
    best = max(cut.rfind(m) for m in ("\n", ". ", "。", "！", "？"))
    if best >= floor:
        cut = cut[: best + 1]
    return cut


def score_summary(text: str, doc: evalset.Document, words: int) -> dict[str, Any]:
    found = metrics.facts_found(text, [f.forms for f in doc.facts])
    late = [ok for ok, f in zip(found, doc.facts, strict=True) if f.position >= LATE]
    share = sum(found) / len(found) if found else 0.0
    ratio = metrics.length_ratio(text, words, doc.lang) if text else 0.0
    return {
        "facts": share,
        "facts_fair": metrics.at_asked_length(share, ratio),
        "late_facts": sum(late) / len(late) if late else 0.0,
        "facts_missed": [f.id for ok, f in zip(found, doc.facts, strict=True) if not ok],
        "copy": metrics.copy_rate(text, doc.text),
        "length": ratio,
        "length_ok": float(bool(text) and metrics.length_ok(text, words, doc.lang)),
        "complete": float(metrics.ends_complete(text)),
        "echo": metrics.heading_echo(text, doc.text),
        "leaks": metrics.leaked_phrases(text),
        "leaked": float(bool(metrics.leaked_phrases(text))),
    }


def quill_summary(
    engine: Engine, doc: evalset.Document, opts: SummaryOptions, base: Sampling
) -> dict[str, Any]:
    """What ``quill.writing.summarize.summarize`` does, step by step, with progress."""
    t0 = time.perf_counter()
    summarizer = Summarizer(engine, opts, base)
    job = summarizer.start(summarizer.plan(doc.text, doc.file_name))
    for ev in summarizer.run(job):
        if isinstance(ev, StepDone):
            log(
                f"    {ev.kind} {ev.done}/{ev.steps}: {ev.stats.generated_tokens} tok ({ev.finish})"
            )
    result = summarizer.finish(job)
    seconds = time.perf_counter() - t0
    return {
        "text": result.text,
        "finish": result.finish,
        "seconds": seconds,
        "calls": len(job.stats),
        "chunks": len(job.plan.chunks),
        "read": 1.0,  # share of the document's tokens the summary was made from
        "tokens": job.plan.tokens,
        "generated": job.total.generated_tokens,
        "evaluated": job.total.evaluated_tokens,
    }


def baseline_summary(
    engine: Engine, doc: evalset.Document, opts: SummaryOptions, base: Sampling
) -> dict[str, Any]:
    t0 = time.perf_counter()
    summarizer = Summarizer(engine, opts, base)
    plan = summarizer.plan(doc.text, doc.file_name)
    overhead = engine.count_messages(summarizer.single_messages(plan, text=""))
    budget = engine.info.n_ctx - overhead - plan.summary_tokens - summarizer.margin
    kept = cut_to_tokens(engine, doc.text, budget)
    # The Summarizer's own final step (its one-pass prompt, sampling and stream filter)
    # on the cut text: only the reading differs from quill's summary.
    job = summarizer.start(plan)
    job.messages = summarizer.single_messages(plan, text=kept)
    job.params = summarizer.base.with_(max_tokens=plan.summary_tokens)
    result = summarizer.finish(job)
    seconds = time.perf_counter() - t0
    return {
        "text": result.text,
        "finish": result.finish,
        "seconds": seconds,
        "calls": 1,
        "chunks": 1,
        "read": engine.count(kept) / max(plan.tokens, 1),
        "tokens": plan.tokens,
        "generated": result.stats.generated_tokens,
        "evaluated": result.stats.evaluated_tokens,
    }


# -- drafts -------------------------------------------------------------------------


def score_draft(text: str, finish: str, brief: evalset.Brief) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "leaks": metrics.leaked_phrases(text) + metrics.shape_talk(text),
        "labels": metrics.shape_labels(text),
        "repeated4": metrics.repeated_ngram_rate(text, 4),
        "by_itself": float(finish == "stop"),
        "complete": float(metrics.ends_complete(text)),
    }
    rec["leaked"] = float(bool(rec["leaks"]))
    rec["labelled"] = float(bool(rec["labels"]))
    if brief.words:
        rec["length"] = metrics.length_ratio(text, brief.words, brief.lang) if text else 0.0
        rec["length_ok"] = float(bool(text) and metrics.length_ok(text, brief.words, brief.lang))
    return rec


def draft_pair(
    engine: Engine, brief: evalset.Brief, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    params = sampling(DRAFT_PRESET, drafting.max_tokens_for(brief.words), seed=seed)
    quill_msgs = drafting.build_messages(
        brief.brief, form=brief.form, tone=brief.tone, words=brief.words
    )
    base_msgs = [Message("user", brief.brief)]
    out = []
    quill_filters = drafting.filters(quill_msgs, params.max_tokens)
    for messages, filters in ((quill_msgs, quill_filters), (base_msgs, [])):
        t0 = time.perf_counter()
        text, finish, stats = generate(engine, messages, params, filters)
        rec: dict[str, Any] = {
            "text": text,
            "finish": finish,
            "seconds": time.perf_counter() - t0,
            "generated": stats.generated_tokens,
            "evaluated": stats.evaluated_tokens,
        }
        rec.update(score_draft(text, finish, brief))
        out.append(rec)
    return out[0], out[1]


def rescore(path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A saved run (``--json``) scored again with the metrics as they are now."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    docs = {d.name: d for d in evalset.documents()}
    briefs = {b.id: b for b in evalset.briefs()}
    for res in payload["models"]:
        for r in res["records"]:
            if r["kind"] == "summary":
                r.update(score_summary(r["text"], docs[r["doc"]], payload["args"]["words"]))
            else:
                r.update(score_draft(r["text"], r["finish"], briefs[r["brief"]]))
    return payload, payload["models"]


# -- aggregation and tables ---------------------------------------------------------


def _per_seed(records: list[dict[str, Any]], key: str) -> list[float]:
    seeds = sorted({r["seed"] for r in records})
    out = []
    for s in seeds:
        vals = [r[key] for r in records if r["seed"] == s and key in r]
        if vals:
            out.append(mean(vals))
    return out


def stat(records: list[dict[str, Any]], key: str) -> tuple[float, float] | None:
    """(mean over seeds of the per-seed mean, spread between seeds)."""
    per = _per_seed(records, key)
    if not per:
        return None
    return mean(per), max(per) - min(per)


def distinct_stat(records: list[dict[str, Any]]) -> tuple[float, float] | None:
    """distinct-2 across all drafts of one seed, then mean and spread over seeds."""
    seeds = sorted({r["seed"] for r in records})
    per = [metrics.distinct_n([r["text"] for r in records if r["seed"] == s], 2) for s in seeds]
    if not per:
        return None
    return mean(per), max(per) - min(per)


def across_seeds_distinct(records: list[dict[str, Any]]) -> float | None:
    """distinct-2 across the seeds' drafts of each brief, averaged over briefs."""
    briefs = sorted({r["brief"] for r in records})
    vals = []
    for b in briefs:
        texts = [r["text"] for r in records if r["brief"] == b]
        if len(texts) > 1:
            vals.append(metrics.distinct_n(texts, 2))
    return mean(vals) if vals else None


def fmt(v: tuple[float, float] | float | None, digits: int = 2, spread: bool = False) -> str:
    if v is None:
        return "-"
    if isinstance(v, tuple):
        m, s = v
        return f"{m:.{digits}f}" + (f" ±{s:.{digits}f}" if spread else "")
    return f"{v:.{digits}f}"


def _diff(a: tuple[float, float] | None, b: tuple[float, float] | None, ratio: bool) -> str:
    if a is None or b is None:
        return "-"
    if ratio:
        return f"×{a[0] / b[0]:.2f}" if b[0] else "-"
    return f"{a[0] - b[0]:+.2f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


SUMMARY_FIGURES = [
    ("facts carried", "facts", False, "higher is better"),
    ("facts at the asked length", "facts_fair", False, "facts / (length / asked) when over"),
    ("late facts carried (last 20%)", "late_facts", False, "higher is better"),
    ("copy rate (8-word / 12-char spans)", "copy", False, "lower is better"),
    ("length / asked", "length", False, "1.00 is on target"),
    ("length within ±35%", "length_ok", False, "share"),
    ("complete final sentence", "complete", False, "share"),
    ("heading echo", "echo", False, "lower is better"),
    ("leaked phrases", "leaked", False, "share; lower is better"),
    ("document read", "read", False, "share of its tokens"),
    ("wall time (s)", "seconds", True, "ratio quill / baseline"),
]
DRAFT_FIGURES = [
    ("leaked-instruction rate", "leaked", False, "lower is better"),
    ("shape labels ('Headline:', '正文：')", "labelled", False, "lower is better"),
    ("ends by itself", "by_itself", False, "not at the limit or in a loop"),
    ("complete final sentence", "complete", False, "share"),
    ("repeated 4-gram rate", "repeated4", False, "lower is better"),
    ("length within ±35% (briefs with words)", "length_ok", False, "baseline is not told"),
    ("tokens generated", "generated", True, "ratio quill / baseline"),
    ("wall time (s)", "seconds", True, "ratio quill / baseline"),
]


def report(model: str, recs: list[dict[str, Any]], several: bool) -> str:
    out = [f"## {model}", ""]
    sums = [r for r in recs if r["kind"] == "summary"]
    if sums:
        q = [r for r in sums if r["system"] == "quill"]
        b = [r for r in sums if r["system"] == "baseline"]
        rows = []
        for label, key, ratio, note in SUMMARY_FIGURES:
            qa, ba = stat(q, key), stat(b, key)
            rows.append([label, fmt(qa, spread=several), fmt(ba, spread=several)])
            rows[-1] += [_diff(qa, ba, ratio), note]
        n_docs = len({r["doc"] for r in sums})
        out += [f"### Summaries ({n_docs} documents, seeds {seeds_of(sums)})", ""]
        out += [table(rows, ["figure", "quill", "baseline", "diff", "note"]), ""]
        rows = []
        for r in sorted(sums, key=lambda r: (r["doc"], r["seed"], r["system"] != "quill")):
            rows.append(
                [
                    r["doc"],
                    str(r["seed"]),
                    r["system"],
                    f"{r['facts']:.2f}",
                    f"{r['late_facts']:.2f}",
                    f"{r['copy']:.2f}",
                    f"{r['length']:.2f}",
                    "yes" if r["complete"] else "no",
                    f"{r['echo']:.2f}",
                    f"{r['read']:.2f}",
                    str(r["chunks"]),
                    r["finish"],
                    f"{r['seconds']:.0f}",
                ]
            )
        header = ["document", "seed", "system", "facts", "late", "copy", "length"]
        header += ["complete", "echo", "read", "parts", "finish", "s"]
        out += [table(rows, header), ""]
    drafts = [r for r in recs if r["kind"] == "draft"]
    if drafts:
        q = [r for r in drafts if r["system"] == "quill"]
        b = [r for r in drafts if r["system"] == "baseline"]
        rows = []
        for label, key, ratio, note in DRAFT_FIGURES:
            qa, ba = stat(q, key), stat(b, key)
            rows.append([label, fmt(qa, spread=several), fmt(ba, spread=several)])
            rows[-1] += [_diff(qa, ba, ratio), note]
        qd, bd = distinct_stat(q), distinct_stat(b)
        rows.append(["distinct-2 across drafts", fmt(qd, spread=several), fmt(bd, spread=several)])
        rows[-1] += [_diff(qd, bd, False), "higher is more varied"]
        qs, bs = across_seeds_distinct(q), across_seeds_distinct(b)
        if qs is not None and bs is not None:
            rows.append(["distinct-2 across seeds, per brief", fmt(qs), fmt(bs)])
            rows[-1] += [f"{qs - bs:+.2f}", "higher is more varied"]
        n_briefs = len({r["brief"] for r in drafts})
        out += [f"### Drafts ({n_briefs} briefs, seeds {seeds_of(drafts)})", ""]
        out += [table(rows, ["figure", "quill", "baseline", "diff", "note"]), ""]
        rows = []
        for r in sorted(drafts, key=lambda r: (r["brief"], r["seed"], r["system"] != "quill")):
            rows.append(
                [
                    r["brief"],
                    str(r["seed"]),
                    r["system"],
                    r["finish"],
                    str(r["generated"]),
                    fmt(r.get("length")),
                    f"{r['repeated4']:.2f}",
                    "; ".join(p[:40] for p in r["leaks"]) or "-",
                ]
            )
        header = ["brief", "seed", "system", "finish", "tokens", "length", "rep-4", "leaks"]
        out += [table(rows, header), ""]
    return "\n".join(out)


def seeds_of(recs: list[dict[str, Any]]) -> str:
    return ",".join(str(s) for s in sorted({r["seed"] for r in recs}))


# -- main -----------------------------------------------------------------------------


def _names(value: str | None, quick: list[str], full: list[str], is_quick: bool) -> list[str]:
    if value is None:
        return quick if is_quick else full
    if value in ("", "none"):
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_model(spec: str | None, args: argparse.Namespace) -> tuple[str, list[dict[str, Any]]]:
    from quill.env import EngineOptions, Environment

    env = Environment()
    engine = env.engine(EngineOptions(spec, args.ctx, args.gpu_layers, args.threads))
    info = engine.info
    name = f"{info.name} (ctx {info.n_ctx}, {info.threads} threads, gpu layers {info.gpu_layers})"
    log(f"model {name}")
    engine.complete([Message("user", "Hi")], Sampling(temperature=0, max_tokens=4))  # warm-up
    docs = evalset.documents(args.doc_names)
    briefs = evalset.briefs(args.brief_names)
    opts = SummaryOptions(words=args.words)
    recs: list[dict[str, Any]] = []
    for seed in args.seed_list:
        base = sampling(SUMMARY_PRESET, 1, seed=seed)
        for doc in docs:
            for system, fn in (("quill", quill_summary), ("baseline", baseline_summary)):
                r = fn(engine, doc, opts, base)
                r.update(score_summary(r["text"], doc, opts.target_words))
                r.update(kind="summary", system=system, seed=seed, doc=doc.name, lang=doc.lang)
                recs.append(r)
                log(
                    f"  summary {doc.name} seed {seed} {system}: {r['seconds']:.0f} s, "
                    f"facts {r['facts']:.2f}, length {r['length']:.2f}, {r['finish']}"
                )
        for brief in briefs:
            q, b = draft_pair(engine, brief, seed)
            for system, r in (("quill", q), ("baseline", b)):
                r.update(kind="draft", system=system, seed=seed, brief=brief.id, lang=brief.lang)
                recs.append(r)
                log(
                    f"  draft {brief.id} seed {seed} {system}: {r['seconds']:.0f} s, "
                    f"{r['generated']} tok, {r['finish']}, leaks {len(r['leaks'])}"
                )
    env.close()
    return name, recs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", metavar="PATH|NAME", help="repeatable")
    ap.add_argument("--ctx", type=int, default=2048, help="context size (default 2048)")
    ap.add_argument("--gpu-layers", default="auto", help="auto, all or a number")
    ap.add_argument("--threads", type=int, help="CPU threads (default: all usable)")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    ap.add_argument(
        "--words",
        type=int,
        default=SummaryOptions().target_words,
        help="summary length asked for (default: quill summarize's default)",
    )
    ap.add_argument("--docs", help="comma-separated document names, or none")
    ap.add_argument("--briefs", help="comma-separated brief ids, or none")
    ap.add_argument("--quick", action="store_true", help="two documents and four briefs")
    ap.add_argument("--json", metavar="FILE", help="write every text and score here")
    ap.add_argument(
        "--rescore", metavar="FILE", help="score a saved --json run again (no model) and print it"
    )
    args = ap.parse_args(argv)
    if args.rescore:
        payload, results = rescore(args.rescore)
        a = payload["args"]
        print("# quill writing evaluation (rescored)\n")
        print(f"ctx {a['ctx']}, summary length {a['words']} words, seeds {a['seeds']}\n")
        for res in results:
            print(report(res["model"], res["records"], "," in str(a["seeds"])))
        return
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    all_docs = [d.name for d in evalset.documents()]
    all_briefs = [b.id for b in evalset.briefs()]
    args.doc_names = _names(args.docs, QUICK_DOCS, all_docs, args.quick)
    args.brief_names = _names(args.briefs, QUICK_BRIEFS, all_briefs, args.quick)

    t0 = time.perf_counter()
    results = []
    for spec in args.model or [None]:
        name, recs = run_model(spec, args)
        results.append({"model": name, "spec": spec, "records": recs})
    total = time.perf_counter() - t0
    several = len(args.seed_list) > 1
    print("# quill writing evaluation\n")
    print(
        f"ctx {args.ctx}, summary length {args.words} words, seeds {args.seeds}, "
        f"{len(args.doc_names)} documents, {len(args.brief_names)} briefs, "
        f"{total:.0f} s in all\n"
    )
    for res in results:
        print(report(res["model"], res["records"], several))
    if args.json:
        payload = {
            "args": vars(args),
            "seconds": total,
            "models": results,
        }
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
