"""The run object every command that generates receives: the values of its option
groups (:mod:`quill.cli.options`), and what they resolve to — the input, the store the
result is kept in, the engine, the sampling for the command's template, the stream to
the terminal with its draft and closing report.

The one rule for sampling, for every command: an option given on the command line wins;
then the preset the writer chose (--preset, QUILL_PRESET, the config's ``preset``),
which replaces the template's own [sampling] values; else the template's values and
preset, then the command's default preset, then balanced. The token budget: --max-tokens,
else the budget the command computed from the request (titles for N titles, a JSON
answer), else the template's max_tokens, else the command's default.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from quill import prompts
from quill.cli.context import get_env
from quill.cli.generate import Keep, check_out, conclude, fix_seed, start_draft, text_source
from quill.cli.inputs import Source, check_encoding, read_sources, read_stdin_text, read_text
from quill.cli.logs import setup_logging
from quill.cli.options import TEMPLATE_KEYS, Options, pick, with_options
from quill.engine.base import Engine, Result, Sampling
from quill.env import Environment
from quill.render.live import stream_live
from quill.writing import style
from quill.writing.language import language_name
from quill.writing.presets import sampling as preset_sampling
from quill.writing.style_check import CheckedDraft
from quill.writing.verbs import head_within, tail_within

if TYPE_CHECKING:
    from quill.render.live import Streamable
    from quill.store.db import Store


class Run:
    """One run of a command: its options, its input, store, engine and sampling, and
    the stream to the terminal with the draft it is kept as and the closing report."""

    def __init__(
        self,
        ctx: typer.Context,
        values: dict[str, Any],
        *,
        verb: str,
        template: str | None = None,
    ) -> None:
        self.env: Environment = get_env(ctx)
        self.o = Options(**values)
        if self.o.lang:  # "zh", "ZH-cn", "chinese" -> "Chinese", as the prompts name it
            self.o.lang = language_name(self.o.lang)
        self.verb = verb
        self.template = template
        setup_logging(self.o.verbose)
        if self.o.quiet:
            self.env.quiet = True
            self.env.ui.quiet = True
        self.encoding = check_encoding(self.o.encoding)
        self.user_dir: Path = self.env.paths.config_dir / "prompts"
        self.styles_dir: Path = self.env.paths.config_dir / "styles"
        self.out_path = check_out(self.o.out, self.o.force)
        # a command without the keep group (analyze, chat…) keeps nothing as a draft
        saves = "no_save" in values and not self.o.no_save
        self.keep = Keep(saves, self.o.draft_id, self.o.title)
        self.store: Store | None = None
        self._engine: Engine | None = None
        self.params: Sampling | None = None  # the sampling chosen (the draft's provenance)

    # -- the store: opened before the model loads, so that a bad --draft fails fast ----

    def __enter__(self) -> Run:
        self.store = self.keep.open_store(self.env)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- input ------------------------------------------------------------------------

    def read(self, file: str | None) -> Source:
        """FILE, stdin, or (with --draft ID and nothing else) that draft's latest text."""
        return read_text(
            self.env,
            file,
            self.verb,
            store=self.store,
            draft_id=self.o.draft_id,
            encoding=self.encoding,
        )

    def read_all(self, files: list[str], verb: str | None = None) -> list[Source]:
        return read_sources(self.env, files, verb or self.verb, self.encoding)

    def stdin_text(self, what: str = "stdin") -> str | None:
        return read_stdin_text(self.env, what, self.encoding)

    def style(self, name: str | None, near: str | None = None) -> str | None:
        """What ``--style NAME`` adds to the system prompt (None without --style): the
        writer's passages closest to ``near`` and their habits as instructions."""
        if not name:
            return None
        profile = style.load(self.styles_dir, name)
        return style.system_text(profile, near, self.user_dir)

    def style_checked(
        self, name: str, start: Callable[[Sampling], Any], params: Sampling, best_of: int = 1
    ) -> Any:
        """A draft checked against the style ``name`` (see :class:`CheckedDraft`):
        ``start(params)`` starts one generation; ``best_of`` N keeps the closest of N."""
        profile = style.load(self.styles_dir, name)
        return CheckedDraft(start, params, profile, best_of)

    # -- engine and sampling ------------------------------------------------------------

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self.env.engine(self.o.engine_options())
        return self._engine

    def sampling(
        self,
        default_max: int,
        *,
        budget: int | None = None,
        default_preset: str | None = None,
        fixed_seed: bool = True,
        **extra: object,
    ) -> Sampling:
        """Sampling by the one rule (see the module's docstring); ``extra`` (a grammar)
        is added as it is. The run keeps it as the sampling its draft records."""
        spec: dict[str, Any] = {}
        if self.template is not None:
            found = prompts.load(self.template, self.user_dir).get("sampling", {})
            spec = found if isinstance(found, dict) else {}
        chosen = self.env.setting("preset", self.o.preset)
        if chosen is None:  # the preset the model keeps with it (models.toml)
            chosen = self.env.model_default("preset", self.o.engine_options())
        name = chosen or str(spec.get("preset") or default_preset or "balanced")
        over = {k: spec[k] for k in TEMPLATE_KEYS if k in spec} if chosen is None else {}
        over.update(self.o.sampling_flags())
        if self.o.max_tokens is not None:
            limit = self.o.max_tokens
        elif budget is not None:
            limit = budget
        else:
            limit = int(spec.get("max_tokens", default_max))
        params = preset_sampling(name, limit, **over)
        params = params.with_(**extra) if extra else params
        self.params = fix_seed(params) if fixed_seed else params
        return self.params

    def within(self, text: str, budget: int, *, head: bool = True) -> tuple[str, str]:
        """The part of ``text`` the model is shown within ``budget`` tokens (its start,
        or its end), and which part that is ("first 1,500 of 9,000 tokens"; "" when all
        of it fits)."""
        count = self.engine().count
        total = count(text)
        if total <= budget:
            return text, ""
        cut = head_within(text, budget, count) if head else tail_within(text, budget, count)
        return cut, f"{'first' if head else 'last'} {count(cut):,} of {total:,} tokens"

    # -- the stream, its draft and its report ---------------------------------------------

    def show(self, text: str) -> None:
        """``text`` on stdout, whole: rendered Markdown on a terminal, unless --plain."""
        sink = self.env.ui.content_sink(self.o.plain)
        sink.feed(text)
        sink.close()

    def start(
        self, src: Source | None, kind: str, request: dict[str, Any], note: str = "generated"
    ) -> tuple[Any, list[Any]]:
        """The draft version (written before generation) and its listeners."""
        assert self.params is not None, "start() follows sampling()"
        req = {"template": self.template or kind, **request}
        if src is not None:
            req["source"] = source_meta(src)
        engine, params = self.engine(), self.params
        journal, listeners = start_draft(
            self.env, self.store, self.keep, engine, params, kind=kind, request=req, note=note
        )
        return journal, listeners

    def stream(
        self,
        gen: Streamable,
        src: Source | None,
        *,
        kind: str,
        request: dict[str, Any],
        prefix: str = "",
        plain: bool | None = None,
        note: str = "generated",
    ) -> None:
        """Stream ``gen`` to the terminal, kept as a draft (and --out); ``prefix`` is
        text the kept version starts with but that is not shown (the draft a
        continuation follows)."""
        journal, listeners = self.start(src, kind, request, note)
        if journal is not None and prefix:
            listeners = [Prefixed(x, prefix) if x is journal else x for x in listeners]
        for listener in listeners:
            gen.add_listener(listener)  # type: ignore[attr-defined]
        shown = stream_live(self.env.ui, gen, plain=self.o.plain if plain is None else plain)
        for line in getattr(gen, "notes", ()):  # what a checked draft says about itself
            self.env.ui.note(line)
        kept = replace(shown, text=prefix + shown.text) if prefix else shown
        code = conclude(
            self.env,
            kept,
            out_path=self.out_path,
            force=self.o.force,
            journal=journal,
            show_stats=self.o.stats,
        )
        if code:
            raise typer.Exit(code)


class Prefixed:
    """A draft journal that keeps ``prefix`` before the generated text."""

    def __init__(self, journal: Any, prefix: str) -> None:
        self.journal = journal
        self.prefix = prefix
        journal.feed(prefix)

    def on_text(self, text: str) -> None:
        self.journal.on_text(text)

    def on_done(self, result: Result) -> None:
        self.journal.on_done(replace(result, text=self.prefix + result.text))


def source_meta(src: Source) -> dict[str, Any]:
    """Provenance of the input: a file (path, sha256, size), stdin, or a draft."""
    if src.draft_id is not None:
        digest = hashlib.sha256(src.text.encode("utf-8")).hexdigest()
        return {"draft": src.draft_id, "sha256": digest, "chars": len(src.text)}
    return text_source(src.name, src.text, src.data)


F = TypeVar("F", bound=Callable[..., Any])


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
        assert all(p.name != "ctx" for p in own), f"{fn.__name__}: ctx is click's context"
        ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        params = [ctx.replace(annotation=typer.Context), *own[1:]]
        name = verb or fn.__name__.rstrip("_")

        @functools.wraps(fn)
        def run_command(ctx: typer.Context, **kwargs: Any) -> Any:
            values = {o.name: kwargs.pop(o.name) for o in chosen}
            return fn(Run(ctx, values, verb=name, template=template), **kwargs)

        with_options(run_command, params, chosen, helps)
        run_command.options = tuple(chosen)  # type: ignore[attr-defined]
        return run_command  # type: ignore[return-value]

    return wrap
