"""`quill style learn|list|show|check|rm`: a writer's voice, learned from their own samples,
for ``--style NAME`` on draft, rewrite, continue and chat."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from quill.cli.inputs import TEXT_HINT
from quill.cli.report import emit
from quill.cli.run import Run, command
from quill.engine.generation import generate
from quill.errors import InputError, UsageError
from quill.render.live import report
from quill.render.sanitize import sanitize
from quill.store.files import atomic_write_text
from quill.writing import style
from quill.writing.style_check import check_lines, check_report, describe

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The style's name.")]


@command(
    "name_tone",
    "engine",
    "sampling",
    "force",
    "show",
    leave_out=("plain",),
    helps={"force": "Replace the style NAME."},
    template="style",
)
def learn(
    run: Run,
    name: NameArg,
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILES…", help="Samples of your writing (Markdown or text)."),
    ],
) -> None:
    """Learn your voice from samples of your writing: code measures it (sentence and
    paragraph length, person, tense, contractions, headings, punctuation…) and keeps
    passages that drafts are shown; with --tone the model names the tone, in one line. Needs
    at least 250 words of prose (400 characters for Chinese). The profile is a TOML file
    you can edit (see `quill style show NAME`).

    Example:

      quill style learn blog posts/*.md
    """
    env = run.env
    path = style.style_path(run.styles_dir, name)
    if path.exists() and not run.o.force:
        raise UsageError(f"there is already a style `{name}`", hint="pass --force to replace it")
    sources = run.read_all(files, "learn from")
    usable = [s for s in sources if not s.problem]
    for s in sources:
        if s.problem:
            env.ui.warn(f"left out {s.name} ({s.problem})")
    if not usable:
        raise InputError("no samples to learn from", hint=TEXT_HINT)
    samples = [s.text for s in usable]
    style.check_enough(samples)  # before the model loads
    named = ""
    if run.o.name_tone:
        engine = run.engine()
        params = run.sampling(24, default_preset="precise", fixed_seed=False)
        gen = generate(engine, style.learn_messages(samples, engine.count, run.user_dir), params)
        with env.ui.spinner("Naming the tone…"):
            named = gen.text()
        if run.o.stats:
            report(env.ui, gen.close(), show_stats=True)
    profile = style.new_profile(name, samples, [s.name for s in usable], named)
    atomic_write_text(path, style.dumps(profile), force=True)
    env.stdout.write("\n".join(describe(profile)) + "\n")
    env.stdout.flush()
    env.ui.note(f"saved the style `{name}` to {path}: use it with --style {name}")


@command("quiet")
def list_styles(run: Run) -> None:
    """List your styles: name, samples and words learned from, created."""
    env = run.env
    names = style.names(run.styles_dir)
    if not names:
        env.ui.note("no styles yet: learn one with `quill style learn NAME FILES…`")
        return
    width = max(len(n) for n in names)
    for n in names:
        try:
            p = style.load(run.styles_dir, n)
            unit = "characters" if p.script == "zh" else "words"
            about = f"{p.samples or len(p.sources)} samples, {p.words:,} {unit}"
            about += f", {p.created[:10]}" if p.created else ""
        except Exception as exc:
            about = f"cannot be read: {exc}"
        env.stdout.write(sanitize(f"{n:<{width}}  {about}") + "\n")
    env.stdout.flush()


@command("toml", "quiet")
def show_style(run: Run, name: NameArg) -> None:
    """Print a style: its measured figures, the habits drafts are told, the tone and
    how many passages are kept (--toml: the file; edit it to refine the voice)."""
    env = run.env
    profile = style.load(run.styles_dir, name)  # a clear error when it is missing or broken
    path = style.style_path(run.styles_dir, name)
    text = path.read_text("utf-8") if run.o.toml else "\n".join(describe(profile)) + "\n"
    env.ui.note(str(path))
    emit(env, text)


@command(
    "file",
    "style",
    "as_json",
    "encoding",
    "quiet",
    helps={"file": "The text to check (default: stdin).", "style": "The style to check against."},
    verb="check",
)
def check_style(run: Run) -> None:
    """How close a text is to a style, figure by figure (the writer's figure, the
    text's, and the distance: 0 is a match, 1 a clear difference, 3 the most), with one
    overall distance and what strays far.

    Example:

      quill style check post.md --style me
    """
    env, name = run.env, run.o.style
    if not name:
        raise UsageError("which style? pass --style NAME", hint="see them with: quill style list")
    profile = style.load(run.styles_dir, name)
    data = check_report(profile, run.read(run.o.file).text)
    if run.o.as_json:
        out = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        out = "\n".join(check_lines(data)) + "\n"
    emit(env, out)


@command("quiet")
def remove_style(run: Run, name: NameArg) -> None:
    """Remove a style."""
    env = run.env
    path = style.style_path(run.styles_dir, name)
    if not path.is_file():
        raise UsageError(f"there is no style `{name}`", hint="see them with: quill style list")
    path.unlink()
    env.ui.note(f"removed the style `{name}`")
