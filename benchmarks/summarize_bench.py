"""How close `quill summarize` comes to the cost of the tokens it must process.

On one engine, in one run:

1. measures the engine's prompt-eval rate (a ~512-token prompt) and generation rate
   (~64 generated tokens), before and after the summary, so a machine whose load drifts
   shows it;
2. summarizes a document long enough to need map-reduce through quill's own summarize
   code (plan, chunking, map and reduce steps), timing all of it;
3. prints the actual time, the bound

       evaluated prompt tokens / prompt-eval rate + generated tokens / generation rate

   summed over every step, and the ratio actual / bound. A ratio near 1 means no time
   goes anywhere but evaluating the tokens that must be evaluated; the target is
   <= 1.25. No absolute time is a pass or a fail.

    python benchmarks/summarize_bench.py [--model PATH] [--ctx 2048] [--gpu-layers auto]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quill.engine.base import Message, Sampling  # noqa: E402
from quill.writing.summarize import Summarizer, SummaryOptions  # noqa: E402
from quill.writing.summary_job import StepDone  # noqa: E402

FILLER = (
    "The committee met on a grey morning to review the accounts of the harbor, the "
    "repairs to the breakwater, the price of fuel, and the plans for the summer fair. "
)


def default_model() -> Path:
    from quill.models import default

    return default.ensure_user_model()


def measure_rates(engine: Any, seed: int) -> tuple[float, float]:
    """(prompt tokens/s, generated tokens/s) of this engine now, from one request: a
    ~512-token prompt, then up to 64 generated tokens."""
    # A fresh number first, so no cached prefix shortens the prompt.
    ask = "Count from 1 to 100 in words, separated by commas."
    msgs = [Message("user", f"{seed}. {FILLER * 14}\n\n{ask}")]
    result = engine.complete(msgs, Sampling(temperature=0, repeat_penalty=1.0, max_tokens=64))
    s = result.stats
    return s.evaluated_tokens / s.prompt_s, s.tokens_per_s


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="GGUF file (default: the embedded default model)")
    ap.add_argument("--ctx", type=int, default=2048, help="context size (default 2048)")
    ap.add_argument("--gpu-layers", default="auto", help="auto, all or a number")
    ap.add_argument("--threads", type=int, help="CPU threads (default: all usable)")
    ap.add_argument("--file", default=str(ROOT / "tests" / "data" / "saltmere_report.md"))
    ap.add_argument("--length", default="short")
    ap.add_argument("--format", default="bullets")
    args = ap.parse_args()

    from quill.engine.llama import LlamaEngine

    model = Path(args.model) if args.model else default_model()
    engine = LlamaEngine(model, n_ctx=args.ctx, gpu_layers=args.gpu_layers, threads=args.threads)
    info = engine.info
    print(
        f"model {info.name}  ctx {info.n_ctx}  gpu layers {info.gpu_layers}  threads {info.threads}"
    )
    engine.complete(  # warm-up: first-use costs belong to no one
        [Message("user", "Hi")],
        Sampling(temperature=0, max_tokens=4),
    )

    before = [measure_rates(engine, k) for k in (1, 2)]
    for pp, tg in before:
        print(f"rates before: prompt eval {pp:,.1f} tok/s, generation {tg:,.1f} tok/s")

    text = Path(args.file).read_text(encoding="utf-8")
    summarizer = Summarizer(
        engine,
        SummaryOptions(length=args.length, format=args.format),
        Sampling(temperature=0, repeat_penalty=1.12),
    )
    t0 = time.perf_counter()
    plan = summarizer.plan(text, Path(args.file).name)
    job = summarizer.start(plan)
    for ev in summarizer.run(job):
        if isinstance(ev, StepDone):
            s = ev.stats
            print(
                f"  {ev.kind} {ev.done}/{ev.steps}: {ev.tokens} tok in, "
                f"{s.evaluated_tokens} evaluated, {s.generated_tokens} generated ({ev.finish})"
            )
    result = summarizer.finish(job)
    actual = time.perf_counter() - t0
    fs = result.stats
    print(
        f"  final: {fs.evaluated_tokens} evaluated, {fs.generated_tokens} generated "
        f"({result.finish})"
    )

    after = [measure_rates(engine, k) for k in (3, 4)]
    for pp, tg in after:
        print(f"rates after:  prompt eval {pp:,.1f} tok/s, generation {tg:,.1f} tok/s")
    engine.close()

    total = job.total
    samples = before + after
    pp = median([p for p, _ in samples])
    tg = median([g for _, g in samples])
    bound = total.evaluated_tokens / pp + total.generated_tokens / tg
    engine_s = total.prompt_s + total.gen_s
    print()
    print(
        f"document: {plan.tokens:,} tokens, {len(plan.chunks)} chunks (budget "
        f"{plan.chunk_budget}), {job.passes} passes, {len(job.stats)} model calls"
    )
    print(
        f"prompt tokens {total.prompt_tokens:,} ({total.cached_tokens:,} from cache, "
        f"{total.evaluated_tokens:,} evaluated = {total.evaluated_tokens / plan.tokens:.2f} x "
        f"the document), generated {total.generated_tokens:,}"
    )
    print(
        f"actual {actual:.1f} s (engine prompt {total.prompt_s:.1f} s + generation "
        f"{total.gen_s:.1f} s = {engine_s:.1f} s; everything else {actual - engine_s:.2f} s)"
    )
    print(
        f"bound  {bound:.1f} s = {total.evaluated_tokens:,} / {pp:,.1f} tok/s + "
        f"{total.generated_tokens:,} / {tg:,.1f} tok/s (median rates of 4 samples)"
    )
    ratios = [
        actual / (total.evaluated_tokens / p + total.generated_tokens / g) for p, g in samples
    ]
    print(f"  ratio with each sample's rates: {', '.join(f'{r:.3f}' for r in ratios)}")
    ratio = actual / bound
    print(f"ratio actual / bound = {ratio:.3f}  (target <= 1.25)")


if __name__ == "__main__":
    main()
