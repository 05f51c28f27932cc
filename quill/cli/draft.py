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
            help="article, blog, product, marketing, news, email, poem, story or script.",
        ),
    ] = None,
    tone: Annotated[str | None, typer.Option("--tone", help="e.g. formal, warm, playful.")] = None,
    words: Annotated[int | None, typer.Option("--words", help="Target length in words.")] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language to write in (default: the brief's).")
    ] = None,
    out: o.OutOpt = None,
    force: o.ForceOpt = False,
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
) -> None:
    """Write a first draft from a brief.

    Examples:

      quill draft "a product page for a linen shirt" --form product

      cat notes.md | quill draft "a blog post from these notes" --words 400
    """
    from quill.cli.app import setup_logging
    from quill.cli.context import get_env
    from quill.cli.generate import check_out, stream_to_terminal
    from quill.env import EngineOptions
    from quill.store.files import atomic_write_text
    from quill.writing import draft as drafting
    from quill.writing.cleanup import unwrap_fence
    from quill.writing.presets import sampling

    env = get_env(ctx)
    setup_logging(verbose)
    out_path = check_out(out, force)
    material = env.read_stdin()
    user_prompts = env.paths.config_dir / "prompts"
    messages = drafting.build_messages(
        brief, material, form=form, tone=tone, words=words, lang=lang, user_dir=user_prompts
    )
    params = sampling(
        preset or env.settings.preset,
        max_tokens if max_tokens is not None else drafting.max_tokens_for(words),
        temperature=temperature,
        top_p=top_p,
        min_p=min_p,
        repeat_penalty=repeat_penalty,
        seed=seed,
    )
    engine = env.engine(EngineOptions(model, n_ctx, gpu_layers, threads))
    result = stream_to_terminal(env, engine, messages, params, plain=plain, transform=unwrap_fence)
    if out_path is not None and result.text.strip():
        atomic_write_text(
            out_path, result.text if result.text.endswith("\n") else result.text + "\n"
        )
        env.ui.note(f"saved to {out_path}")
    if result.finish == "interrupted":
        env.ui.note(result.note)
    elif result.note:
        env.ui.warn(result.note)
    if stats:
        env.ui.stats(result.stats)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    app.command()(draft)
