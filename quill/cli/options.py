"""Every shared option, declared once: four groups, the text argument and a few
options several commands take alike (SHARED), and the values a run holds (Options).

- engine: the rows of :data:`quill.config.SETTINGS` (flag, environment variable, config
  key, parser, default); accepted before the command too (``quill --ctx 4096 draft …``).
- sampling: --preset (a settings row too), --temperature, --top-p, --min-p,
  --repeat-penalty, --seed, --max-tokens.
- keep: --out, --force, --draft, --title, --no-save.
- show: --stats, --plain, --verbose, --quiet, --encoding.
- SHARED: the text argument FILE, --lang, --style, --json, --yes.

A command names the groups (or single options) it takes and the options it leaves out::

    @command("file", "engine", "sampling", "keep", "show", "lang", template="outline")
    def outline(run: Run) -> None: …

(:func:`quill.cli.run.command`) and receives one :class:`~quill.cli.run.Run` holding
their values (``run.o``, an :class:`Options`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from quill.config import SETTINGS, Setting
from quill.env import EngineOptions


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
    argument: bool = False  # a positional argument (FILE), not an option

    def annotation(self, help: str | None = None) -> Any:
        if self.argument:
            arg = typer.Argument(metavar=self.metavar, help=help or self.help, show_default=False)
            return Annotated[self.type, arg]
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
# the sampling values a template's [sampling] table may set (besides preset and max_tokens)
TEMPLATE_KEYS = ("temperature", "top_p", "min_p", "repeat_penalty")
ENGINE: tuple[Opt, ...] = tuple(
    from_setting(s, "n_ctx" if s.name == "ctx" else None) for s in SETTINGS if s.name != "preset"
)
# name, flags, type, default, help, metavar
SAMPLING: tuple[Opt, ...] = (
    from_setting(_ROWS["preset"]),
    Opt("temperature", ("--temperature", "-t"), float | None, None,
        "Sampling temperature; 0 is deterministic."),
    Opt("top_p", ("--top-p",), float | None, None, "Nucleus sampling threshold."),
    Opt("min_p", ("--min-p",), float | None, None, "Minimum token probability."),
    Opt("repeat_penalty", ("--repeat-penalty",), float | None, None,
        "Penalty for repeated tokens (1 = off)."),
    Opt("seed", ("--seed",), int | None, None, "Random seed, for repeatable output."),
    Opt("max_tokens", ("--max-tokens",), int | None, None, "Most tokens to generate."),
)  # fmt: skip
KEEP: tuple[Opt, ...] = (
    Opt("out", ("--out", "-o"), str | None, None, "Also write the text to FILE (atomically).",
        "FILE"),
    Opt("force", ("--force", "-f"), bool, False, "Overwrite --out if it exists."),
    Opt("draft_id", ("--draft",), int | None, None,
        "Save the result as the next version of draft ID.", "ID"),
    Opt("title", ("--title",), str | None, None,
        "Title of the new draft (default: derived from the text)."),
    Opt("no_save", ("--no-save",), bool, False, "Do not keep the result as a draft."),
)  # fmt: skip
SHOW: tuple[Opt, ...] = (
    Opt("stats", ("--stats",), bool, False, "Print token counts and speed on stderr."),
    Opt("plain", ("--plain",), bool, False, "Raw text, no Markdown rendering."),
    Opt("verbose", ("--verbose", "-v"), bool, False, "Show llama.cpp's log."),
    Opt("quiet", ("--quiet", "-q"), bool, False, "No notes, progress or report on stderr."),
    Opt("encoding", ("--encoding",), str | None, None,
        "The input's text encoding when it is not UTF-8 (gbk, latin-1, cp1252…); UTF-8 "
        "and UTF-16/32 with a BOM are recognised without it.", "NAME"),
)  # fmt: skip
GROUPS = {"engine": ENGINE, "sampling": SAMPLING, "keep": KEEP, "show": SHOW}
# What several commands take alike, outside the groups: named one by one in @command.
SHARED: tuple[Opt, ...] = (
    Opt("file", ("file",), str | None, None,
        "The text: a file, or - (or nothing) for stdin; with --draft ID and no input, that "
        "draft's latest version.", "[FILE|-]", argument=True),
    Opt("lang", ("--lang",), str | None, None, "Language to write in (default: the text's)."),
    Opt("style", ("--style",), str | None, None,
        "Write in a voice learned with `quill style learn`.", "NAME"),
    Opt("as_json", ("--json",), bool, False, "Print JSON instead."),
    Opt("yes", ("--yes", "-y"), bool, False, "Do not ask."),
)  # fmt: skip
BY_NAME: dict[str, Opt] = {o.name: o for g in (*GROUPS.values(), SHARED) for o in g}


def with_options(
    fn: Any, params: list[inspect.Parameter], opts: list[Opt], helps: Mapping[str, str]
) -> Any:
    """``fn`` with the signature typer reads: ``params``, then ``opts`` as keyword options
    (their help changed where ``helps`` says)."""
    params = params + [
        inspect.Parameter(
            o.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=o.annotation(helps.get(o.name)),
            default=o.default,
        )
        for o in opts
    ]
    fn.__signature__ = inspect.Signature(params)
    fn.__annotations__ = {p.name: p.annotation for p in params}
    return fn


def pick(uses: tuple[str, ...], leave_out: tuple[str, ...] = ()) -> list[Opt]:
    """The options of the groups (or single options) named in ``uses``."""
    chosen: list[Opt] = []
    for use in uses:
        for o in GROUPS.get(use) or (BY_NAME[use],):
            if o.name not in leave_out and o not in chosen:
                chosen.append(o)
    unknown = set(leave_out) - set(BY_NAME)
    assert not unknown, f"no such options: {unknown}"
    return chosen


@dataclass
class Options:
    """The value of every shared option; a command that does not take one sees its
    default. The fields are the names in :mod:`quill.cli.options`."""

    # engine
    model: str | None = None
    n_ctx: str | None = None
    gpu_layers: str | None = None
    threads: str | None = None
    threads_batch: str | None = None
    kv_cache: str | None = None
    chat_template: str | None = None
    backend: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    parallel: str | None = None
    # sampling
    preset: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    # keep
    out: str | None = None
    force: bool = False
    draft_id: int | None = None
    title: str | None = None
    no_save: bool = False
    # shared
    file: str | None = None
    lang: str | None = None
    style: str | None = None
    as_json: bool = False
    yes: bool = False
    # show
    stats: bool = False
    plain: bool = False
    verbose: bool = False
    quiet: bool = False
    encoding: str | None = None

    def engine_options(self) -> EngineOptions:
        return EngineOptions(
            model=self.model,
            ctx=self.n_ctx,
            gpu_layers=self.gpu_layers,
            threads=self.threads,  # type: ignore[arg-type]  # parsed by its settings row
            threads_batch=self.threads_batch,  # type: ignore[arg-type]
            kv_cache=self.kv_cache,
            chat_template=self.chat_template,
            backend=self.backend,
            base_url=self.base_url,
            api_key=self.api_key,
            parallel=self.parallel,  # type: ignore[arg-type]
        )

    def sampling_flags(self) -> dict[str, Any]:
        flags = {k: getattr(self, k) for k in (*TEMPLATE_KEYS, "seed")}
        return {k: v for k, v in flags.items() if v is not None}
