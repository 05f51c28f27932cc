"""Every option, declared once: as a field of :class:`Options` (the values a run holds)
with its flags and help. Four groups (engine, sampling, keep, show), the text argument
and the options several commands take alike, and the options of a single command.

- engine: the rows of :data:`quill.config.SETTINGS` (flag, environment variable, config
  key, parser, default); accepted before the command too (``quill --ctx 4096 draft …``).
- sampling: --preset (a settings row too), --temperature, --top-p, --min-p,
  --repeat-penalty, --seed, --max-tokens.
- keep: --out, --force, --draft, --title, --no-save.
- show: --stats, --plain, --verbose, --quiet, --encoding.
- named one by one: the text argument FILE, --lang, --style, --json, --yes, and the
  options of one command (summarize's --length, rewrite's --tone…).

A command names the groups (or single options) it takes and the options it leaves out::

    @command("file", "engine", "sampling", "keep", "show", "lang", template="outline")
    def outline(run: Run) -> None: …

(:func:`quill.cli.run.command`) and receives one :class:`~quill.cli.run.Run` holding
their values (``run.o``, an :class:`Options`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, get_type_hints

import typer

from quill import __version__
from quill.config import BY_NAME as ROWS
from quill.env import EngineOptions


@dataclass(frozen=True)
class Opt:
    """One option: its parameter name (a field of :class:`Options`), its flags, type,
    default and help; ``setting`` names its row in the settings table; ``extra`` is
    passed to typer as it is (min, max)."""

    name: str
    decls: tuple[str, ...]
    type: Any
    default: Any
    help: str
    group: str | None = None
    metavar: str | None = None
    setting: str | None = None
    secret: bool = False
    argument: bool = False  # a positional argument (FILE), not an option
    required: bool = False
    extra: tuple[tuple[str, Any], ...] = ()

    def annotation(self, help: str | None = None) -> Any:
        if self.argument:
            arg = typer.Argument(metavar=self.metavar, help=help or self.help, show_default=False)
            return Annotated[self.type, arg]
        info = typer.Option(
            *self.decls,
            help=help or self.help,
            metavar=self.metavar,
            show_default=not self.secret,
            **dict(self.extra),
        )
        return Annotated[self.type, info]


def opt(
    group: str | None,
    *decls: str,
    help: str,
    default: Any = None,
    metavar: str | None = None,
    argument: bool = False,
    required: bool = False,
    **extra: Any,
) -> Any:
    """A field of :class:`Options` declaring its option: ``group`` (None: named one by
    one), flags, help, default; ``extra`` goes to typer (min, max)."""
    meta = dict(group=group, decls=decls, help=help, metavar=metavar, argument=argument)
    more = dict(required=required, extra=tuple(extra.items()))
    return field(default=default, metadata={**meta, **more})


def setting(name: str, group: str = "engine") -> Any:
    """A field of :class:`Options` declaring the option of settings row ``name``."""
    s = ROWS[name]
    decls = (s.flag, s.short) if s.short else (s.flag,)
    help = f"{s.help} [env var: {s.env}; config: {s.name}]"
    meta = dict(group=group, decls=decls, help=help, metavar=s.metavar, setting=s.name)
    return field(default=None, metadata={**meta, "secret": s.secret})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"quill {__version__}")
        raise typer.Exit()


# the sampling values a template's [sampling] table may set (besides preset and max_tokens)
TEMPLATE_KEYS = ("temperature", "top_p", "min_p", "repeat_penalty")


@dataclass
class Options:
    """The value of every option, and its declaration; a command that does not take one
    sees its default."""

    # One field an option, laid out as a table: group (None: named one by one), flags,
    # help, then default, metavar and typer's own settings (min, max) where they differ.
    # fmt: off
    # engine: one row of the settings table each
    model: str | None = setting("model")
    n_ctx: str | None = setting("ctx")
    gpu_layers: str | None = setting("gpu_layers")
    threads: str | None = setting("threads")
    threads_batch: str | None = setting("threads_batch")
    kv_cache: str | None = setting("kv_cache")
    cpu_repack: str | None = setting("cpu_repack")
    chat_template: str | None = setting("chat_template")
    backend: str | None = setting("backend")
    base_url: str | None = setting("base_url")
    api_key: str | None = setting("api_key")
    parallel: str | None = setting("parallel")
    # sampling
    preset: str | None = setting("preset", "sampling")
    temperature: float | None = opt("sampling", "--temperature", "-t",
        help="Sampling temperature; 0 is deterministic.")
    top_p: float | None = opt("sampling", "--top-p", help="Nucleus sampling threshold.")
    min_p: float | None = opt("sampling", "--min-p", help="Minimum token probability.")
    repeat_penalty: float | None = opt("sampling", "--repeat-penalty",
        help="Penalty for repeated tokens (1 = off).")
    seed: int | None = opt("sampling", "--seed", help="Random seed, for repeatable output.")
    max_tokens: int | None = opt("sampling", "--max-tokens", help="Most tokens to generate.")
    # keep
    out: str | None = opt("keep", "--out", "-o", help="Also write the text to FILE (atomically).",
        metavar="FILE")
    force: bool = opt("keep", "--force", "-f", help="Overwrite --out if it exists.", default=False)
    draft_id: int | None = opt("keep", "--draft",
        help="Save the result as the next version of draft ID.", metavar="ID")
    title: str | None = opt("keep", "--title",
        help="Title of the new draft (default: derived from the text).")
    no_save: bool = opt("keep", "--no-save", help="Do not keep the result as a draft.",
        default=False)
    # show
    stats: bool = opt("show", "--stats", help="Print token counts and speed on stderr.",
        default=False)
    plain: bool = opt("show", "--plain", help="Raw text, no Markdown rendering.", default=False)
    verbose: bool = opt("show", "--verbose", "-v", help="Show llama.cpp's log.", default=False)
    quiet: bool = opt("show", "--quiet", "-q", help="No notes, progress or report on stderr.",
        default=False)
    encoding: str | None = opt("show", "--encoding",
        help="The input's text encoding when it is not UTF-8 (gbk, latin-1, cp1252…); UTF-8 "
        "and UTF-16/32 with a BOM are recognised without it.", metavar="NAME")
    # quill itself (before the command)
    show_version: bool = opt(None, "--version", help="Show the version and exit.", default=False,
        callback=_version, is_eager=True)
    # what several commands take alike, outside the groups
    file: str | None = opt(None, "file",
        help="The text: a file, or - (or nothing) for stdin; with --draft ID and no input, that "
        "draft's latest version.", metavar="[FILE|-]", argument=True)
    lang: str | None = opt(None, "--lang", help="Language to write in (default: the text's).")
    style: str | None = opt(None, "--style",
        help="Write in a voice learned with `quill style learn`.", metavar="NAME")
    as_json: bool = opt(None, "--json", help="Print JSON instead.", default=False)
    yes: bool = opt(None, "--yes", "-y", help="Do not ask.", default=False)
    words: int | None = opt(None, "--words", help="Target length in words.")
    tone: str | None = opt(None, "--tone",
        help="formal, casual, friendly, persuasive, confident, academic, playful, "
        "empathetic, neutral, simple, or your own word.", metavar="TONE")
    diff: bool = opt(None, "--diff", help="Print the rewrite as a unified diff against its source.",
        default=False)
    # summarize
    files: list[str] | None = opt(None, "files",  # noqa: RUF009  # a field(), default None
        help="Markdown or plain-text files; - or nothing reads stdin.", metavar="FILE",
        argument=True)
    length: str | None = opt(None, "--length", "-l",
        help="Summary length (default: sized to the document).", metavar="short|medium|long")
    fmt: str = opt(None, "--format", help="Shape of the summary.", default="paragraph",
        metavar="paragraph|bullets|tldr|outline")
    focus: str | None = opt(None, "--focus", help="What the summary should pay attention to.")
    method: str = opt(None, "--method",
        help="How a document too long for one step (the context; on a CPU, at most 4,096 "
        "tokens) is read: select the passages that fit and write once, refine a running "
        "summary part by part, or notes on every part "
        "(default: auto, by length).", default="auto", metavar="auto|select|refine|map-reduce")
    jobs: int = opt(None, "--jobs", "-j",
        help="Parts summarized at once, where the backend serves parallel requests.", default=1)
    # draft
    form: str | None = opt(None, "--form",
        help="article, blog, product, marketing, news, announcement, speech, review, email, "
        "post, poem, story or script "
        "(default: the form the brief names, if any).", metavar="FORM")
    best_of: int | None = opt(None, "--best-of",
        help="Check the draft before showing it: write N, keep the best, and write a "
        "failing one again (at most twice). Without it the draft streams as it is written.",
        metavar="N", min=1)
    # bench
    writing: bool = opt(None, "--writing", help="Measure the model's writing (the default).",
        default=False)
    speed: bool = opt(None, "--speed", help="Measure speed instead: load, prompt evaluation, "
        "generation, first token, memory, and the settings used.", default=False)
    pp: int = opt(None, "--pp", help="With --speed: prompt tokens to evaluate.", default=512,
        min=1)
    tg: int = opt(None, "--tg", help="With --speed: tokens to generate.", default=128, min=2)
    samples: int = opt(None, "--samples", "-n", help="Drafts of one brief to measure diversity "
        "on.", default=4)
    full: bool = opt(None, "--full", help="Every brief and document of the set (slower).",
        default=False)
    # rewrite, expand, shorten
    shorter: bool = opt(None, "--shorter", help="About half as long.", default=False)
    longer: bool = opt(None, "--longer", help="About twice as long.", default=False)
    audience: str | None = opt(None, "--audience", help='Who it is for, e.g. "new customers".')
    instruction: str | None = opt(None, "--instruction", "-i", help="Any other instruction.")
    review: bool = opt(None, "--review", help="Accept or reject each change in turn (y/n/a/q).",
        default=False)
    # translate, titles
    to: str = opt(None, "--to", help="Language to translate into (zh, fr, …).", default="",
        metavar="LANG", required=True)
    from_lang: str | None = opt(None, "--from", help="The text's language (default: detected).",
        metavar="LANG")
    count: int = opt(None, "-n", "--count", help="How many titles.", default=5, min=1, max=30)
    # proofread
    apply_all: bool = opt(None, "--apply", help="Take every correction without asking.",
        default=False)
    in_place: bool = opt(None, "--in-place",
        help="Write the result over FILE (the old one kept as FILE~).", default=False)
    no_checker: bool = opt(None, "--no-checker",
        help="Only the model: no grammar checker for English.", default=False)
    # classify
    labels: str = opt(None, "--labels", "-l", help="The labels to choose from.", default="",
        metavar="A,B,C", required=True)
    # chat
    cont: bool = opt(None, "--continue", "-c", help="Resume the most recent session.",
        default=False)
    session: str | None = opt(None, "--session", "-s",
        help="Resume the session NAME, or start it.", metavar="NAME")
    system: str | None = opt(None, "--system", help="System prompt for this session.",
        metavar="TEXT")
    # continue
    add_words: int = opt(None, "--words", help="About how many words to add.", default=150, min=1)
    # run (a prompt template)
    var: list[str] | None = opt(None, "--var",  # noqa: RUF009  # a field(), default None
        help="A template variable (repeatable).", metavar="NAME=VALUE")
    # drafts list, show, search, diff, export
    limit: int | None = opt(None, "--limit", "-n", help="Show only the N newest.", min=1)
    meta: bool = opt(None, "--meta", help="Print the full provenance as JSON instead.",
        default=False)
    most: int = opt(None, "--limit", "-n", help="At most N drafts.", default=20, min=1)
    unified: bool = opt(None, "--unified", "-u", help="A unified diff, even on a terminal.",
        default=False)
    word: bool = opt(None, "--word", "-w", help="A word diff, even when piped ([-old-]{+new+}).",
        default=False)
    context: int = opt(None, "--context", "-U", help="Lines of context in a unified diff.",
        default=3, min=0)
    all_dir: str | None = opt(None, "--all",
        help="Write every draft to DIR, one NNNN-title.md each.", metavar="DIR")
    version: int | None = opt(None, "--version", help="Export version N.", min=1)
    # style learn, show
    name_tone: bool = opt(None, "--tone/--no-tone",
        help="Let the model name the tone in one line (small models often name it wrong: "
        "check it with `quill style show`).", default=False)
    toml: bool = opt(None, "--toml", help="Print the TOML file itself.", default=False)
    # models add: the name and the defaults a model keeps with it in models.toml (not the
    # engine options of this run, whose flags they share)
    model_name: str | None = opt(None, "--name", help="Name to use with --model.")
    model_ctx: str | None = opt(None, "--ctx", help="This model's context size.",
        metavar="N|auto")
    model_template: str | None = opt(None, "--chat-template",
        help="This model's chat template.", metavar="NAME|FILE")
    model_preset: str | None = opt(None, "--preset", help="Its sampling preset.",
        metavar="precise|balanced|creative")
    model_system: str | None = opt(None, "--system", help="Its chat system prompt.",
        metavar="TEXT")
    # fmt: on

    def engine_options(self) -> EngineOptions:
        """The engine group's values, named as their settings rows (parsed by them)."""
        engine = [f for f in fields(self) if f.metadata.get("group") == "engine"]
        return EngineOptions(**{f.metadata["setting"]: getattr(self, f.name) for f in engine})

    def sampling_flags(self) -> dict[str, Any]:
        flags = {k: getattr(self, k) for k in (*TEMPLATE_KEYS, "seed")}
        return {k: v for k, v in flags.items() if v is not None}


_TYPES = get_type_hints(Options)
BY_NAME: dict[str, Opt] = {
    f.name: Opt(f.name, type=_TYPES[f.name], default=f.default, **f.metadata)
    for f in fields(Options)
}
GROUPS: dict[str, tuple[Opt, ...]] = {
    g: tuple(o for o in BY_NAME.values() if o.group == g)
    for g in ("engine", "sampling", "keep", "show")
}
ENGINE, SAMPLING, KEEP, SHOW = GROUPS.values()
# the groups of a command that writes a text
WRITER = ("engine", "sampling", "keep", "show")
# what --best-of means for a verb (a draft streams unchecked by default; a verb's parts
# are always checked)
BEST_OF = {
    "best_of": "Write each part N times and keep the best by quill's checks (default: 1; "
    "a part that fails them is written again, at most twice)."
}


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
            default=... if o.required else o.default,
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
