"""What writing a summary more than once buys: each try of quill's final step, scored.

For each model and document of quill's evaluation set (``quill/evalset``), quill's
summary is read as ``quill summarize`` reads it (``--method auto``, its own length), and
its final step is written ``--tries`` times: try 0 with the preset's sampling (seed
``--seed``), each later try as quill writes a second try or a retry
(:func:`quill.writing.retry.retry_params`: the next seed, a temperature of at least 0.5,
the DRY sampler on). Every try is scored as ``summary_eval.py`` scores a summary (facts
at the length asked, ROUGE-2 F1 against the abstract, copy rate, length).

The table compares, over the documents:

- ``first``: the first try alone (``--best-of 1``);
- ``quill``: the try ``quill summarize`` prints, chosen by its own
  :func:`quill.writing.retry.best_of` from the saved tries (BEST_OF of them, and a
  retry more where none of those passes): a passing try before a failing one, then the
  lowest penalty of :func:`quill.writing.summarycheck.summary_verdict`, then the
  earlier;
- ``most facts``: the try of the first BEST_OF that carries the most planted facts (what
  no check can know: the most choosing could buy).

The choice is made again from the saved texts by the code as it stands, so ``--report``
on an older run shows what today's check would keep.

    .venv/bin/python benchmarks/summary_tries.py --split tune --json run.json
    .venv/bin/python benchmarks/summary_tries.py --report benchmarks/runs/tries-summary-tune.json
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

from summary_eval import PRESET, log, score  # noqa: E402  (this folder: run as a script)
from writing_eval import table as markdown_table  # noqa: E402

from quill import evalset  # noqa: E402
from quill.engine.base import Result, Sampling  # noqa: E402
from quill.writing.presets import sampling  # noqa: E402
from quill.writing.retry import best_of  # noqa: E402
from quill.writing.summarize import Summarizer, SummaryOptions, summary_tries  # noqa: E402
from quill.writing.summary_job import BEST_OF  # noqa: E402
from quill.writing.summarycheck import summary_check  # noqa: E402

KEYS = ("facts_fair", "rouge2", "copy", "length")


def tries(engine: Any, doc: evalset.Document, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` tries of quill's final step on ``doc``, each scored."""
    from quill.engine.generation import Generation
    from quill.writing.retry import retry_params, run_generation

    words = SummaryOptions().target_for(doc.text)
    s = Summarizer(engine, SummaryOptions(), sampling(PRESET, 1, seed=seed))
    t0 = time.perf_counter()
    job = s.start(s.plan(doc.text, doc.file_name))
    for _ in s.run(job):
        pass
    assert job.messages is not None and job.params is not None
    out = []
    for k in range(n):
        p = retry_params(job.params, k)
        gen = Generation(engine.stream(job.messages, p), p, transforms=[s.final_transform(job)])
        r = run_generation(gen)
        rec: dict[str, Any] = {"doc": doc.name, "k": k, "seed": p.seed, "text": r.text}
        rec["seconds"] = time.perf_counter() - t0
        rec.update(score(r.text, doc, words))
        out.append(rec)
        t0 = time.perf_counter()
    return out


def kept(recs: list[dict[str, Any]], doc: evalset.Document) -> dict[str, Any]:
    """The try ``quill summarize`` keeps of ``recs`` (in try order), chosen by its own
    :func:`~quill.writing.retry.best_of` with its default number of tries (as many as
    were saved)."""
    words = SummaryOptions().target_for(doc.text)
    check = summary_check(doc.text, words, doc.lang)
    n, retries = summary_tries(None)
    n = min(n, len(recs))  # a run that saved fewer tries than quill writes
    texts = iter(recs)
    outcome = best_of(
        lambda p: Result(next(texts)["text"], "stop"),
        check,
        Sampling(seed=0),
        n=n,
        retries=min(retries, len(recs) - n),
    )
    return recs[outcome.attempts.index(outcome.chosen)]


def table_rows(recs: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the table: the first try, quill's choice, the most facts."""
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        by_doc.setdefault(r["doc"], []).append(r)
    first, mine, most = [], [], []
    for doc in evalset.documents(list(by_doc)):
        rs = sorted(by_doc[doc.name], key=lambda r: r["k"])
        first.append(rs[0])
        mine.append(kept(rs, doc))
        most.append(max(rs[:BEST_OF], key=lambda r: (r["facts_fair"], -r["k"])))
    rows = []
    for label, chosen in (("first", first), ("quill", mine), ("most facts", most)):
        later = sum(1 for r in chosen if r["k"] > 0)
        rows.append(
            [label, *(f"{mean(r[k] for r in chosen):.3f}" for k in KEYS), f"{later}/{len(chosen)}"]
        )
    return [f"of {BEST_OF} tries", *KEYS, "a later try kept"], rows


def table(name: str, recs: list[dict[str, Any]]) -> str:
    head, rows = table_rows(recs)
    return f"### {name}\n\n" + markdown_table(rows, head) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", metavar="PATH|NAME", help="repeatable")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tries", type=int, default=3)
    ap.add_argument("--split", default="tune", choices=("tune", "report", "all"))
    ap.add_argument("--docs", default=None, help="comma-separated document names")
    ap.add_argument("--json", default=None, metavar="FILE")
    ap.add_argument("--report", nargs="+", metavar="FILE", help="print the tables of saved runs")
    args = ap.parse_args(argv)
    if args.report:
        for path in args.report:
            saved = json.loads(Path(path).read_text(encoding="utf-8"))
            for m in saved["models"]:
                print(table(m["model"], m["records"]), flush=True)
        return
    from quill.env import EngineOptions, Environment

    names = args.docs.split(",") if args.docs else None
    chosen = evalset.documents(names, split=None if args.split == "all" else args.split)
    results: list[dict[str, Any]] = []
    for spec in args.model or [None]:
        env = Environment()
        engine = env.engine(EngineOptions(spec, args.ctx, "auto", args.threads))
        info = engine.info
        name = f"{info.name} (ctx {info.n_ctx}, {info.threads} threads)"
        recs: list[dict[str, Any]] = []
        results.append({"model": name, "records": recs})
        for doc in chosen:
            for r in tries(engine, doc, args.tries, args.seed):
                recs.append(r)
                log(
                    f"{name} {doc.name} try {r['k']}: facts {r['facts_fair']:.3f} "
                    f"rouge2 {r['rouge2']:.3f} len {r['length']:.2f} copy {r['copy']:.2f}"
                )
            if args.json:
                saved = {"args": vars(args), "models": results}
                Path(args.json).write_text(json.dumps(saved, ensure_ascii=False, indent=1))
        env.close()
        print(table(name, recs), flush=True)


if __name__ == "__main__":
    main()
