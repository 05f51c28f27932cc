"""Every shared option, declared once, in four groups, and the decorator that gives a
command the groups it takes.

- engine: the rows of :data:`quill.config.SETTINGS` (flag, environment variable, config
  key, parser, default); accepted before the command too (``quill --ctx 4096 draft …``).
- sampling: --preset (a settings row too), --temperature, --top-p, --min-p,
  --repeat-penalty, --seed, --max-tokens.
- keep: --out, --force, --draft, --title, --no-save.
- show: --stats, --plain, --verbose, --quiet, --encoding.

A command names the groups (or single options) it takes and the options it leaves out::

    @command("engine", "sampling", "keep", "show", template="rewrite")
    def rewrite(run: Run, file: FileArg = None, …) -> None: …

and receives one :class:`~quill.cli.run.Run` holding their values (``run.o``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from quill.cli.run import Run
from quill.config import SETTINGS, Setting


@dataclass(frozen=True)
class Opt:
    """One option: its parameter name (a field of :class:`~quill.cli.run.Options`), its
    flags, type, default and help; ``setting`` names its row in the settings table."""

    name: str
    decls: tuple[str, ...]
    type: Any
    default: Any
    help: str
    metavar: str | None = None
    setting: str | None = None
    secret: bool = False

    def annotation(self, help: str | None = None) -> Any:
        info = typer.Option(
            *self.decls,
            help=help or self.help,
            metavar=self.metavar,
            show_default=not self.secret,
        )
        return Annotated[self.type, info]


def from_setting(s: Setting, name: str | None = None) -> Opt:
    decls = (s.flag, s.short) if s.short else (s.flag,)
    help = f"{s.help} [env var: {s.env}; config: {s.name}]"
    return Opt(name or s.name, decls, str | None, None, help, s.metavar, s.name, s.secret)


_ROWS = {s.name: s for s in SETTINGS}
ENGINE: tuple[Opt, ...] = tuple(
    from_setting(s, "n_ctx" if s.name == "ctx" else None) for s in SETTINGS if s.name != "preset"
)
SAMPLING: tuple[Opt, ...] = (
    from_setting(_ROWS["preset"]),
    Opt(
        "temperature",
        ("--temperature", "-t"),
        float | None,
        None,
        "Sampling temperature; 0 is deterministic.",
    ),
    Opt("top_p", ("--top-p",), float | None, None, "Nucleus sampling threshold."),
    Opt("min_p", ("--min-p",), float | None, None, "Minimum token probability."),
    Opt(
        "repeat_penalty",
        ("--repeat-penalty",),
        float | None,
        None,
        "Penalty for repeated tokens (1 = off).",
    ),
    Opt("seed", ("--seed",), int | None, None, "Random seed, for repeatable output."),
    Opt("max_tokens", ("--max-tokens",), int | None, None, "Most tokens to generate."),
)
KEEP: tuple[Opt, ...] = (
    Opt(
        "out",
        ("--out", "-o"),
        str | None,
        None,
        "Also write the text to FILE (atomically).",
        "FILE",
    ),
    Opt("force", ("--force", "-f"), bool, False, "Overwrite --out if it exists."),
    Opt(
        "draft_id",
        ("--draft",),
        int | None,
        None,
        "Save the result as the next version of draft ID.",
        "ID",
    ),
    Opt(
        "title",
        ("--title",),
        str | None,
        None,
        "Title of the new draft (default: derived from the text).",
    ),
    Opt("no_save", ("--no-save",), bool, False, "Do not keep the result as a draft."),
)
SHOW: tuple[Opt, ...] = (
    Opt("stats", ("--stats",), bool, False, "Print token counts and speed on stderr."),
    Opt("plain", ("--plain",), bool, False, "Raw text, no Markdown rendering."),
    Opt("verbose", ("--verbose", "-v"), bool, False, "Show llama.cpp's log."),
    Opt("quiet", ("--quiet", "-q"), bool, False, "No notes, progress or report on stderr."),
    Opt(
        "encoding",
        ("--encoding",),
        str | None,
        None,
        "The input's text encoding when it is not UTF-8 (gbk, latin-1, cp1252…); UTF-8 "
        "and UTF-16/32 with a BOM are recognised without it.",
        "NAME",
    ),
)
GROUPS: dict[str, tuple[Opt, ...]] = {
    "engine": ENGINE,
    "sampling": SAMPLING,
    "keep": KEEP,
    "show": SHOW,
}
BY_NAME: dict[str, Opt] = {o.name: o for group in GROUPS.values() for o in group}

# Arguments and options several commands declare alike.
FileArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[FILE|-]",
        help="The text: a file, or - (or nothing) for stdin; with --draft ID and no "
        "input, that draft's latest version.",
        show_default=False,
    ),
]
LangOpt = Annotated[
    str | None, typer.Option("--lang", help="Language to write in (default: the text's).")
]
StyleOpt = Annotated[
    str | None,
    typer.Option(
        "--style", metavar="NAME", help="Write in a voice learned with `quill style learn`."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead.")]

# The options one by one, for a command that declares its own signature.
ModelOpt = BY_NAME["model"].annotation()
CtxOpt = BY_NAME["n_ctx"].annotation()
GpuOpt = BY_NAME["gpu_layers"].annotation()
ThreadsOpt = BY_NAME["threads"].annotation()
SeedOpt = BY_NAME["seed"].annotation()
StatsOpt = BY_NAME["stats"].annotation()
PlainOpt = BY_NAME["plain"].annotation()
VerboseOpt = BY_NAME["verbose"].annotation()
EncodingOpt = BY_NAME["encoding"].annotation()
OutOpt = BY_NAME["out"].annotation()
ForceOpt = BY_NAME["force"].annotation()

F = TypeVar("F", bound=Callable[..., Any])


def pick(uses: tuple[str, ...], leave_out: tuple[str, ...] = ()) -> list[Opt]:
    """The options of the groups (or single options) named in ``uses``."""
    chosen: list[Opt] = []
    for use in uses:
        for o in GROUPS.get(use) or (BY_NAME[use],):
            if o.name not in leave_out and o not in chosen:
                chosen.append(o)
    unknown = set(leave_out) - {o.name for group in GROUPS.values() for o in group}
    assert not unknown, f"no such options: {unknown}"
    return chosen


def command(
    *uses: str,
    leave_out: tuple[str, ...] = (),
    helps: Mapping[str, str] | None = None,
    verb: str | None = None,
    template: str | None = None,
) -> Callable[[F], F]:
    """Give a command the options of ``uses`` (group names or option names), less
    ``leave_out``, with the help ``helps`` changes. The command's first parameter is
    ``run``: the :class:`~quill.cli.run.Run` built from those options; its own
    parameters (arguments and the options only it has) follow."""
    chosen = pick(uses, leave_out)
    helps = helps or {}
    assert set(helps) <= {o.name for o in chosen}, set(helps) - {o.name for o in chosen}

    def wrap(fn: F) -> F:
        own = list(inspect.signature(fn, eval_str=True).parameters.values())
        assert own and own[0].name == "run", f"{fn.__name__}: the first parameter is run"
        params = [
            inspect.Parameter(
                "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
            ),
            *own[1:],
            *(
                inspect.Parameter(
                    o.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=o.annotation(helps.get(o.name)),
                    default=o.default,
                )
                for o in chosen
            ),
        ]
        name = verb or fn.__name__.rstrip("_")

        @functools.wraps(fn)
        def run_command(ctx: typer.Context, **kwargs: Any) -> Any:
            values = {o.name: kwargs.pop(o.name) for o in chosen}
            return fn(Run(ctx, values, verb=name, template=template), **kwargs)

        run_command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run_command.__annotations__ = {p.name: p.annotation for p in params}
        run_command.options = tuple(chosen)  # type: ignore[attr-defined]
        return run_command  # type: ignore[return-value]

    return wrap
