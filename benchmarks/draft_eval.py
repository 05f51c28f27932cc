"""quill's drafts against a plain baseline on the same model, in one run.

For each model, seed and brief (quill/evalset/briefs.toml, one split):

- quill: what `quill draft --best-of 1` does: ``quill.writing.draft.build_messages``
  (the system prompt, the form shown by the reply's opening, length and language), the
  draft's stream filters (a draft that reaches its token budget trimmed back to its last
  complete sentence), and the check that writes a failing draft again with another seed
  (``write_checked``, at most twice). Its first attempt is scored too ("first try"),
  so the check's share of the result shows.
- baseline: what a writer does without quill: the brief alone as the user message, no
  system prompt, the same sampling and token budget, no filters.

Scored with quill.writing.metrics: talk about the brief (a preamble, closing remarks,
sentences about the piece's own shape), shape labels ("**Details:**", "正文："), a
complete ending, length within ±35% of the words asked, and the language asked.
Each figure is the mean over seeds of the per-seed share; ``±`` is the spread (largest
minus smallest per-seed figure). Markdown on stdout, progress on stderr, every text and
score in ``--json FILE``.

    .venv/bin/python benchmarks/draft_eval.py --split report --seeds 0,1
    .venv/bin/python benchmarks/draft_eval.py --model qwen2.5-coder-1.5b --model default \\
        --split tune --briefs night-ferry-news --show
    .venv/bin/python benchmarks/draft_eval.py --report a.json b.json   # saved runs, merged
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

from writing_eval import table  # noqa: E402  (this folder: run as a script)

from quill import evalset  # noqa: E402
from quill.engine.base import Engine, Message, Result, Sampling  # noqa: E402
from quill.writing import draft as drafting  # noqa: E402
from quill.writing import metrics  # noqa: E402
from quill.writing.benchwriting import generate_text  # noqa: E402
from quill.writing.language import detect_language, is_cjk  # noqa: E402
from quill.writing.presets import sampling  # noqa: E402

PRESET = "balanced"  # what `quill draft` uses


def score(text: str, finish: str, brief: evalset.Brief) -> dict[str, Any]:
    talk = metrics.leaked_phrases(text) + metrics.shape_talk(text)
    labels = metrics.shape_labels(text)
    ends = metrics.ends_complete_verse if brief.form == "poem" else metrics.ends_complete
    rec: dict[str, Any] = {
        "talk": talk,
        "labels": labels,
        "talked": float(bool(talk)),
        "labelled": float(bool(labels)),
        "complete": float(finish == "stop" and ends(text)),
        "language": float(detect_language(text) == brief.lang),
        "repeated4": metrics.repeated_ngram_rate(text, 4),
    }
    if brief.words:
        rec["length"] = metrics.length_ratio(text, brief.words, brief.lang) if text else 0.0
        rec["length_ok"] = float(bool(text) and metrics.length_ok(text, brief.words, brief.lang))
    rec["clean"] = float(not talk and not labels and rec["complete"] == 1.0)
    return rec


def run(engine: Engine, messages: list[Message], params: Sampling, filters: list[Any]) -> Result:
    text, finish, stats = generate_text(engine, messages, params, filters)
    return Result(text, finish, stats)


def quill_draft(
    engine: Engine, brief: evalset.Brief, params: Sampling, retries: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    msgs = drafting.build_messages(brief.brief, form=brief.form, tone=brief.tone, words=brief.words)
    t0 = time.perf_counter()
    outcome = drafting.write_checked(
        lambda p: run(engine, msgs, p, drafting.filters(msgs, p.max_tokens)),
        # as `quill draft` samples: pushed to end near the length, a Chinese piece
        # begins no word in small Latin letters of its own, and no draft with talk
        params.with_(
            end_after=brief.words or 0,
            native=is_cjk(brief.lang),
            not_first=drafting.TALK_OPENERS,
        ),
        lang=brief.lang,
        words=brief.words,
        form=brief.form,
        retries=retries,
    )
    seconds = time.perf_counter() - t0
    kept, first = outcome.chosen.result, outcome.attempts[0].result
    rec = {
        "text": kept.text,
        "finish": kept.finish,
        "attempts": outcome.tries,
        "kept": outcome.attempts.index(outcome.chosen),
        "problems": [list(a.verdict.problems) for a in outcome.attempts],
        "note": outcome.note(),
        "seconds": seconds,
        "generated": sum(a.result.stats.generated_tokens for a in outcome.attempts),
        "opening": drafting.opening(msgs),
    }
    rec.update(score(kept.text, kept.finish, brief))
    first_rec = {"text": first.text, "finish": first.finish, "attempts": 1}
    first_rec["generated"] = first.stats.generated_tokens
    first_rec.update(score(first.text, first.finish, brief))
    return rec, first_rec


def baseline_draft(engine: Engine, brief: evalset.Brief, params: Sampling) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = run(engine, [Message("user", brief.brief)], params, [])
    rec = {"text": r.text, "finish": r.finish, "attempts": 1, "seconds": time.perf_counter() - t0}
    rec["generated"] = r.stats.generated_tokens
    rec.update(score(r.text, r.finish, brief))
    return rec


# -- tables ---------------------------------------------------------------------------

FIGURES = [
    ("talks about the brief", "talked", "share; lower is better"),
    ("shape labels", "labelled", "share; lower is better"),
    ("complete ending (stopped by itself)", "complete", "share"),
    ("length within ±35% of the words asked", "length_ok", "share"),
    ("length / asked", "length", "1.00 is on target"),
    ("in the language asked", "language", "share"),
    ("clean (no talk, no labels, complete)", "clean", "share"),
    ("attempts", "attempts", "drafts written per brief"),
    ("tokens generated", "generated", "all attempts"),
]
SYSTEMS = ("quill", "quill first try", "baseline")


def stat(recs: list[dict[str, Any]], key: str) -> tuple[float, float] | None:
    per = []
    for s in sorted({r["seed"] for r in recs}):
        vals = [r[key] for r in recs if r["seed"] == s and key in r]
        if vals:
            per.append(mean(vals))
    return (mean(per), max(per) - min(per)) if per else None


def fmt(v: tuple[float, float] | None) -> str:
    return "-" if v is None else f"{v[0]:.2f} ±{v[1]:.2f}"


def report(model: str, recs: list[dict[str, Any]]) -> str:
    by = {s: [r for r in recs if r["system"] == s] for s in SYSTEMS}
    rows = []
    for label, key, note in FIGURES:
        vals = [stat(by[s], key) for s in SYSTEMS]
        q, b = vals[0], vals[2]
        diff = f"{q[0] - b[0]:+.2f}" if q is not None and b is not None else "-"
        rows.append([label, *(fmt(v) for v in vals), diff, note])
    n = len({r["brief"] for r in recs})
    seeds = ",".join(str(s) for s in sorted({r["seed"] for r in recs}))
    out = [f"## {model}", "", f"{n} briefs, seeds {seeds}", ""]
    out += [table(rows, ["figure", *SYSTEMS, "quill − baseline", "note"]), ""]
    rows = []
    for r in sorted(recs, key=lambda r: (r["brief"], r["seed"], SYSTEMS.index(r["system"]))):
        rows.append(
            [
                r["brief"],
                str(r["seed"]),
                r["system"],
                r["finish"],
                str(r["attempts"]),
                f"{r['length']:.2f}" if "length" in r else "-",
                "; ".join(x[:30] for x in r["labels"] + r["talk"]) or "-",
            ]
        )
    out += [table(rows, ["brief", "seed", "system", "finish", "tries", "length", "found"]), ""]
    return "\n".join(out)


def saved_runs(paths: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The records of saved ``--json`` runs by model, merged in the order given and
    scored again with the metrics as they are now (what ``--report`` prints)."""
    merged: dict[str, list[dict[str, Any]]] = {}
    briefs = {b.id: b for b in evalset.briefs()}
    for f in paths:
        for res in json.loads(Path(f).read_text(encoding="utf-8"))["models"]:
            for r in res["records"]:
                r.update(score(r["text"], r["finish"], briefs[r["brief"]]))
            merged.setdefault(res["model"], []).extend(res["records"])
    return merged


# -- main -----------------------------------------------------------------------------


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def save(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    """Write the run so far to ``--json`` (after every brief: a long run keeps its work)."""
    if args.json:
        kept = {k: v for k, v in vars(args).items() if k != "brief_list"}
        payload: dict[str, Any] = {"args": kept, "models": results}
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")


def run_model(
    spec: str | None, args: argparse.Namespace, results: list[dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    from quill.env import EngineOptions, Environment

    env = Environment()
    engine = env.engine(EngineOptions(spec, args.ctx, None, args.threads))
    name = f"{engine.info.name} (ctx {engine.info.n_ctx}, {engine.info.threads} threads)"
    log(f"model {name}")
    recs: list[dict[str, Any]] = []
    results.append({"model": name, "spec": spec, "records": recs})
    for seed in args.seed_list:
        for brief in args.brief_list:
            budget = args.max_tokens or drafting.max_tokens_for(brief.words)
            params = sampling(PRESET, budget, seed=seed)
            q, first = quill_draft(engine, brief, params, args.retries)
            b = baseline_draft(engine, brief, params)
            for system, r in (("quill", q), ("quill first try", first), ("baseline", b)):
                r.update(system=system, seed=seed, brief=brief.id, lang=brief.lang)
                recs.append(r)
            log(
                f"  {brief.id} seed {seed}: quill {q['attempts']} tries, clean {q['clean']:.0f}"
                f" ({q['note'] or 'passed'}); baseline clean {b['clean']:.0f}"
            )
            if args.show:
                for system, r in (("quill", q), ("baseline", b)):
                    log(f"----- {brief.id} seed {seed} {system} ({r['finish']})\n{r['text']}\n")
            save(args, results)
    env.close()
    return name, recs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", metavar="PATH|NAME", help="repeatable")
    ap.add_argument("--ctx", type=int, default=2048, help="context size (default 2048)")
    ap.add_argument("--threads", type=int, help="CPU threads (default: all usable)")
    ap.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    ap.add_argument("--split", choices=["tune", "report", "all"], default="report")
    ap.add_argument("--briefs", help="comma-separated brief ids (within the split)")
    ap.add_argument("--retries", type=int, default=drafting.RETRIES, help="quill's retries")
    ap.add_argument("--max-tokens", type=int, help="cap every draft's budget (smoke runs)")
    ap.add_argument("--show", action="store_true", help="print every draft on stderr")
    ap.add_argument("--json", metavar="FILE", help="write every text and score here")
    ap.add_argument(
        "--report",
        nargs="+",
        metavar="FILE",
        help="print the tables of saved runs (merged, scored again)",
    )
    args = ap.parse_args(argv)
    if args.report:
        print("# quill drafts against the brief alone (saved runs)\n")
        for model, recs in saved_runs(args.report).items():
            print(report(model, recs))
        return
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    ids = [b.strip() for b in args.briefs.split(",")] if args.briefs else None
    args.brief_list = evalset.briefs(ids, None if args.split == "all" else args.split)
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    for spec in args.model or [None]:
        run_model(spec, args, results)
    print("# quill drafts against the brief alone\n")
    print(
        f"split {args.split}, {len(args.brief_list)} briefs, seeds {args.seeds}, "
        f"{time.perf_counter() - t0:.0f} s in all\n"
    )
    for res in results:
        print(report(res["model"], res["records"]))
    if args.json:
        save(args, results)
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
