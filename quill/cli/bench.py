"""`quill bench --writing` and `quill bench --speed`."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from quill.cli.run import Run, command
from quill.env import Environment
from quill.errors import UsageError
from quill.render.sanitize import sanitize
from quill.writing import benchwriting
from quill.writing.benchwriting import WritingReport


@command("as_json", "engine", "verbose", "quiet", helps={"as_json": "Print the results as JSON."})
def bench(
    run: Run,
    writing: Annotated[
        bool, typer.Option("--writing", help="Measure the model's writing (the default).")
    ] = False,
    speed: Annotated[
        bool,
        typer.Option(
            "--speed",
            help="Measure speed instead: load, prompt evaluation, generation, first token, "
            "memory, and the settings used.",
        ),
    ] = False,
    pp: Annotated[int, typer.Option("--pp", help="With --speed: prompt tokens to evaluate.")] = 512,
    tg: Annotated[int, typer.Option("--tg", help="With --speed: tokens to generate.")] = 128,
    samples: Annotated[
        int,
        typer.Option("--samples", "-n", help="Drafts of one brief to measure diversity on."),
    ] = 4,
    full: Annotated[
        bool,
        typer.Option("--full", help="Every brief and document of the set (slower)."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="First random seed.")] = 0,
) -> None:
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
    as_json = run.o.as_json
    env = run.env
    if speed and not writing:
        bench_speed(run, pp, tg)
        return
    if samples < 2:
        raise UsageError("--samples must be at least 2 (diversity compares samples)")
    opts = benchwriting.BenchOptions(samples=samples, seed=seed, full=full)
    report = benchwriting.run(run.engine(), opts, progress=env.ui.note)
    if as_json:
        env.stdout.write(json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        print_table(env, report)
    env.stdout.flush()


def bench_speed(run: Run, pp: int, tg: int) -> None:
    from quill import speed

    if pp < 1 or tg < 2:
        raise UsageError("--pp must be at least 1 and --tg at least 2")
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
    """A rich table on a terminal; tab-separated lines when piped."""
    if env.stdout_tty:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        # Text, not str: a model's name is never read as rich markup
        table = Table(title=Text(sanitize(title)), title_justify="left")
        table.add_column(header[0])
        table.add_column(header[1], justify="right")
        table.add_column(header[2], style="dim")
        for row in rows:
            table.add_row(*(Text(sanitize(c)) for c in row))
        Console(
            file=env.stdout,
            force_terminal=True,
            no_color=not env.color,
            highlight=False,
            emoji=False,
        ).print(table)
    else:
        lines = [title, "\t".join(header)] + ["\t".join(sanitize(c) for c in r) for r in rows]
        env.stdout.write("\n".join(lines) + "\n")


def print_table(env: Environment, report: WritingReport) -> None:
    """A rich table on a terminal; plain aligned columns when piped."""
    m = report.model
    title = f"writing figures: {m['name']} (ctx {m['n_ctx']}, seed {report.options.seed})"
    rows = report.rows()
    header = ("figure", "value", "meaning")
    if env.stdout_tty:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        table.add_column(header[0])
        table.add_column(header[1], justify="right")
        table.add_column(header[2], style="dim")
        for row in rows:
            table.add_row(*row)
        Console(
            file=env.stdout,
            force_terminal=True,
            no_color=not env.color,
            highlight=False,
            emoji=False,
        ).print(table)
        out = []
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(2)]
        out = [title]
        for r in [header, *rows]:
            out.append(f"{r[0].ljust(widths[0])}  {r[1].rjust(widths[1])}  {r[2]}")
    leaks = report.figures()["leaks"]["phrases"]
    if leaks:
        out.append("leaked: " + " | ".join(sanitize(p)[:60] for p in leaks[:5]))
    if out:
        env.stdout.write("\n".join(out) + "\n")
