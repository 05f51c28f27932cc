"""`quill draft`."""

from __future__ import annotations

from typing import Annotated

import typer

from quill.cli import options as o


def draft(
    ctx: typer.Context,
    brief: Annotated[
        str | None,
        typer.Argument(help="What to write. Stdin, if piped, is the material the brief works on."),
    ] = None,
    form: Annotated[
        str | None,
        typer.Option(
            "--form",
            metavar="FORM",
            help="article, blog, product, marketing, news, email, poem, story or script "
            "(default: the form the brief names, if any).",
        ),
    ] = None,
    tone: Annotated[str | None, typer.Option("--tone", help="e.g. formal, warm, playful.")] = None,
    words: Annotated[int | None, typer.Option("--words", help="Target length in words.")] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language to write in (default: the brief's).")
    ] = None,
    style: o.StyleOpt = None,
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
    """Write a first draft from a brief.

    Examples:

      quill draft "a product page for a linen shirt" --form product

      cat notes.md | quill draft "a blog post from these notes" --words 400
    """
    from quill.cli.context import get_env
    from quill.cli.generate import Keep, check_out, conclude, fix_seed, start_draft, text_source
    from quill.cli.inputs import read_stdin_text
    from quill.cli.logs import setup_logging
    from quill.engine.generation import generate
    from quill.env import EngineOptions
    from quill.render.live import stream_live
    from quill.writing import draft as drafting
    from quill.writing.cleanup import draft_filters
    from quill.writing.presets import sampling

    env = get_env(ctx)
    setup_logging(verbose)
    out_path = check_out(out, force)
    material = read_stdin_text(env, "stdin")
    user_prompts = env.paths.config_dir / "prompts"
    messages = drafting.build_messages(
        brief, material, form=form, tone=tone, words=words, lang=lang, user_dir=user_prompts
    )
    if style:
        from quill.cli.style import style_system
        from quill.writing.verbs import with_style

        messages = with_style(messages, style_system(env, style))
    params = fix_seed(
        sampling(
            preset or env.settings.preset,
            max_tokens if max_tokens is not None else drafting.max_tokens_for(words),
            temperature=temperature,
            top_p=top_p,
            min_p=min_p,
            repeat_penalty=repeat_penalty,
            seed=seed,
        )
    )
    keep = Keep(not no_save, draft_id, title)
    store = keep.open_store(env)
    try:
        engine = env.engine(EngineOptions(model, n_ctx, gpu_layers, threads))
        gen = generate(engine, messages, params, transforms=draft_filters())
        request: dict[str, object] = {
            "brief": brief if brief is not None else (material or ""),
            "template": "draft",
            "form": form,
            "tone": tone,
            "words": words,
            "lang": lang,
        }
        if style:
            request["style"] = style
        if brief is not None and material:
            request["material"] = text_source("stdin", material)
        journal, listeners = start_draft(
            env, store, keep, engine, params, kind="draft", request=request
        )
        for listener in listeners:
            gen.add_listener(listener)
        result = stream_live(env.ui, gen, plain=plain)
        code = conclude(
            env, result, out_path=out_path, force=force, journal=journal, show_stats=stats
        )
    finally:
        if store is not None:
            store.close()
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(draft)
