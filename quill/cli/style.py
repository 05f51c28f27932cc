"""`quill style learn|list|show|rm`: a writer's voice, learned from their own samples,
for ``--style NAME`` on draft, rewrite, continue and chat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from quill.cli import options as o

if TYPE_CHECKING:
    from quill.env import Environment

style_app = typer.Typer(
    help="Learn, list, show and remove voice profiles (for --style NAME).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The style's name.")]


def style_system(env: Environment, name: str | None) -> str | None:
    """What ``--style NAME`` adds to the system prompt (None without --style)."""
    if not name:
        return None
    from quill.writing import style

    profile = style.load(env.paths.config_dir / "styles", name)
    return style.system_text(profile, env.paths.config_dir / "prompts")


@style_app.command("learn")
def learn(
    ctx: typer.Context,
    name: NameArg,
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILES…", help="Samples of your writing (Markdown or text)."),
    ],
    force: Annotated[bool, typer.Option("--force", "-f", help="Replace the style NAME.")] = False,
    seed: o.SeedOpt = None,
    stats: o.StatsOpt = False,
    plain: o.PlainOpt = False,
    model: o.ModelOpt = None,
    n_ctx: o.CtxOpt = None,
    gpu_layers: o.GpuOpt = None,
    threads: o.ThreadsOpt = None,
    verbose: o.VerboseOpt = False,
    encoding: o.EncodingOpt = None,
) -> None:
    """Build a voice profile from samples of your writing: the model describes the
    voice, and code picks a few short excerpts that show it. The profile is a TOML file
    you can edit (see `quill style show NAME`).

    Example:

      quill style learn blog posts/*.md
    """
    from quill import prompts
    from quill.cli.context import get_env
    from quill.cli.inputs import TEXT_HINT, read_sources
    from quill.cli.logs import setup_logging
    from quill.engine.generation import generate
    from quill.env import EngineOptions
    from quill.errors import InputError, UsageError
    from quill.render.live import report, stream_live
    from quill.store.files import atomic_write_text
    from quill.writing import style
    from quill.writing.cleanup import draft_filters
    from quill.writing.verbs import template_sampling

    env = get_env(ctx)
    setup_logging(verbose)
    styles = env.paths.config_dir / "styles"
    path = style.style_path(styles, name)
    if path.exists() and not force:
        raise UsageError(f"there is already a style `{name}`", hint="pass --force to replace it")
    sources = read_sources(env, files, "learn from")
    usable = [s for s in sources if not s.problem]
    for s in sources:
        if s.problem:
            env.ui.warn(f"left out {s.name} ({s.problem})")
    if not usable:
        raise InputError("no samples to learn from", hint=TEXT_HINT)
    samples = [s.text for s in usable]
    user_dir = env.paths.config_dir / "prompts"
    engine = env.engine(
        EngineOptions(model=model, ctx=n_ctx, gpu_layers=gpu_layers, threads=threads)
    )
    spec = prompts.load("style", user_dir).get("sampling", {})
    params = template_sampling(
        spec, preset=None, default_preset="precise", max_tokens=None, default_max=400, seed=seed
    )
    messages = style.learn_messages(samples, engine.count, user_dir)
    gen = generate(engine, messages, params, transforms=draft_filters())
    result = stream_live(env.ui, gen, plain=plain)
    if result.exit_code:
        report(env.ui, result, show_stats=stats)
        raise typer.Exit(result.exit_code)
    profile = style.new_profile(name, result.text, samples, [s.name for s in usable])
    atomic_write_text(path, style.dumps(profile))
    saved = [f"saved the style `{name}` to {path}: use it with --style {name}"]
    report(env.ui, result, saved=saved, show_stats=stats)


@style_app.command("list")
def list_styles(ctx: typer.Context) -> None:
    """List your styles: name, samples and words learned from, created."""
    from quill.cli.context import get_env
    from quill.render.sanitize import sanitize
    from quill.writing import style

    env = get_env(ctx)
    styles = env.paths.config_dir / "styles"
    names = style.names(styles)
    if not names:
        env.ui.note("no styles yet: learn one with `quill style learn NAME FILES…`")
        return
    width = max(len(n) for n in names)
    for n in names:
        try:
            p = style.load(styles, n)
            m = p.measured
            about = f"{m.get('samples', len(p.sources))} samples, {m.get('words', 0):,} words"
            about += f", {p.created[:10]}" if p.created else ""
        except Exception as exc:
            about = f"cannot be read: {exc}"
        env.stdout.write(sanitize(f"{n:<{width}}  {about}") + "\n")
    env.stdout.flush()


@style_app.command("show")
def show_style(ctx: typer.Context, name: NameArg) -> None:
    """Print a style's profile (the TOML file; edit it to refine the voice)."""
    from quill.cli.context import get_env
    from quill.render.sanitize import sanitize
    from quill.writing import style

    env = get_env(ctx)
    styles = env.paths.config_dir / "styles"
    style.load(styles, name)  # a clear error when it is missing or broken
    path = style.style_path(styles, name)
    text = path.read_text("utf-8")
    env.ui.note(str(path))
    env.stdout.write(sanitize(text) if env.stdout_tty else text)
    env.stdout.flush()


@style_app.command("rm")
def remove_style(ctx: typer.Context, name: NameArg) -> None:
    """Remove a style."""
    from quill.cli.context import get_env
    from quill.errors import UsageError
    from quill.writing import style

    env = get_env(ctx)
    path = style.style_path(env.paths.config_dir / "styles", name)
    if not path.is_file():
        raise UsageError(f"there is no style `{name}`", hint="see them with: quill style list")
    path.unlink()
    env.ui.note(f"removed the style `{name}`")


def register(app: typer.Typer) -> None:
    app.add_typer(style_app, name="style")
