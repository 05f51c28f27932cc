"""`quill style learn|list|show|check|rm`: a writer's voice, learned from their own samples,
for ``--style NAME`` on draft, rewrite, continue and chat."""

from __future__ import annotations

from typing import Annotated

import typer

from quill.cli import options as o

style_app = typer.Typer(
    help="Learn, list, show, check and remove voice profiles (for --style NAME).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The style's name.")]


@style_app.command("learn")
def learn(
    ctx: typer.Context,
    name: NameArg,
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILES…", help="Samples of your writing (Markdown or text)."),
    ],
    force: Annotated[bool, typer.Option("--force", "-f", help="Replace the style NAME.")] = False,
    tone: Annotated[
        bool,
        typer.Option(
            "--tone/--no-tone",
            help="Let the model name the tone in one line (small models often name it "
            "wrong: check it with `quill style show`).",
        ),
    ] = False,
    seed: o.SeedOpt = None,
    stats: o.StatsOpt = False,
    model: o.ModelOpt = None,
    n_ctx: o.CtxOpt = None,
    gpu_layers: o.GpuOpt = None,
    threads: o.ThreadsOpt = None,
    verbose: o.VerboseOpt = False,
    encoding: o.EncodingOpt = None,
) -> None:
    """Learn your voice from samples of your writing: code measures it (sentence and
    paragraph length, person, tense, contractions, headings, punctuation…) and keeps
    passages that drafts are shown; with --tone the model names the tone, in one line. Needs
    at least 250 words of prose (400 characters for Chinese). The profile is a TOML file
    you can edit (see `quill style show NAME`).

    Example:

      quill style learn blog posts/*.md
    """
    from quill.cli.context import get_env
    from quill.cli.inputs import TEXT_HINT, check_encoding, read_sources
    from quill.cli.logs import setup_logging
    from quill.errors import InputError, UsageError
    from quill.store.files import atomic_write_text
    from quill.writing import style
    from quill.writing.style_check import describe

    env = get_env(ctx)
    setup_logging(verbose)
    styles = env.paths.config_dir / "styles"
    path = style.style_path(styles, name)
    if path.exists() and not force:
        raise UsageError(f"there is already a style `{name}`", hint="pass --force to replace it")
    sources = read_sources(env, files, "learn from", check_encoding(encoding))
    usable = [s for s in sources if not s.problem]
    for s in sources:
        if s.problem:
            env.ui.warn(f"left out {s.name} ({s.problem})")
    if not usable:
        raise InputError("no samples to learn from", hint=TEXT_HINT)
    samples = [s.text for s in usable]
    style.check_enough(samples)  # before the model loads
    named = ""
    if tone:
        from quill import prompts
        from quill.engine.generation import generate
        from quill.env import EngineOptions
        from quill.render.live import report
        from quill.writing.verbs import template_sampling

        user_dir = env.paths.config_dir / "prompts"
        engine = env.engine(
            EngineOptions(model=model, ctx=n_ctx, gpu_layers=gpu_layers, threads=threads)
        )
        spec = prompts.load("style", user_dir).get("sampling", {})
        params = template_sampling(
            spec, preset=None, default_preset="precise", max_tokens=None, default_max=24, seed=seed
        )
        gen = generate(engine, style.learn_messages(samples, engine.count, user_dir), params)
        with env.ui.spinner("Naming the tone…"):
            named = gen.text()
        if stats:
            report(env.ui, gen.close(), show_stats=True)
    profile = style.new_profile(name, samples, [s.name for s in usable], named)
    atomic_write_text(path, style.dumps(profile), force=True)
    env.stdout.write("\n".join(describe(profile)) + "\n")
    env.stdout.flush()
    env.ui.note(f"saved the style `{name}` to {path}: use it with --style {name}")


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
            unit = "characters" if p.script == "zh" else "words"
            about = f"{p.samples or len(p.sources)} samples, {p.words:,} {unit}"
            about += f", {p.created[:10]}" if p.created else ""
        except Exception as exc:
            about = f"cannot be read: {exc}"
        env.stdout.write(sanitize(f"{n:<{width}}  {about}") + "\n")
    env.stdout.flush()


@style_app.command("show")
def show_style(
    ctx: typer.Context,
    name: NameArg,
    toml: Annotated[bool, typer.Option("--toml", help="Print the TOML file itself.")] = False,
) -> None:
    """Print a style: its measured figures, the habits drafts are told, the tone and
    how many passages are kept (--toml: the file; edit it to refine the voice)."""
    from quill.cli.context import get_env
    from quill.render.sanitize import sanitize
    from quill.writing import style
    from quill.writing.style_check import describe

    env = get_env(ctx)
    styles = env.paths.config_dir / "styles"
    profile = style.load(styles, name)  # a clear error when it is missing or broken
    path = style.style_path(styles, name)
    text = path.read_text("utf-8") if toml else "\n".join(describe(profile)) + "\n"
    env.ui.note(str(path))
    env.stdout.write(sanitize(text) if env.stdout_tty else text)
    env.stdout.flush()


@style_app.command("check")
def check_style(
    ctx: typer.Context,
    file: Annotated[
        str | None, typer.Argument(metavar="FILE", help="The text to check (default: stdin).")
    ] = None,
    name: Annotated[
        str, typer.Option("--style", metavar="NAME", help="The style to check against.")
    ] = "",
    json_out: o.JsonOpt = False,
) -> None:
    """How close a text is to a style, figure by figure (the writer's figure, the
    text's, and the distance: 0 is a match, 1 a clear difference, 3 the most), with one
    overall distance and what strays far.

    Example:

      quill style check post.md --style me
    """
    import json

    from quill.cli.context import get_env
    from quill.cli.inputs import read_text
    from quill.errors import UsageError
    from quill.render.sanitize import sanitize
    from quill.writing import style
    from quill.writing.style_check import check_lines, check_report

    env = get_env(ctx)
    if not name:
        raise UsageError("which style? pass --style NAME", hint="see them with: quill style list")
    profile = style.load(env.paths.config_dir / "styles", name)
    src = read_text(env, file, "check")
    data = check_report(profile, src.text)
    if json_out:
        out = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        out = "\n".join(check_lines(data)) + "\n"
    env.stdout.write(sanitize(out) if env.stdout_tty else out)
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
