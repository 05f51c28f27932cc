"""llama.cpp's repacked CPU weights on and off: load, prompt evaluation and generation.

llama.cpp copies most of a model's weights into a layout of its own for the CPU's matrix
kernels when it loads (``cpu repack`` in ``quill bench --speed``; quill lets it wherever
the CPU reports no AMX, and ``--cpu-repack off`` turns it off). The copy costs load
time, and the repacked kernels are not faster for every batch size on every CPU. This
runs ``quill bench --speed --json`` as a new process with repacking on and off in turns
(``--cpu-repack on`` and ``off``; same model file, context, threads and sampler; a fresh
load each time, as a command's start), ``--rounds`` times, and prints the medians and
the ratios off/on. From the medians it also works out where repacking pays for a
request: the generated tokens from which its faster generation has made up for its
slower load and prompt evaluation, at each prompt length measured.

    .venv/bin/python benchmarks/repack_bench.py [--model qwen2.5-coder-1.5b] [--rounds 3]
                                                [--pp 512,2048] [--tg 128] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from writing_eval import table  # this folder: run as a script

ROOT = Path(__file__).resolve().parent.parent

SIDES = ("on", "off")


def bench(model: str, pp: int, tg: int, repack: str, extra: list[str]) -> dict[str, Any]:
    """One ``quill bench --speed`` run in a new process; its JSON."""
    env = dict(os.environ, NO_COLOR="1")
    cmd = [sys.executable, "-m", "quill", "bench", "--speed", "--model", model]
    cmd += ["--pp", str(pp), "--tg", str(tg), "--cpu-repack", repack, "--json", *extra]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def figures(run: dict[str, Any]) -> dict[str, float]:
    f = run["figures"]
    return {
        "load_s": f["load_s"],
        "pp_tps": f["pp"]["tokens_per_s"],
        "tg_tps": f["tg"]["tokens_per_s"],
        "ttft_s": f["ttft_s"],
        "rss_mib": f["rss_bytes"] / 2**20,
    }


def crossover(on: dict[str, float], off: dict[str, float], prompt: int) -> float | None:
    """Generated tokens from which repacking is quicker overall for a prompt of
    ``prompt`` tokens (load + prompt + generation); None where it never is (or always:
    0.0)."""
    fixed = (on["load_s"] - off["load_s"]) + prompt * (1 / on["pp_tps"] - 1 / off["pp_tps"])
    per_token = 1 / off["tg_tps"] - 1 / on["tg_tps"]  # what repacking saves per token
    if per_token <= 0:
        return None if fixed >= 0 else 0.0
    return max(0.0, fixed / per_token)


HEADER = (
    "prompt tokens",
    "repack",
    "load s",
    "prompt tok/s",
    "generation tok/s",
    "first token ms",
    "RSS MiB",
)


def table_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The medians of each prompt length, on and off, and their ratios off/on, as table
    cells (this script's output and the docs' table, benchmarks/doc_tables.py)."""
    cells: list[list[str]] = []
    for row in rows:
        for side in SIDES:
            f = row[side]
            cells.append(
                [
                    str(row["pp"]),
                    side,
                    f"{f['load_s']:.2f}",
                    f"{f['pp_tps']:.1f}",
                    f"{f['tg_tps']:.1f}",
                    f"{f['ttft_s'] * 1000:.0f}",
                    f"{f['rss_mib']:.0f}",
                ]
            )
        q = row["ratio_off_on"]
        ratios = [q[k] for k in ("load_s", "pp_tps", "tg_tps", "ttft_s", "rss_mib")]
        cells.append([str(row["pp"]), "off / on", *(f"{x:.2f}" for x in ratios)])
    return list(HEADER), cells


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b", help="a name or a GGUF path")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pp", default="512,2048", help="prompt lengths, comma-separated")
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    extra = ["--threads", str(args.threads)] if args.threads else []
    lengths = [int(x) for x in args.pp.split(",") if x.strip()]
    rows: list[dict[str, Any]] = []
    settings: dict[str, Any] = {}
    for pp in lengths:
        got: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
        for r in range(args.rounds):
            for side in SIDES:
                run = bench(args.model, pp, args.tg, side, extra)
                settings[side] = run["settings"]
                got[side].append(figures(run))
                f = got[side][-1]
                print(
                    f"pp {pp} round {r + 1} repack {side:<3}: load {f['load_s']:.2f} s, "
                    f"pp {f['pp_tps']:.1f}, tg {f['tg_tps']:.1f} tok/s, "
                    f"first token {f['ttft_s'] * 1000:.0f} ms",
                    file=sys.stderr,
                )
        med = {
            side: {k: statistics.median(f[k] for f in runs) for k in runs[0]}
            for side, runs in got.items()
        }
        rows.append(
            {
                "pp": pp,
                "on": med["on"],
                "off": med["off"],
                "ratio_off_on": {k: med["off"][k] / med["on"][k] for k in med["on"]},
                "pays_from_tokens": crossover(med["on"], med["off"], pp),
                "rounds": got,
            }
        )
    name = Path(args.model).name
    print(f"model {name}, {args.rounds} rounds, tg {args.tg}, medians")
    head, cells = table_rows(rows)
    print(table(cells, head))
    for row in rows:
        pays = row["pays_from_tokens"]
        said = "never" if pays is None else f"from {pays:.0f} generated tokens on"
        print(f"repacking pays for a {row['pp']}-token prompt {said}")
    if args.json:
        saved = {
            "benchmark": "repack_bench",
            "args": vars(args),
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "loadavg_at_end": list(os.getloadavg()),
            },
            "settings": settings,
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
