"""Time to first token of one-shot commands with and without the system prompts kept on
disk (quill/engine/prefix.py), on the same model in one run.

Two engines on the same model file, settings and threads: one without prefix files, one
with a fresh folder of them. For each command's real prompt (as the command builds it),
each round clears both engines' KV caches, as a new process starts, and asks for one
token: the first request with prefix files evaluates the system prompt and saves it
(``cold``), every later one loads it (``warm``). The figures are the engines' own time
to first token (prompt evaluation included), the median over rounds, and warm against
off; the texts of 16 greedy tokens are compared too: without prefix files, saving them
and loading them (they must be the same).

    .venv/bin/python benchmarks/prefix_bench.py --model qwen2.5-coder-1.5b --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from quill.engine.base import Message, Sampling
from quill.writing import draft, verbs
from quill.writing.translate import translate_messages

TEXT_TOKENS = 16  # greedy tokens compared: with, without, and loading prefix files
TEXT = (
    "hey team, quick one - the ferry to the island is cancelled tomorrow because of the "
    "storm, so the site visit moves to thursday. same time, same place. bring boots!!"
)


def prompts() -> dict[str, list[Message]]:
    return {
        "draft": draft.build_messages("a product page for a linen shirt"),
        "rewrite --tone formal": verbs.rewrite_messages(TEXT, verbs.RewriteOptions(tone="formal")),
        "titles": verbs.titles_messages(TEXT, 3),
        "translate --to French": translate_messages(TEXT, "French", "English"),
    }


def first_token(engine: Any, messages: list[Message], tokens: int = 1) -> tuple[float, int, str]:
    engine.reset()  # a new process: nothing in the KV cache
    p = Sampling(temperature=0, seed=0, max_tokens=tokens, lookup=0)
    r = engine.complete(messages, p)
    return r.stats.ttft_s, r.stats.evaluated_tokens, r.text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="a name or a GGUF path")
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)

    from quill.engine.llama import LlamaEngine
    from quill.env import EngineOptions, Environment

    env = Environment(environ={**os.environ, "QUILL_PREFIX_CACHE": "off"})
    off: Any = env.engine(EngineOptions(args.model, args.ctx, None, args.threads))
    folder = Path(tempfile.mkdtemp(prefix="quill-prefixes-"))
    on = LlamaEngine(off.path, n_ctx=args.ctx, threads=args.threads, prefix_dir=folder)
    print(f"model {off.path}: ctx {args.ctx}, {off.info.threads} threads", flush=True)
    first_token(off, [Message("user", "Warm up.")])  # first touch of the weights
    first_token(on, [Message("user", "Warm up.")])
    rows = []
    header = f"{'prompt':22} {'tokens':>6} {'loaded':>6} {'off s':>7} {'cold s':>7} {'warm s':>7}"
    print(header + f" {'warm/off':>9}  same text")
    for name, messages in prompts().items():
        total = len(on.render(messages))
        cold, _, text = first_token(on, messages, TEXT_TOKENS)
        offs, warms, evaluated = [], [], total
        for _ in range(args.rounds):
            offs.append(first_token(off, messages)[0])
            s, evaluated, _ = first_token(on, messages)
            warms.append(s)
        same = {first_token(e, messages, TEXT_TOKENS)[2] for e in (off, on)} == {text}
        row: dict[str, Any] = {
            "prompt": name,
            "tokens": total,
            "loaded": total - evaluated,
            "off_s": statistics.median(offs),
            "cold_s": cold,
            "warm_s": statistics.median(warms),
            "same_text": same,
        }
        row["ratio"] = row["warm_s"] / row["off_s"]
        rows.append(row)
        print(
            f"{name:22} {total:6d} {row['loaded']:6d} {row['off_s']:7.3f} {cold:7.3f} "
            f"{row['warm_s']:7.3f} {row['ratio']:8.2f}x  {'yes' if same else 'NO'}",
            flush=True,
        )
    files = sorted(folder.glob("*.kv"))
    print(f"prefix files: {len(files)}, {sum(f.stat().st_size for f in files) / 2**20:.1f} MiB")
    if args.json:
        run = {"args": vars(args), "model": str(off.path), "threads": off.info.threads}
        Path(args.json).write_text(json.dumps({"run": run, "rows": rows}, indent=1) + "\n")
    on.close()
    off.close()
    return 0 if all(r["same_text"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
