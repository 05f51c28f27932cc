"""Per-token sampling cost: quill's sampler chain against llama.cpp's usual order.

Sampling runs on the CPU for every generated token, whatever the backend. With a large
vocabulary (152k tokens for the default model, 128k for Llama 3) a repetition penalty
applied to the whole vocabulary costs about a millisecond per token: a quarter of the
time per token of an 8B model on a fast GPU. quill cuts to the top-k candidates first.
This script times both chains on the same logits, side by side, for each preset, and
prints the ratio. Usage:

    python benchmarks/sampler_bench.py [--model PATH] [--samples 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quill.engine.base import Message, Sampling
from quill.engine.llama import LlamaEngine
from quill.writing.presets import PRESETS


def penalties_first(engine: LlamaEngine, p: Sampling) -> Any:
    """llama.cpp's common order: penalties over the whole vocabulary, then the cuts."""
    lc = engine._lc
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    add = lc.llama_sampler_chain_add
    n_vocab = lc.llama_vocab_n_tokens(engine._vocab)
    add(chain, lc.llama_sampler_init_penalties(n_vocab, p.repeat_last_n, p.repeat_penalty, 0, 0))
    add(chain, lc.llama_sampler_init_top_k(p.top_k))
    add(chain, lc.llama_sampler_init_top_p(p.top_p, 1))
    add(chain, lc.llama_sampler_init_min_p(p.min_p, 1))
    add(chain, lc.llama_sampler_init_temp(p.temperature))
    add(chain, lc.llama_sampler_init_dist(1))
    return chain


def time_chain(engine: LlamaEngine, chain: Any, history: list[int], samples: int) -> float:
    lc = engine._lc
    for t in history:
        lc.llama_sampler_accept(chain, t)
    t0 = time.perf_counter()
    for _ in range(samples):
        lc.llama_sampler_sample(chain, engine._ctx, -1)
    elapsed = time.perf_counter() - t0
    lc.llama_sampler_free(chain)
    return elapsed / samples * 1000


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", help="GGUF file (default: the embedded default model)")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    path = args.model
    if path is None:
        from quill.models import default

        path = str(default.ensure_user_model())
    engine = LlamaEngine(path, n_ctx=512, gpu_layers=0)
    prompt = engine.render([Message("user", "Write a paragraph about the sea.")])
    engine._eval(prompt)  # logits for the next token now sit in the context
    history = prompt[-64:]
    n_vocab = engine._lc.llama_vocab_n_tokens(engine._vocab)
    print(f"model: {path}  vocabulary: {n_vocab} tokens  samples per timing: {args.samples}")
    for name, p in PRESETS.items():
        base, ours = [], []
        for _ in range(args.rounds):
            base.append(time_chain(engine, penalties_first(engine, p), history, args.samples))
            ours.append(time_chain(engine, engine._sampler(p), history, args.samples))
        b, q = statistics.median(base), statistics.median(ours)
        print(
            f"{name:9s} penalties first {b:.3f} ms/token | quill {q:.3f} ms/token"
            f" | quill/baseline {q / b:.2f}"
        )


if __name__ == "__main__":
    main()
