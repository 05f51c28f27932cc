"""What checking a draft costs: one batched decode of n tokens against n single decodes.

Prompt lookup and speculative decoding pay only where checking n drafted tokens in one
batched decode (logits at every position, as both need) costs much less than
generating them one by one. Where decoding is bound by memory bandwidth (a GPU, a big
model on many cores) a batch of a few tokens costs about one token; where it is bound
by arithmetic (a small model on two CPU cores) it costs nearly n.

For each model, and with llama.cpp's repacked CPU weights on and off (``--cpu-repack``,
a fresh load each), this script evaluates a prompt, then times decodes of 1, 2, 3…
tokens after it, each removed from the cache again, the sizes in turns so machine noise
hits all alike, and prints for each size its median time, its cost in single decodes
(``cost``), and the most a check of that size can gain: n tokens for ``cost``, when
every drafted token is kept (``best gain`` = n / cost). A draft of n - 1 tokens pays
only where more than ``cost`` - 1 of them are kept, on average.

    .venv/bin/python benchmarks/check_cost.py [--model qwen2.5-coder-0.5b] \\
        [--repack on,off] [--sizes 1,2,3,4,5,8,11,16] [--rounds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from speculative_bench import Side  # noqa: E402
from writing_eval import table  # noqa: E402  (this folder: run as a script)

TEXT = (
    "The ferry leaves the harbour at seven every morning, and the captain knows every "
    "regular by name. In winter the crossing takes longer, because the wind pushes the "
    "boat north and the crew has to steer against it the whole way. "
)


def measure(engine: Any, sizes: list[int], rounds: int) -> dict[int, float]:
    """Median seconds of a decode of each size (logits at every position)."""
    side = Side(engine)
    try:
        tokens = engine.tokenize(TEXT * 4)
        side.start(tokens)
        base = len(engine._tokens)
        times: dict[int, list[float]] = {n: [] for n in sizes}
        side.decode(tokens[-1:], all_logits=True)  # warm: the first decode after a load
        side.keep(base)
        for _ in range(rounds):
            for n in sizes:
                t0 = time.perf_counter()
                side.decode(tokens[:n], all_logits=True)
                times[n].append(time.perf_counter() - t0)
                side.keep(base)
        return {n: statistics.median(v) for n, v in times.items()}
    finally:
        side.close()


def table_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The table of a run: a row per size, a column per model and repack setting,
    each cell the check's cost in single decodes and, in brackets, its best gain; the
    first row the single decode's time."""
    sides = list(dict.fromkeys((r["model"], r["repack"]) for r in rows))
    cell = {(r["model"], r["repack"], r["tokens"]): r for r in rows}
    sizes = sorted({r["tokens"] for r in rows})
    header = ["tokens checked", *(f"{m}, repack {rp}" for m, rp in sides)]
    body = [["1 (ms)", *(f"{cell[(m, rp, 1)]['ms']:.1f}" for m, rp in sides)]]
    for n in sizes[1:]:
        line = [str(n)]
        for m, rp in sides:
            r = cell.get((m, rp, n))
            line.append(f"{r['cost']:.2f} (best gain {r['best_gain']:.2f})" if r else "")
        body.append(line)
    return header, body


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", help="a model name or GGUF path (repeatable)")
    ap.add_argument("--repack", default="on,off", help="cpu repack settings to load with")
    ap.add_argument("--sizes", default="1,2,3,4,5,6,8,11,16", help="tokens per decode")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", metavar="FILE", default=None)
    args = ap.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {1})

    from quill.env import EngineOptions, Environment

    rows: list[dict[str, Any]] = []
    for model in args.model or [None]:
        for repack in args.repack.split(","):
            opts = EngineOptions(model, 2048, None, args.threads, cpu_repack=repack)
            engine: Any = Environment().engine(opts)
            med = measure(engine, sizes, args.rounds)
            single = med[1]
            for n in sizes:
                cost = med[n] / single
                rows.append(
                    {
                        "model": engine.info.name,
                        "repack": repack,
                        "tokens": n,
                        "ms": med[n] * 1000,
                        "cost": cost,
                        "best_gain": n / cost,
                    }
                )
            engine.close()
            print(f"{rows[-1]['model']}, repack {repack}: done", file=sys.stderr)

    header, body = table_rows(rows)
    print(table(body, header))
    print("cost: in single decodes; best gain: tokens per single decode's time", file=sys.stderr)
    if args.json:
        result = {
            "benchmark": "check_cost",
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "threads": args.threads,
            "rounds": args.rounds,
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
