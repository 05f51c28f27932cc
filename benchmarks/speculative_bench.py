"""Speculative decoding, measured before it is built: the 0.5B drafting for the 1.5B.

The two embedded models share a vocabulary and a chat template, so the small one can
guess the next few tokens and the large one can check them in one batched decode. This
script runs greedy speculative decoding on the engines' own contexts (the 1.5B keeps
the longest run of the 0.5B's tokens that equals its own choices, plus its own next
token) side by side with plain greedy decoding on the 1.5B and on the 0.5B, on the same
prompts, and prints tokens per second, the share of drafted tokens kept, and whether
the speculative text is the 1.5B's own. Rounds alternate so machine noise hits all
sides alike. Nothing in quill uses it until it pays off: a ratio under 1 here is the
reason it is not built.

Prompts: a free draft (little to copy) and a proofread (the reply copies its input).
Both engines load without llama.cpp's repacked CPU weights (QUILL_CPU_EXTRA_BUFFERS=0),
so a batch is computed with the same kernels as a single token and the texts can be
compared exactly (see docs/speed.md).

    .venv/bin/python benchmarks/speculative_bench.py [--draft 4] [--tokens 128]
                                                     [--rounds 2] [--json FILE]
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

from quill.engine.base import Message  # noqa: E402

PROMPTS = {
    "draft": [Message("user", "Write a short blog post about walking to work in winter.")],
    "proofread": [
        Message(
            "system",
            "Correct the spelling and grammar of the user's text. Reply with the corrected "
            "text only.",
        ),
        Message(
            "user",
            "The ferry leave the harbour at seven every morning, and the captain know every "
            "regular by name. In winter the crossing take longer, because the wind push the "
            "boat north and the crew has to steer against it the hole way. Passengers brings "
            "coffee in paper cups and watch the island grow out of the fog untill the "
            "lighthouse is close enough to read the date painted on it's door.",
        ),
    ],
}


class Side:
    """One engine's context, driven token by token (greedy)."""

    def __init__(self, engine: Any) -> None:
        import numpy as np

        self.e, self.lc, self.np = engine, engine._lc, np
        self.n_vocab = self.lc.llama_vocab_n_tokens(engine._vocab)
        self.batch = self.lc.llama_batch_init(64, 0, 1)

    def start(self, prompt: list[int]) -> None:
        self.e.reset()
        if not self.e._eval(prompt[:-1]):
            raise RuntimeError("prompt evaluation stopped")

    def decode(self, tokens: list[int], all_logits: bool = False) -> None:
        b, pos = self.batch, len(self.e._tokens)
        b.n_tokens = len(tokens)
        for j, t in enumerate(tokens):
            b.token[j], b.pos[j], b.n_seq_id[j] = t, pos + j, 1
            b.seq_id[j][0] = 0
            b.logits[j] = 1 if all_logits or j == len(tokens) - 1 else 0
        if self.lc.llama_decode(self.e._ctx, b) != 0:
            raise RuntimeError("llama_decode failed")
        self.e._tokens.extend(tokens)

    def best(self, idx: int = -1) -> int:
        row = self.lc.llama_get_logits_ith(self.e._ctx, idx)
        return int(self.np.ctypeslib.as_array(row, shape=(self.n_vocab,)).argmax())

    def keep(self, n: int) -> None:
        """Forget every cache position from ``n`` on."""
        self.lc.llama_memory_seq_rm(self.e._kv.mem, 0, n, -1)
        del self.e._tokens[n:]

    def is_end(self, tok: int) -> bool:
        return bool(self.lc.llama_vocab_is_eog(self.e._vocab, tok))

    def close(self) -> None:
        self.lc.llama_batch_free(self.batch)


def plain(side: Side, prompt: list[int], n: int) -> tuple[list[int], float]:
    side.start(prompt)
    t0 = time.perf_counter()
    out: list[int] = []
    side.decode([prompt[-1]])
    while len(out) < n:
        tok = side.best()
        if side.is_end(tok):
            break
        out.append(tok)
        side.decode([tok])
    return out, time.perf_counter() - t0


def speculative(
    big: Side, small: Side, prompt: list[int], n: int, k: int
) -> tuple[list[int], float, int, int]:
    """Greedy speculative decoding: the output is the big model's greedy text."""
    big.start(prompt)
    small.start(prompt)
    t0 = time.perf_counter()
    out: list[int] = []
    tok = prompt[-1]  # the next token to evaluate on both sides
    pending: list[int] = []  # committed tokens the small model has not evaluated yet
    drafted = kept = 0
    while len(out) < n:
        small.decode([*pending, tok])
        draft = [small.best()]
        for _ in range(k - 1):
            small.decode([draft[-1]])
            draft.append(small.best())
        base = len(big.e._tokens)
        big.decode([tok, *draft], all_logits=True)
        m = 0
        while m < k and big.best(m) == draft[m] and not big.is_end(draft[m]):
            m += 1
        nxt = big.best(m)
        big.keep(base + 1 + m)  # tok and the kept drafts
        drafted, kept = drafted + k, kept + m
        small.keep(base + 1 + min(m, k - 1))
        pending = draft[k - 1 : k] if m == k else []
        out.extend(draft[:m])
        if len(out) >= n or big.is_end(nxt):
            break
        out.append(nxt)
        tok = nxt
    return out[:n], time.perf_counter() - t0, drafted, kept


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", "--big", dest="big", default="qwen2.5-coder-1.5b")
    ap.add_argument("--small", default="qwen2.5-coder-0.5b")
    ap.add_argument("--draft", type=int, default=4, help="tokens the small model drafts")
    ap.add_argument("--tokens", type=int, default=128, help="tokens generated per prompt")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    os.environ["QUILL_CPU_EXTRA_BUFFERS"] = "0"
    from quill.env import EngineOptions, Environment

    env = Environment()
    big_e: Any = env.engine(EngineOptions(args.big, 2048, None, args.threads))
    small_e: Any = Environment().engine(EngineOptions(args.small, 2048, None, args.threads))
    big, small = Side(big_e), Side(small_e)
    rows: list[dict[str, Any]] = []
    for name, messages in PROMPTS.items():
        prompt = big_e.render(messages)
        assert prompt == small_e.render(messages), "the models must share a vocabulary"
        rates: dict[str, list[float]] = {"1.5B plain": [], "0.5B plain": [], "speculative": []}
        same, drafted, kept = True, 0, 0
        for _ in range(args.rounds):
            ref, s_big = plain(big, prompt, args.tokens)
            small_out, s_small = plain(small, prompt, args.tokens)
            spec, s_spec, d, k = speculative(big, small, prompt, args.tokens, args.draft)
            same = same and spec == ref
            drafted, kept = drafted + d, kept + k
            rates["1.5B plain"].append(len(ref) / s_big)
            rates["0.5B plain"].append(len(small_out) / s_small)
            rates["speculative"].append(len(spec) / s_spec)
        row: dict[str, Any] = {k: statistics.median(v) for k, v in rates.items()}
        row.update(
            prompt=name,
            kept_share=kept / drafted if drafted else 0.0,
            same_text=same,
            ratio=row["speculative"] / row["1.5B plain"],
        )
        rows.append(row)
        print(
            f"{name:10} 1.5B plain {row['1.5B plain']:.1f} tok/s, 0.5B plain "
            f"{row['0.5B plain']:.1f}, speculative (draft {args.draft}) "
            f"{row['speculative']:.1f} = {row['ratio']:.2f}x the 1.5B; drafted tokens kept "
            f"{row['kept_share']:.2f}; same text as the 1.5B: {same}",
            flush=True,
        )
    big.close()
    small.close()
    if args.json:
        info = {"machine": platform.machine(), "cpus": os.cpu_count(), "args": vars(args)}
        Path(args.json).write_text(json.dumps({"run": info, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
