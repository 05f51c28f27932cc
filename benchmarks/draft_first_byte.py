"""Time to the first byte of a piped draft against a piped chat reply, in one run.

Both run as a writer runs them, as separate processes with stdout a pipe, on the same
model and the same request text: ``quill draft BRIEF`` and ``echo BRIEF | quill chat``.
The clock starts before the process is spawned and stops when the first byte arrives
through the pipe, so each figure includes start-up and the model's load; the processes
alternate, and each figure is the median over ``--repeat`` runs. The children write and
read compiled modules (__pycache__) as a writer's Python does, whatever
PYTHONDONTWRITEBYTECODE says here (compiling quill, typer and llama_cpp from source
adds about 0.6 s to every start). Also shown: the reads
the whole reply took (fewer reads for as many tokens means a lumpier stream).

    .venv/bin/python benchmarks/draft_first_byte.py
    python benchmarks/draft_first_byte.py --model some.gguf --repeat 5 --max-tokens 48

A draft whose form has an opening (a news story starts "# ") is begun for the model, so
no preamble check holds its start back: the first byte should come no later than the
chat reply's (ratio draft / chat <= 1.0, within the noise of a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BRIEF = "a news story: the town's night market reopens on Friday with forty stalls"


def timed(cmd: list[str], env: dict[str, str], stdin: bytes | None) -> tuple[float, float, int]:
    """(seconds to the first byte on stdout, seconds to the end, reads) for one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    first = float("nan")
    reads = 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        if reads == 0:
            first = time.perf_counter() - t0
        reads += 1
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… exited with {proc.returncode}")
    return first, time.perf_counter() - t0, reads


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="GGUF file or model name (default: quill's default)")
    p.add_argument("--brief", default=BRIEF, help="the request both commands get")
    p.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    p.add_argument("--max-tokens", type=int, default=32, help="reply cap (default 32)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, help="CPU threads for both (default: quill's)")
    p.add_argument("--json", metavar="FILE", help="write the figures here")
    args = p.parse_args()

    model = args.model
    if model is None:
        from quill.models import default

        model = str(default.ensure_user_model())
    quill = [sys.executable, "-m", "quill"]
    common = ["--max-tokens", str(args.max_tokens), "--seed", str(args.seed)]
    if args.threads:
        common += ["--threads", str(args.threads)]
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, QUILL_HOME=home, QUILL_MODEL=model, NO_COLOR="1")
        env.pop("QUILL_DEBUG", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a writer's Python keeps compiled modules
        runs = {
            "draft": ([*quill, "draft", args.brief, *common, "--no-save"], None),
            "chat": ([*quill, "chat", *common], args.brief.encode()),
        }
        # One untimed run of each: the model file is in the page cache for both.
        for cmd, stdin in runs.values():
            timed(cmd, env, stdin)
        got: dict[str, list[tuple[float, float, int]]] = {k: [] for k in runs}
        for i in range(args.repeat):
            for name, (cmd, stdin) in runs.items():
                got[name].append(timed(cmd, env, stdin))
                first, total, reads = got[name][-1]
                print(
                    f"run {i + 1} {name:<5} first byte {first * 1000:6.0f} ms, "
                    f"end {total:5.1f} s, {reads} reads",
                    file=sys.stderr,
                )
    med = {k: statistics.median(f for f, _, _ in v) for k, v in got.items()}
    n_reads = {k: statistics.median(r for _, _, r in v) for k, v in got.items()}
    print(f"model {Path(model).name}, {args.repeat} runs each, max tokens {args.max_tokens}")
    print("| command | first byte (median) | reads (median) |")
    print("|---|---|---|")
    for k in runs:
        print(f"| {k} | {med[k] * 1000:.0f} ms | {n_reads[k]:.0f} |")
    ratio = med["draft"] / med["chat"] if med["chat"] > 0 else float("nan")
    print(f"\nfirst byte, draft / chat: {ratio:.2f} (target <= 1.0)")
    if args.json:
        rows = {k: {"first_byte_s": med[k], "reads": n_reads[k]} for k in runs}
        saved = {"args": {**vars(args), "model": Path(model).name}, "rows": rows, "ratio": ratio}
        Path(args.json).write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
