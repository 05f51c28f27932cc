"""`quill bench --writing` and `quill bench --speed`."""

from __future__ import annotations

import json
import time

from quill.cli.report import print_rows
from quill.cli.run import Run, command
from quill.env import Environment
from quill.errors import UsageError
from quill.render.sanitize import sanitize
from quill.writing import benchwriting


@command(
    "writing",
    "speed",
    "pp",
    "tg",
    "samples",
    "full",
    "seed",
    "as_json",
    "engine",
    "verbose",
    "quiet",
    helps={"as_json": "Print the results as JSON.", "seed": "First random seed (default: 0)."},
)
def bench(run: Run) -> None:
    """Measure the writing a model does on quill's own evaluation set.

    Drafts of one brief (diversity: distinct-2 across --samples drafts; stability:
    repeated 4-grams and the share that ends by itself) and summaries of a long
    document (length against the length asked, copy rate, complete final sentence,
    facts carried), and phrases where a text talks about its brief. The quick set takes
    a few minutes on a CPU; --full runs every brief and document.

    --speed measures how fast the model runs here instead: load time, prompt evaluation
    (pp512) and generation (tg128) in tokens/s, time to first token of a short prompt,
    peak memory, and the settings used (threads, batch sizes, GPU layers, flash
    attention, KV cache type, backend). It takes under a minute on a CPU.

    Examples:

      quill bench --writing

      quill bench --speed --model qwen2.5-coder-1.5b --json

      quill bench --writing --samples 8 --seed 7 --json > writing.json
    """
    o, env = run.o, run.env
    if o.speed and not o.writing:
        bench_speed(run, o.pp, o.tg)
        return
    if o.samples < 2:
        raise UsageError("--samples must be at least 2 (diversity compares samples)")
    opts = benchwriting.BenchOptions(samples=o.samples, seed=o.seed or 0, full=o.full)
    report = benchwriting.run(run.engine(), opts, progress=env.ui.note)
    if o.as_json:
        env.stdout.write(json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        m = report.model
        title = f"writing figures: {m['name']} (ctx {m['n_ctx']}, seed {report.options.seed})"
        _table(env, title, ("figure", "value", "meaning"), report.rows())
        leaks = report.figures()["leaks"]["phrases"]
        if leaks:
            env.stdout.write("leaked: " + " | ".join(sanitize(p)[:60] for p in leaks[:5]) + "\n")
    env.stdout.flush()


def bench_speed(run: Run, pp: int, tg: int) -> None:
    from quill import speed

    env = run.env
    t0 = time.perf_counter()
    engine = run.engine()
    load_s = time.perf_counter() - t0
    report = speed.measure(engine, speed.SpeedOptions(pp=pp, tg=tg), load_s=load_s)
    for note in report.notes:
        env.ui.note(note)
    if run.o.as_json:
        env.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        m = report.model
        title = f"speed: {m['name']} ({m['backend']}, ctx {m['n_ctx']})"
        _table(env, title, ("figure", "value", "what"), report.rows())
    env.stdout.flush()


def _table(
    env: Environment, title: str, header: tuple[str, str, str], rows: list[tuple[str, str, str]]
) -> None:
    """The title, then the rows: aligned under a header on a terminal, tab-separated
    when piped (:func:`~quill.cli.report.print_rows`, as every listing)."""
    env.stdout.write(sanitize(title) + "\n")
    print_rows(env, header, rows)
