"""`quill bench --writing`."""

from __future__ import annotations

import json
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
        bool,
        typer.Option(
            "--writing", help="Measure the model's writing (the default, and so far the only)."
        ),
    ] = False,
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

    Examples:

      quill bench --writing

      quill bench --writing --samples 8 --seed 7 --json > writing.json
    """
    as_json = run.o.as_json
    env = run.env
    del writing  # the one measure there is: chosen with or without the flag
    if samples < 2:
        raise UsageError("--samples must be at least 2 (diversity compares samples)")
    opts = benchwriting.BenchOptions(samples=samples, seed=seed, full=full)
    report = benchwriting.run(run.engine(), opts, progress=env.ui.note)
    if as_json:
        env.stdout.write(json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        print_table(env, report)
    env.stdout.flush()


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
