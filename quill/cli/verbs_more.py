"""`quill translate`, `quill outline`, `quill titles`, `quill continue` (see
:mod:`quill.cli.verbs` for what every text verb shares)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from quill.cli import options as o
from quill.cli.verbs import FileArg, Flags, LangOpt, Verb, chain_parts

CONTEXT_TOKENS = 1500  # of a long draft shown to the model for titles or a continuation


def translate(
    ctx: typer.Context,
    file: FileArg = None,
    to: Annotated[
        str, typer.Option("--to", metavar="LANG", help="Language to translate into (zh, fr, …).")
    ] = ...,  # type: ignore[assignment]
    source: Annotated[
        str | None,
        typer.Option("--from", metavar="LANG", help="The text's language (default: detected)."),
    ] = None,
    out: o.OutOpt = None,
    force: o.ForceOpt = False,
    draft_id: o.DraftOpt = None,
    title: o.TitleOpt = None,
    no_save: o.NoSaveOpt = False,
    preset: o.PresetOpt = None,
    temperature: o.TemperatureOpt = None,
    seed: o.SeedOpt = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", help="Most tokens per part (default: from its size)."),
    ] = None,
    stats: o.StatsOpt = False,
    plain: o.PlainOpt = False,
    model: o.ModelOpt = None,
    n_ctx: o.CtxOpt = None,
    gpu_layers: o.GpuOpt = None,
    threads: o.ThreadsOpt = None,
    verbose: o.VerboseOpt = False,
    encoding: o.EncodingOpt = None,
) -> None:
    """Translate a text, keeping its Markdown structure.

    Headings, lists and links keep their shape; code blocks are passed through
    untouched (never sent to the model). A long text is translated part by part, never
    cut.

    Examples:

      quill translate README.md --to zh --out README.zh.md

      echo "Bonjour tout le monde" | quill translate --to English
    """
    from quill.writing.language import detect_language
    from quill.writing.translate import expansion, language_name, translate_messages

    flags = Flags.take(locals())
    target = language_name(to)
    with Verb(ctx, flags, "translate", "translate") as v:
        src = v.read(file)
        origin = language_name(source) if source else detect_language(src.text)
        if origin is not None and origin == target:
            v.env.ui.note(f"the text already looks like {target}")
        engine = v.engine()
        params = v.params(1024)
        factor = expansion(target, origin)

        def build(text: str) -> Any:
            return translate_messages(text, target, origin, v.user_dir)

        gen = chain_parts(
            engine,
            params,
            src.text,
            build,
            expansion=factor,
            keep_code=True,
            what="translation",
            user_max=flags.max_tokens,
            commentary=False,
        )
        request = {"to": target, "from": origin, "parts": gen.generations}
        v.stream(gen, engine, params, src, kind="translation", request=request)


def outline(
    ctx: typer.Context,
    file: FileArg = None,
    lang: LangOpt = None,
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
    """Outline a text as Markdown headings and bullets.

    From a short brief, the outline of a piece to write. A long text is outlined part
    by part, in order.

    Examples:

      quill outline chapter.md

      echo "a guide to brewing green tea" | quill outline
    """
    from quill.writing.verbs import outline_messages

    flags = Flags.take(locals())
    with Verb(ctx, flags, "outline", "outline") as v:
        src = v.read(file)
        engine = v.engine()
        params = v.params(700)

        def build(text: str) -> Any:
            return outline_messages(text, lang, v.user_dir)

        gen = chain_parts(
            engine,
            params,
            src.text,
            build,
            expansion=0.6,
            keep_code=False,
            what="outline",
            user_max=flags.max_tokens,
            cap=lambda _tokens: params.max_tokens,
        )
        v.stream(gen, engine, params, src, kind="outline", request={"lang": lang})


def titles(
    ctx: typer.Context,
    file: FileArg = None,
    n: Annotated[int, typer.Option("-n", "--count", min=1, max=30, help="How many titles.")] = 5,
    lang: LangOpt = None,
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
    model: o.ModelOpt = None,
    n_ctx: o.CtxOpt = None,
    gpu_layers: o.GpuOpt = None,
    threads: o.ThreadsOpt = None,
    verbose: o.VerboseOpt = False,
    encoding: o.EncodingOpt = None,
) -> None:
    """Title ideas for a text, one per line.

    Exactly N titles, no numbering: a grammar holds the model to that.

    Examples:

      quill titles post.md

      quill titles -n 10 chapter.md > ideas.txt
    """
    from quill.engine.generation import generate
    from quill.writing.verbs import title_lines, titles_grammar, titles_messages

    flags = Flags.take(locals())
    with Verb(ctx, flags, "title", "titles") as v:
        src = v.read(file)
        engine = v.engine()
        params = v.params(40 * n + 40, grammar=titles_grammar(n))
        text, note = _fit(src.text, engine, "titles", head=True)
        if note:
            v.env.ui.note(note)
        gen = generate(
            engine, titles_messages(text, n, lang, v.user_dir), params, transforms=[title_lines(n)]
        )
        v.stream(gen, engine, params, src, kind="titles", request={"n": n}, plain=True)


def _fit(text: str, engine: Any, what: str, *, head: bool) -> tuple[str, str]:
    """The part of a long text the model is shown (its start, or its end), and a note
    saying so ("" when all of it fits)."""
    from quill.writing.verbs import head_within, tail_within

    total = engine.count(text)
    budget = min(CONTEXT_TOKENS, max(64, engine.info.n_ctx // 3))
    if total <= budget:
        return text, ""
    cut = (
        head_within(text, budget, engine.count) if head else tail_within(text, budget, engine.count)
    )
    where = "first" if head else "last"
    return cut, f"{what}: the model reads the {where} {engine.count(cut):,} of {total:,} tokens"


def continue_(
    ctx: typer.Context,
    file: FileArg = None,
    words: Annotated[
        int, typer.Option("--words", min=1, help="About how many words to add.")
    ] = 150,
    lang: LangOpt = None,
    style: o.StyleOpt = None,
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", metavar="FILE", help="Also write the whole text to FILE."),
    ] = None,
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
    """Write the next part of a draft in its own voice. Prints only the continuation;
    the draft kept (and --out) is the whole text.

    Examples:

      quill continue story.md --words 200

      quill continue --draft 12
    """
    from quill.engine.generation import generate
    from quill.writing.cleanup import strip_commentary, unwrap_fence
    from quill.writing.draft import max_tokens_for
    from quill.writing.verbs import continue_messages, trim, with_style

    flags = Flags.take(locals())
    with Verb(ctx, flags, "continue", "continue") as v:
        src = v.read(file)
        voice = v.style(style)
        engine = v.engine()
        params = v.params(max_tokens_for(words))
        text, note = _fit(src.text, engine, "continue", head=False)
        if note:
            v.env.ui.note(note)
        msgs = with_style(continue_messages(text, words, lang, v.user_dir), voice)
        gen = generate(engine, msgs, params, transforms=[unwrap_fence, strip_commentary, trim])
        prefix = src.text.rstrip() + "\n\n"
        request = {"words": words, "style": style}
        v.stream(gen, engine, params, src, kind="continuation", request=request, prefix=prefix)


def register(app: typer.Typer) -> None:
    app.command()(translate)
    app.command()(outline)
    app.command()(titles)
    app.command("continue")(continue_)
