"""Streaming speed: quill's generation path against a raw llama.cpp decode loop.

Both run in this one process on the same GGUF file, with the same context size, batch
size and thread count, alternating round by round so machine noise hits both alike:

- raw:   llama-cpp-python's low-level API; tokenize, decode the prompt, then greedy
         sample + one llama_decode per token, detokenizing each token once.
- quill: LlamaEngine.stream() wrapped in the loop guard, written through the same
         sanitizing RawSink that `quill draft | …` uses (to /dev/null).

Prints generation tok/s and time to first token for each, and the ratio quill/raw
(target >= 0.95). Usage:

    python benchmarks/stream_bench.py [--model PATH] [--gpu-layers auto|all|N]
                                      [--tokens 128] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quill.engine.base import Message, Sampling
from quill.engine.hardware import default_threads, resolve_gpu_layers, use_extra_buffers
from quill.engine.llama import N_BATCH, LlamaEngine, import_llama_cpp
from quill.engine.loop import guarded
from quill.render.stream import RawSink

SYSTEM = "You are a helpful writer."
PROMPT = (
    "Write a long, detailed essay about the history of lighthouses, their keepers, "
    "and how the technology changed from fires to lenses to automation."
)


class RawLoop:
    """The baseline: the smallest correct greedy decode loop on the low-level API."""

    def __init__(self, path: str, n_ctx: int, n_gpu: int, threads: int) -> None:
        lc = import_llama_cpp()
        self.lc = lc
        lc.llama_backend_init()
        mp = lc.llama_model_default_params()
        mp.n_gpu_layers = 999 if n_gpu < 0 else n_gpu
        mp.use_extra_bufts = use_extra_buffers()
        self.model = lc.llama_model_load_from_file(path.encode(), mp)
        self.vocab = lc.llama_model_get_vocab(self.model)
        cp = lc.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_batch = cp.n_ubatch = N_BATCH
        cp.n_threads = threads
        cp.n_threads_batch = max(threads, os.cpu_count() or threads)
        cp.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_AUTO
        cp.no_perf = True
        self.ctx = lc.llama_init_from_model(self.model, cp)
        self.mem = lc.llama_get_memory(self.ctx)

    def run(self, prompt: list[int], n_tokens: int) -> tuple[int, float, float]:
        lc = self.lc
        lc.llama_memory_clear(self.mem, True)
        smpl = lc.llama_sampler_init_greedy()
        buf = ctypes.create_string_buffer(256)
        t0 = time.perf_counter()
        for s in range(0, len(prompt), N_BATCH):
            chunk = prompt[s : s + N_BATCH]
            arr = (lc.llama_token * len(chunk))(*chunk)
            lc.llama_decode(self.ctx, lc.llama_batch_get_one(arr, len(chunk)))
        one = (lc.llama_token * 1)()
        n = 0
        t_first = t_last = t0
        out = bytearray()
        for i in range(n_tokens):
            tok = lc.llama_sampler_sample(smpl, self.ctx, -1)
            if lc.llama_vocab_is_eog(self.vocab, tok):
                break
            k = lc.llama_token_to_piece(self.vocab, tok, buf, 256, 0, False)
            out += buf.raw[:k]
            t_last = time.perf_counter()
            if i == 0:
                t_first = t_last
            n += 1
            one[0] = tok
            lc.llama_decode(self.ctx, lc.llama_batch_get_one(one, 1))
        lc.llama_sampler_free(smpl)
        return n, t_first - t0, t_last - t_first


def run_quill(
    engine: LlamaEngine, messages: list[Message], n_tokens: int
) -> tuple[int, float, float]:
    engine.reset()  # no prompt cache between rounds: same work as the raw loop
    params = Sampling(temperature=0, repeat_penalty=1.0, max_tokens=n_tokens)
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        sink = RawSink(devnull)
        stats = None
        for piece in guarded(engine.stream(messages, params)):
            sink.feed(piece.text)
            if piece.stats is not None:
                stats = piece.stats
        sink.close()
    assert stats is not None
    return stats.generated_tokens, stats.ttft_s, stats.gen_s


def rate(n: int, gen_s: float) -> float:
    return (n - 1) / gen_s if n > 1 and gen_s > 0 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", help="GGUF file (default: the embedded default model)")
    ap.add_argument("--gpu-layers", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    path = args.model
    if path is None:
        from quill.models import default

        path = str(default.ensure_user_model())
    threads = args.threads or default_threads()
    lc = import_llama_cpp()
    gpu_spec = args.gpu_layers if args.gpu_layers in ("auto", "all") else int(args.gpu_layers)
    n_gpu = resolve_gpu_layers(gpu_spec, bool(lc.llama_supports_gpu_offload()))

    engine = LlamaEngine(path, n_ctx=args.ctx, gpu_layers=gpu_spec, threads=threads)
    raw = RawLoop(path, args.ctx, n_gpu, threads)
    messages = [Message("system", SYSTEM), Message("user", PROMPT)]
    prompt = engine.render(messages)
    print(f"model: {path}")
    print(
        f"threads: {threads}  ctx: {args.ctx}  gpu layers: {engine.info.gpu_layers}"
        f"  prompt: {len(prompt)} tokens  generate: up to {args.tokens} tokens"
    )

    raw.run(prompt, 8)  # warm-up both (first-touch of weights, graph allocation)
    run_quill(engine, messages, 8)
    raw_rates, quill_rates, raw_ttft, quill_ttft = [], [], [], []
    for r in range(args.rounds):
        n, ttft, gen = raw.run(prompt, args.tokens)
        raw_rates.append(rate(n, gen))
        raw_ttft.append(ttft)
        m, qttft, qgen = run_quill(engine, messages, args.tokens)
        quill_rates.append(rate(m, qgen))
        quill_ttft.append(qttft)
        print(
            f"round {r + 1}: raw {raw_rates[-1]:7.1f} tok/s ({n} tok, ttft {ttft * 1000:.0f} ms)"
            f" | quill {quill_rates[-1]:7.1f} tok/s ({m} tok, ttft {qttft * 1000:.0f} ms)"
        )
    rr, qr = statistics.median(raw_rates), statistics.median(quill_rates)
    rt, qt = statistics.median(raw_ttft) * 1000, statistics.median(quill_ttft) * 1000
    print(f"raw llama.cpp loop : {rr:.1f} tok/s, first token {rt:.0f} ms")
    print(f"quill stream       : {qr:.1f} tok/s, first token {qt:.0f} ms")
    print(f"ratio quill/raw    : {qr / rr:.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()
