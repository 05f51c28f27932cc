"""Start-up: `quill --help` and `quill --version` as a shell runs them, against the
typer app printing the same help, and against the interpreter doing nothing.

Each command runs as a child process, its output to a pipe, ``--repeat`` times, in
turns (so load on the machine falls on every side alike); the median and the fastest run
are shown, and each command's median against the typer app's. The children may write
and read compiled modules (__pycache__), as a writer's Python does, whatever
PYTHONDONTWRITEBYTECODE says here; the first round writes them. The kept help
(quill/cli/entry.py) must print the same text as the app: the script checks that too.

    .venv/bin/python benchmarks/startup_bench.py
    .venv/bin/python benchmarks/startup_bench.py --repeat 31 --json startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from quill.cli.entry import APP_HELP

# the console script beside this interpreter (a venv's), else `python -m quill`
SCRIPT = os.path.join(os.path.dirname(sys.executable), "quill")
QUILL = [SCRIPT] if os.path.exists(SCRIPT) else [sys.executable, "-m", "quill"]
SIDES = {
    "quill --help": [*QUILL, "--help"],
    "quill --version": [*QUILL, "--version"],
    "typer app --help": [sys.executable, "-c", APP_HELP],
    "python -c pass": [sys.executable, "-c", "pass"],
}


def run(cmd: list[str]) -> tuple[float, str]:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a writer's Python keeps compiled modules
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False).stdout
    return time.perf_counter() - start, out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=15, help="runs of each command (default 15)")
    p.add_argument("--json", metavar="FILE", help="write the figures here")
    args = p.parse_args()
    times: dict[str, list[float]] = {name: [] for name in SIDES}
    outs: dict[str, str] = {}
    for _ in range(max(1, args.repeat)):
        for name, cmd in SIDES.items():
            s, outs[name] = run(cmd)
            times[name].append(s)
    same = outs["quill --help"] == outs["typer app --help"]
    base = statistics.median(times["typer app --help"])
    rows = {}
    print(f"{'command':18} {'median ms':>10} {'fastest ms':>11} {'vs typer app':>13}")
    for name, xs in times.items():
        med = statistics.median(xs)
        rows[name] = {"median_ms": med * 1000, "fastest_ms": min(xs) * 1000, "ratio": med / base}
        print(f"{name:18} {med * 1000:10.1f} {min(xs) * 1000:11.1f} {med / base:12.2f}x")
    print(f"same help text as the typer app: {'yes' if same else 'NO'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"repeat": args.repeat, "same_help": same, "rows": rows}, f, indent=1)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
