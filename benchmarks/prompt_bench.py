"""Prompt evaluation at the lengths summaries and long drafts live at: quill's path
against llama.cpp's own batched decode, 512 to 8k tokens.

Both run in this one process on the same GGUF file, with the same context size, batch
and micro-batch size, threads and CPU weight layout (``stream_bench.RawLoop`` is the
yardstick: the prompt decoded in batches of N_BATCH tokens through
``llama_batch_get_one``, as llama-bench's pp test does, then one greedy sample). quill's
side is ``LlamaEngine.stream`` of the same chat messages (template, tokenization, cache
check, abort-aware evaluation, its sampler chain) asked for one token. Nothing is
cached between runs on either side; sides alternate within each round so machine noise
hits both alike. The figure on each side is prompt tokens per second up to the first
token; the ratio is quill/llama.cpp (target >= 0.95 at every length).

The prompt is English and Chinese prose from the evaluation set's documents, cut to
each length. ``--json FILE`` keeps the run.

    .venv/bin/python benchmarks/prompt_bench.py [--model qwen2.5-coder-0.5b]
                                                [--lengths 512,2048,4096,8192] [--rounds 1]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from stream_bench import RawLoop  # noqa: E402  (this folder: run as a script)

from quill import evalset  # noqa: E402
from quill.engine.base import Message, Sampling  # noqa: E402
from quill.engine.hardware import default_threads  # noqa: E402
from quill.engine.llama import N_BATCH, LlamaEngine  # noqa: E402


def text_of(engine: LlamaEngine, tokens: int) -> str:
    """Prose from the evaluation documents, about ``tokens`` tokens long."""
    source = "\n\n".join(d.text for d in evalset.documents(None))
    while engine.count(source) < tokens:
        source += "\n\n" + source
    ids = engine.tokenize(source)[:tokens]
    return b"".join(engine.token_bytes(t) for t in ids).decode("utf-8", errors="ignore")


def raw_rate(raw: RawLoop, prompt: list[int]) -> float:
    """llama.cpp alone: the prompt in batches of N_BATCH, then one greedy sample."""
    lc = raw.lc
    lc.llama_memory_clear(raw.mem, True)
    greedy = lc.llama_sampler_init_greedy()
    t0 = time.perf_counter()
    for s in range(0, len(prompt), N_BATCH):
        chunk = prompt[s : s + N_BATCH]
        arr = (lc.llama_token * len(chunk))(*chunk)
        if lc.llama_decode(raw.ctx, lc.llama_batch_get_one(arr, len(chunk))) != 0:
            raise RuntimeError("llama_decode failed")
    lc.llama_sampler_sample(greedy, raw.ctx, -1)
    seconds = time.perf_counter() - t0
    lc.llama_sampler_free(greedy)
    return len(prompt) / seconds


def quill_rate(engine: LlamaEngine, messages: list[Message]) -> float:
    engine.reset()  # nothing cached: the same work as the raw side
    t0 = time.perf_counter()
    stats = None
    for piece in engine.stream(messages, Sampling(temperature=0, max_tokens=1, lookup=0)):
        if piece.stats is not None:
            stats = piece.stats
    seconds = time.perf_counter() - t0
    assert stats is not None
    return stats.prompt_tokens / seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="a name or a GGUF path")
    ap.add_argument("--lengths", default="512,2048,4096,8192")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    from quill.env import EngineOptions, Environment

    lengths = [int(n) for n in args.lengths.split(",")]
    n_ctx = max(lengths) + 256
    threads = args.threads or default_threads()
    engine: Any = Environment().engine(EngineOptions(args.model, n_ctx, None, threads))
    path = str(engine.path)
    raw = RawLoop(path, n_ctx, 0, threads)
    print(f"model {path}: ctx {n_ctx}, {threads} threads, batch {N_BATCH}", flush=True)
    raw_rate(raw, engine.tokenize("Warm up."))  # first touch of the weights, both sides
    quill_rate(engine, [Message("user", "Warm up.")])
    rows: list[dict[str, Any]] = []
    for n in lengths:
        messages = [Message("user", text_of(engine, n - 16))]
        prompt = engine.render(messages)
        raws, quills = [], []
        for _ in range(args.rounds):
            raws.append(raw_rate(raw, prompt))
            quills.append(quill_rate(engine, messages))
        row = {
            "tokens": len(prompt),
            "llama_cpp": statistics.median(raws),
            "quill": statistics.median(quills),
        }
        row["ratio"] = row["quill"] / row["llama_cpp"]
        rows.append(row)
        print(
            f"{len(prompt):6d} tokens: llama.cpp {row['llama_cpp']:7.1f} tok/s, quill "
            f"{row['quill']:7.1f} tok/s, ratio {row['ratio']:.3f}",
            flush=True,
        )
    if args.json:
        info = {"machine": platform.machine(), "cpus": os.cpu_count(), "args": vars(args)}
        Path(args.json).write_text(json.dumps({"run": info, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
