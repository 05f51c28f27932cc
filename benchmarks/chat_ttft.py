"""Time to first token of a chat turn as the conversation grows.

Runs quill's own chat path (Chat + Store + LlamaEngine, in process) through a
conversation of short user messages and capped replies, and prints the time to first
token of every turn, then turn 1 against the last turn. With the KV cache kept between
turns, a turn evaluates only its new tokens, so the last turn should start about as
fast as the first (target: last / first <= 1.2) although its prompt is many times
longer.

    .venv/bin/python benchmarks/chat_ttft.py
    python benchmarks/chat_ttft.py --model "$GGUF" --gpu-layers all

Two times are shown: ``engine`` is the engine's own TTFT (request start to first
token); ``e2e`` is from ``Chat.send`` to the first piece, so it also counts saving the
user message, starting the journal and fitting the context. The figures are
medians over ``--repeat`` conversations, each with its own system prompt so none starts
from the previous one's cache.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

MESSAGES = [
    "Suggest a title for a short story about a lighthouse keeper.",
    "Make it more mysterious.",
    "Now write the first sentence.",
    "Give the keeper a name.",
    "What does she fear most?",
    "Describe the lighthouse in one line.",
    "Add a visitor who arrives by boat.",
    "What does the visitor want?",
    "Suggest a twist for the ending.",
    "Summarise the plot in one sentence.",
    "Suggest a different title now.",
    "Which scene should open the story?",
]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="GGUF file (default: quill's embedded default model)")
    p.add_argument("--gpu-layers", default="auto", help="auto, all or a number (default auto)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--ctx", type=int, default=4096, help="context size (default 4096)")
    p.add_argument("--turns", type=int, default=10, help="turns per conversation (default 10)")
    p.add_argument("--max-tokens", type=int, default=48, help="reply cap (default 48)")
    p.add_argument("--repeat", type=int, default=3, help="conversations (default 3)")
    return p.parse_args()


def default_model() -> Path:
    from quill.models import default

    return default.ensure_user_model()


def main() -> int:
    args = parse_args()
    from quill.chat.session import DEFAULT_SYSTEM, Chat
    from quill.engine.base import Message, Sampling
    from quill.engine.llama import LlamaEngine
    from quill.store.db import Store

    if not 2 <= args.turns <= len(MESSAGES):
        sys.exit(f"--turns must be between 2 and {len(MESSAGES)}")
    model = Path(args.model) if args.model else default_model()
    gpu: str | int = args.gpu_layers if args.gpu_layers in ("auto", "all") else int(args.gpu_layers)
    t0 = time.perf_counter()
    engine = LlamaEngine(model, n_ctx=args.ctx, gpu_layers=gpu, threads=args.threads)
    info = engine.info
    print(
        f"model {info.name}: load {time.perf_counter() - t0:.1f} s, context {info.n_ctx}, "
        f"{info.gpu_layers} layers on GPU, {info.threads} threads"
    )
    # Warm up the compute graph on an unrelated prompt, so turn 1 pays no one-time cost.
    engine.complete([Message("user", "Warm up.")], Sampling(temperature=0, max_tokens=4))
    params = Sampling(temperature=0, max_tokens=args.max_tokens)

    engine_ttft: list[list[float]] = [[] for _ in range(args.turns)]
    e2e_ttft: list[list[float]] = [[] for _ in range(args.turns)]
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "quill.db") as store:
        for r in range(args.repeat):
            system = f"Conversation {r + 1}. {DEFAULT_SYSTEM}"
            chat = Chat.open(store, engine, params, name=f"bench-{r + 1}", system=system)
            print(f"\nconversation {r + 1}")
            print("turn  prompt  cached  evaluated  generated  engine ms  e2e ms")
            for i, text in enumerate(MESSAGES[: args.turns]):
                start = time.perf_counter()
                with chat.send(text) as ex:
                    first = None
                    for _piece in ex:
                        if first is None:
                            first = time.perf_counter() - start
                s = ex.close().stats
                engine_ttft[i].append(s.ttft_s)
                e2e_ttft[i].append(first if first is not None else float("nan"))
                print(
                    f"{i + 1:>4}  {s.prompt_tokens:>6}  {s.cached_tokens:>6}  "
                    f"{s.evaluated_tokens:>9}  {s.generated_tokens:>9}  "
                    f"{s.ttft_s * 1000:>9.0f}  {e2e_ttft[i][-1] * 1000:>6.0f}"
                )
    engine.close()

    last = args.turns - 1
    print(f"\nmedian over {args.repeat} conversations, turn 1 vs turn {args.turns}:")
    for label, series in (("engine", engine_ttft), ("e2e", e2e_ttft)):
        first_ms = statistics.median(series[0]) * 1000
        last_ms = statistics.median(series[last]) * 1000
        ratio = last_ms / first_ms if first_ms > 0 else float("nan")
        verdict = "met" if ratio <= 1.2 else "NOT met"
        print(
            f"  {label:<6} TTFT turn 1 {first_ms:7.1f} ms, turn {args.turns} {last_ms:7.1f} ms, "
            f"ratio {ratio:.2f} (target <= 1.2: {verdict})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
