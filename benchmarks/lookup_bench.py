"""Prompt-lookup decoding on proofreading: the same run with it and without it.

One process, one engine (same model file, context, threads, sampler chain), the same
~500-word English text from ``quill/evalset/proofread.toml`` proofread as `quill
proofread` does it (sentence by sentence, the template's sampling: temperature 0), first
with plain decoding (``Sampling.lookup = 0``), then with prompt lookup, alternating
round by round so machine noise hits both alike. The grammar checker is left out
(it does not touch the model's speed).

Prints for each side the output tokens per second over the whole run (prompt evaluation
included, start-up excluded), generation tokens per second (each reply's first token
excluded, as Stats counts it), the drafted and accepted tokens, whether the texts are
the same, and the ratios lookup/plain (target >= 1.5). ``--json FILE`` keeps the run.

    .venv/bin/python benchmarks/lookup_bench.py [--model qwen2.5-coder-0.5b] [--rounds 2]
                                                [--words 500] [--json FILE]
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

from quill import prompts  # noqa: E402
from quill.engine.base import Engine, Message, Sampling  # noqa: E402
from quill.engine.lookup import DEFAULT_DRAFT  # noqa: E402
from quill.evalset.proofread import paragraphs  # noqa: E402
from quill.writing import proofread as pr  # noqa: E402
from quill.writing.presets import sampling  # noqa: E402
from quill.writing.textstats import count_words  # noqa: E402

TEMPLATE_KEYS = ("temperature", "top_p", "min_p", "repeat_penalty")


def text_of(words: int) -> str:
    """English paragraphs of the evaluation set, in order, until ``words`` words; the
    first paragraph cut to ``words`` when that is shorter."""
    out: list[str] = []
    for p in paragraphs("all", "English"):
        out.append(p.text.strip())
        if count_words("\n\n".join(out)) >= words:
            break
    text = "\n\n".join(out)
    if count_words(text) > words * 1.5:  # a tiny --words: cut at a sentence
        cut = text.split(". ")
        keep: list[str] = []
        while cut and count_words(". ".join(keep)) < words:
            keep.append(cut.pop(0))
        text = ". ".join(keep).rstrip(".") + "."
    return text + "\n"


def params_of(template: dict[str, Any]) -> Sampling:
    spec = template.get("sampling", {})
    spec = spec if isinstance(spec, dict) else {}
    over = {k: spec[k] for k in TEMPLATE_KEYS if k in spec}
    preset = str(spec.get("preset") or "precise")
    return sampling(preset, int(spec.get("max_tokens", 1024)), seed=0, **over)


def one_run(
    engine: Engine, text: str, template: dict[str, Any], params: Sampling
) -> dict[str, Any]:
    reset = getattr(engine, "reset", None)
    if callable(reset):
        reset()  # both sides start with nothing cached
    t0 = time.perf_counter()
    final, _, run = pr.proofread_text(engine, params, text, template)
    wall = time.perf_counter() - t0
    rs = [r.stats for r in run.results]
    generated = sum(s.generated_tokens for s in rs)
    gen_s = sum(s.gen_s for s in rs)
    after_first = sum(max(0, s.generated_tokens - 1) for s in rs)
    return {
        "seconds": wall,
        "requests": len(rs),
        "generated": generated,
        "tokens_per_s": generated / wall if wall > 0 else 0.0,
        "gen_tokens_per_s": after_first / gen_s if gen_s > 0 else 0.0,
        "prompt_s": sum(s.prompt_s for s in rs),
        "drafted": sum(s.drafted_tokens for s in rs),
        "accepted": sum(s.accepted_tokens for s in rs),
        "text": final,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="a model name or GGUF path (default: quill's)")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--words", type=int, default=500, help="words of text to proofread")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument(
        "--lookup", type=int, default=DEFAULT_DRAFT, help="tokens drafted at most per step"
    )
    ap.add_argument("--json", metavar="FILE", default=None)
    args = ap.parse_args(argv)

    from quill.env import EngineOptions, Environment

    engine = Environment().engine(EngineOptions(args.model, args.ctx, None, args.threads))
    text = text_of(args.words)
    template = prompts.load("proofread")
    params = params_of(template)
    engine.complete([Message("user", "Hi")], Sampling(temperature=0, max_tokens=2, lookup=0))
    sides = {"plain": params.with_(lookup=0), "lookup": params.with_(lookup=args.lookup)}
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in sides}
    for r in range(args.rounds):
        for name, p in sides.items():
            rec = one_run(engine, text, template, p)
            runs[name].append(rec)
            print(
                f"round {r + 1} {name:6}: {rec['generated']} tokens in {rec['seconds']:.1f} s, "
                f"{rec['tokens_per_s']:.1f} tok/s overall, {rec['gen_tokens_per_s']:.1f} "
                f"generating; drafted {rec['drafted']}, accepted {rec['accepted']}",
                file=sys.stderr,
            )

    def med(name: str, key: str) -> float:
        return statistics.median(rec[key] for rec in runs[name])

    same = all(a["text"] == b["text"] for a, b in zip(runs["plain"], runs["lookup"], strict=True))
    ratio = med("lookup", "tokens_per_s") / max(med("plain", "tokens_per_s"), 1e-9)
    gen_ratio = med("lookup", "gen_tokens_per_s") / max(med("plain", "gen_tokens_per_s"), 1e-9)
    settings = getattr(engine, "settings", None)
    result = {
        "benchmark": "lookup_bench",
        "model": engine.info.name,
        "path": engine.info.path,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "settings": settings() if callable(settings) else {},
        "sampling": {k: v for k, v in params.__dict__.items() if k != "lookup"},
        "words": count_words(text),
        "text_tokens": engine.count(text),
        "rounds": args.rounds,
        "draft_most": args.lookup,
        "runs": {
            k: [{x: y for x, y in rec.items() if x != "text"} for rec in v] for k, v in runs.items()
        },
        "same_text": same,
        "ratio_tokens_per_s": ratio,
        "ratio_gen_tokens_per_s": gen_ratio,
    }
    print(
        f"proofread of {result['words']} words ({result['text_tokens']} tokens), "
        f"{engine.info.name}, {args.rounds} round(s): plain {med('plain', 'tokens_per_s'):.1f} "
        f"tok/s, lookup {med('lookup', 'tokens_per_s'):.1f} tok/s, ratio {ratio:.2f} "
        f"(generation only: ratio {gen_ratio:.2f}); same text: {'yes' if same else 'NO'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    close = getattr(engine, "close", None)
    if callable(close):
        close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
