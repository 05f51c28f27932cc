"""`quill rewrite`, `expand`, `shorten`, `translate`, `outline`, `titles`, `continue`:
the writing verbs that stream a text.

Each reads its text from FILE, stdin, or (with ``--draft ID`` and nothing else) that
draft's latest version, and goes the way `quill draft` goes: one generation path
(:class:`~quill.writing.verbs.Chain` over the parts of a long text), the one terminal
loop, saved as a draft with provenance (``--draft ID`` adds a version), ``--out``
written atomically, the one closing report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quill.cli import options as o

if TYPE_CHECKING:
    from pathlib import Path

    from quill.cli.generate import Keep
    from quill.cli.inputs import Source
    from quill.engine.base import Engine, Result, Sampling
    from quill.env import Environment
    from quill.render.live import Streamable
    from quill.store.db import Store

LangOpt = Annotated[
    str | None, typer.Option("--lang", help="Language to write in (default: the text's).")
]
FileArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[FILE|-]",
        help="The text: a file, or - (or nothing) for stdin; with --draft ID and no "
        "input, that draft's latest version.",
        show_default=False,
    ),
]


@dataclass
class Flags:
    """The options every text verb shares."""

    out: str | None = None
    force: bool = False
    draft_id: int | None = None
    title: str | None = None
    no_save: bool = False
    preset: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    stats: bool = False
    plain: bool = False
    model: str | None = None
    n_ctx: str | None = None
    gpu_layers: str | None = None
    threads: int | None = None
    verbose: bool = False

    @classmethod
    def take(cls, values: dict[str, Any]) -> Flags:
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


class Verb:
    """One run of a text verb: input, store, engine, sampling, and the stream to the
    terminal with its draft and closing report."""

    def __init__(self, ctx: typer.Context, flags: Flags, verb: str, template: str) -> None:
        from quill.cli.context import get_env
        from quill.cli.generate import Keep, check_out
        from quill.cli.logs import setup_logging

        self.env: Environment = get_env(ctx)
        setup_logging(flags.verbose)
        self.flags = flags
        self.verb = verb
        self.template = template
        self.user_dir: Path = self.env.paths.config_dir / "prompts"
        self.out_path = check_out(flags.out, flags.force)
        self.keep: Keep = Keep(not flags.no_save, flags.draft_id, flags.title)
        self.store: Store | None = None

    def __enter__(self) -> Verb:
        self.store = self.keep.open_store(self.env)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.store is not None:
            self.store.close()

    def read(self, file: str | None) -> Source:
        from quill.cli.inputs import read_text

        return read_text(self.env, file, self.verb, store=self.store, draft_id=self.flags.draft_id)

    def engine(self) -> Engine:
        from quill.env import EngineOptions

        f = self.flags
        return self.env.engine(
            EngineOptions(model=f.model, ctx=f.n_ctx, gpu_layers=f.gpu_layers, threads=f.threads)
        )

    def params(self, default_max: int, **extra: object) -> Sampling:
        """Sampling: flags, then the template's [sampling], then the preset."""
        from quill import prompts
        from quill.cli.generate import fix_seed
        from quill.writing.verbs import template_sampling

        f = self.flags
        spec = prompts.load(self.template, self.user_dir).get("sampling", {})
        p = template_sampling(
            spec,
            preset=f.preset,
            default_preset=self.env.settings.preset or "balanced",
            max_tokens=f.max_tokens,
            default_max=default_max,
            temperature=f.temperature,
            top_p=f.top_p,
            min_p=f.min_p,
            repeat_penalty=f.repeat_penalty,
            seed=f.seed,
        )
        return fix_seed(p.with_(**extra))

    def style(self, name: str | None) -> str | None:
        from quill.cli.style import style_system

        return style_system(self.env, name)

    def start(
        self,
        engine: Engine,
        params: Sampling,
        src: Source | None,
        kind: str,
        request: dict[str, Any],
        prefix: str = "",
    ) -> tuple[Any, list[Any]]:
        """The draft version (written before generation) and its listeners."""
        from quill.cli.generate import start_draft

        req = {"template": self.template, **request}
        if src is not None:
            req["source"] = source_meta(src)
        journal, listeners = start_draft(
            self.env, self.store, self.keep, engine, params, kind=kind, request=req
        )
        if journal is not None and prefix:
            listeners = [Prefixed(x, prefix) if x is journal else x for x in listeners]
        return journal, listeners

    def stream(
        self,
        gen: Streamable,
        engine: Engine,
        params: Sampling,
        src: Source | None,
        *,
        kind: str,
        request: dict[str, Any],
        prefix: str = "",
        plain: bool | None = None,
    ) -> None:
        """Stream ``gen`` like `quill draft`; ``prefix`` is text the kept version (and
        --out) starts with but that is not shown (the draft a continuation follows)."""
        from quill.cli.generate import conclude
        from quill.render.live import stream_live

        journal, listeners = self.start(engine, params, src, kind, request, prefix)
        for listener in listeners:
            gen.add_listener(listener)  # type: ignore[attr-defined]
        shown = stream_live(self.env.ui, gen, plain=self.flags.plain if plain is None else plain)
        kept = replace(shown, text=prefix + shown.text) if prefix else shown
        code = conclude(
            self.env,
            kept,
            out_path=self.out_path,
            force=self.flags.force,
            journal=journal,
            show_stats=self.flags.stats,
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
    from quill.cli.generate import text_source

    if src.draft_id is not None:
        digest = hashlib.sha256(src.text.encode("utf-8")).hexdigest()
        return {"draft": src.draft_id, "sha256": digest, "chars": len(src.text)}
    return text_source(src.name, src.text, src.data)


def chain_parts(
    engine: Engine,
    params: Sampling,
    text: str,
    build: Callable[[str], Any],
    *,
    expansion: float,
    keep_code: bool,
    what: str,
    user_max: int | None,
    cap: Callable[[int], int] | None = None,
    commentary: bool = True,
) -> Any:
    """A Chain over the parts of ``text``: ``build(part_text)`` gives a part's messages;
    each part's budget is ``cap(part_tokens)`` unless --max-tokens was given. With
    ``commentary``, a preamble or closing remark of the model's is dropped."""
    from quill.engine.generation import generate
    from quill.writing.cleanup import strip_commentary, unwrap_fence
    from quill.writing.verbs import Chain, chained, part_budget, plan_parts, trim, untag

    overhead = engine.count_messages(build(""))
    parts = plan_parts(
        text, engine.count, part_budget(engine, overhead, expansion), keep_code=keep_code
    )

    def start(part: Any) -> Any:
        limit = user_max or (cap(part.tokens) if cap else int(part.tokens * expansion) + 64)
        p = params.with_(max_tokens=max(limit, 16))
        tidy = [unwrap_fence, untag("text"), trim]
        if commentary:
            tidy.insert(2, strip_commentary)
        return generate(engine, build(part.core), p, transforms=tidy)

    return Chain(chained(parts, start), params, what=what)


# -- rewrite, expand, shorten -------------------------------------------------------------------


def _rewrite(
    ctx: typer.Context,
    file: str | None,
    *,
    tone: str | None,
    length: str | None,
    audience: str | None,
    instruction: str | None,
    lang: str | None,
    style: str | None,
    diff: bool,
    review: bool,
    flags: Flags,
    verb: str,
) -> None:
    from quill.writing.verbs import RewriteOptions, rewrite_expansion, rewrite_messages, with_style

    opts = RewriteOptions(tone, length, audience, instruction, lang)
    with Verb(ctx, flags, verb, "rewrite") as v:
        src = v.read(file)
        voice = v.style(style)
        engine = v.engine()
        params = v.params(1024)

        def build(text: str) -> Any:
            return with_style(rewrite_messages(text, opts, v.user_dir), voice)

        gen = chain_parts(
            engine,
            params,
            src.text,
            build,
            expansion=rewrite_expansion(opts),
            keep_code=True,
            what="rewrite",
            user_max=flags.max_tokens,
        )
        request = {"options": {k: val for k, val in vars(opts).items() if val}, "style": style}
        if diff or review:
            from quill.cli.proofread import finish_reviewed

            finish_reviewed(
                v,
                gen,
                engine,
                params,
                src,
                kind="rewrite",
                request=request,
                diff=diff,
                interactive=review,
            )
            return
        v.stream(gen, engine, params, src, kind="rewrite", request=request)


def rewrite(
    ctx: typer.Context,
    file: FileArg = None,
    tone: Annotated[
        str | None,
        typer.Option(
            "--tone",
            metavar="TONE",
            help="formal, casual, friendly, persuasive, confident, academic, playful, "
            "empathetic, neutral, simple, or your own word.",
        ),
    ] = None,
    shorter: Annotated[bool, typer.Option("--shorter", help="About half as long.")] = False,
    longer: Annotated[bool, typer.Option("--longer", help="About twice as long.")] = False,
    audience: Annotated[
        str | None, typer.Option("--audience", help='Who it is for, e.g. "new customers".')
    ] = None,
    instruction: Annotated[
        str | None, typer.Option("--instruction", "-i", help="Any other instruction.")
    ] = None,
    lang: LangOpt = None,
    style: o.StyleOpt = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Print the rewrite as a unified diff against its source.")
    ] = False,
    review: Annotated[
        bool, typer.Option("--review", help="Accept or reject each change in turn (y/n/a/q).")
    ] = False,
    out: o.OutOpt = None,
    force: o.ForceOpt = False,
    draft_id: o.DraftOpt = None,
    title: o.TitleOpt = None,
    no_save: o.NoSaveOpt = False,
    preset: o.PresetOpt = None,
    temperature: o.TemperatureOpt = None,
    top_p: o.TopPOpt = None,
    min_p: o.MinPOpt = None,
    repeat_penalty: o.RepeatOpt = None,
    seed: o.SeedOpt = None,
    max_tokens: o.MaxTokensOpt = None,
    stats: o.StatsOpt = False,
    plain: o.PlainOpt = False,
    model: o.ModelOpt = None,
    n_ctx: o.CtxOpt = None,
    gpu_layers: o.GpuOpt = None,
    threads: o.ThreadsOpt = None,
    verbose: o.VerboseOpt = False,
    encoding: o.EncodingOpt = None,
) -> None:
    """Rewrite a text in another tone, length or for another audience.

    Examples:

      quill rewrite notes.md --tone formal

      cat email.txt | quill rewrite --shorter --audience "busy executives"

      quill rewrite post.md --tone friendly --review --out post2.md
    """
    from quill.errors import UsageError

    if shorter and longer:
        raise UsageError("--shorter and --longer contradict each other")
    length = "shorter" if shorter else ("longer" if longer else None)
    _rewrite(
        ctx,
        file,
        tone=tone,
        length=length,
        audience=audience,
        instruction=instruction,
        lang=lang,
        style=style,
        diff=diff,
        review=review,
        flags=Flags.take(locals()),
        verb="rewrite",
    )


def _sized(verb: str, length: str, doc: str) -> Callable[..., None]:
    """`quill expand` and `quill shorten`: `quill rewrite --longer/--shorter`, with the
    options that make sense for a change of length."""

    def command(
        ctx: typer.Context,
        file: FileArg = None,
        tone: Annotated[
            str | None, typer.Option("--tone", metavar="TONE", help="See rewrite.")
        ] = None,
        audience: Annotated[str | None, typer.Option("--audience", help="Who it is for.")] = None,
        instruction: Annotated[
            str | None, typer.Option("--instruction", "-i", help="Any other instruction.")
        ] = None,
        lang: LangOpt = None,
        style: o.StyleOpt = None,
        diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff.")] = False,
        review: Annotated[bool, typer.Option("--review", help="Review each change.")] = False,
        out: o.OutOpt = None,
        force: o.ForceOpt = False,
        draft_id: o.DraftOpt = None,
        title: o.TitleOpt = None,
        no_save: o.NoSaveOpt = False,
        preset: o.PresetOpt = None,
        temperature: o.TemperatureOpt = None,
        seed: o.SeedOpt = None,
        max_tokens: o.MaxTokensOpt = None,
        stats: o.StatsOpt = False,
        plain: o.PlainOpt = False,
        model: o.ModelOpt = None,
        n_ctx: o.CtxOpt = None,
        gpu_layers: o.GpuOpt = None,
        threads: o.ThreadsOpt = None,
        verbose: o.VerboseOpt = False,
        encoding: o.EncodingOpt = None,
    ) -> None:
        _rewrite(
            ctx,
            file,
            tone=tone,
            length=length,
            audience=audience,
            instruction=instruction,
            lang=lang,
            style=style,
            diff=diff,
            review=review,
            flags=Flags.take(locals()),
            verb=verb,
        )

    command.__name__ = command.__qualname__ = verb
    command.__doc__ = doc
    return command


expand = _sized(
    "expand",
    "longer",
    """Make a text about twice as long (`quill rewrite --longer`).

    Example:

      quill expand notes.md --audience "first-time visitors"
    """,
)
shorten = _sized(
    "shorten",
    "shorter",
    """Make a text about half as long (`quill rewrite --shorter`).

    Example:

      cat report.md | quill shorten --tone confident
    """,
)


def register(app: typer.Typer) -> None:
    from quill.cli import verbs_more

    app.command()(rewrite)
    app.command()(expand)
    app.command()(shorten)
    verbs_more.register(app)
