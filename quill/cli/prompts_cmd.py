"""`quill prompts list|show|path` and `quill run NAME`: the prompt library.

Every verb (and every form of `quill draft`) is a TOML template in
``quill/prompts/builtin/``; a file of the same name in ``<config dir>/prompts/``
overrides the keys it sets, and a file with a new name adds a template of the writer's
own, which `quill run` runs like a built-in one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from quill import prompts
from quill.cli.report import emit, print_json, print_rows
from quill.cli.run import Run, command
from quill.engine.generation import generate
from quill.errors import UsageError
from quill.writing.cleanup import unwrap_fence
from quill.writing.verbs import run_messages

TemplateArg = Annotated[str, typer.Argument(help="Template name (see quill prompts list).")]


@command("as_json", "quiet")
def list_prompts(run: Run) -> None:
    """List templates: name, where it comes from, what it does."""
    env = run.env
    rows = []
    for name in prompts.names(run.user_dir):
        runnable = False
        try:
            data = prompts.load(name, run.user_dir)
            about = str(data.get("description", "")) or f"used by quill {name}"
            runnable = "user" in data
            about += "" if runnable else " (not runnable with quill run)"
        except UsageError as exc:
            about = f"cannot be read: {exc.message}"
        rows.append((name, prompts.origin(name, run.user_dir), about, runnable))
    if run.o.as_json:
        keys = ("name", "origin", "description", "runnable")
        print_json(env, [dict(zip(keys, r, strict=True)) for r in rows])
        return
    print_rows(env, ("NAME", "ORIGIN", "WHAT IT DOES"), [r[:3] for r in rows])


@command("quiet")
def show_prompt(run: Run, name: TemplateArg) -> None:
    """Print a template: the built-in file, then your changes to it (if any).

    To change a template, copy it and edit the copy:

      quill prompts show rewrite > "$(quill prompts path rewrite)"
    """
    env = run.env
    builtin = prompts.builtin_text(name)
    user = run.user_dir / f"{name}.toml"
    if builtin is None and not user.is_file():
        raise UsageError(
            f"there is no prompt template `{name}`", hint="see them with: quill prompts list"
        )
    out = []
    if builtin is not None:
        out.append(builtin.rstrip("\n") + "\n")
    if user.is_file():
        if out:
            out.append(f"\n# -- your changes, from {user} --\n\n")
        out.append(user.read_text("utf-8").rstrip("\n") + "\n")
    emit(env, "".join(out))


@command("quiet")
def prompt_path(
    run: Run,
    name: Annotated[
        str | None, typer.Argument(help="A template name: the path of your file for it.")
    ] = None,
) -> None:
    """Print the folder of your templates (or the file for template NAME)."""
    env = run.env
    env.stdout.write(f"{run.user_dir / f'{name}.toml' if name else run.user_dir}\n")
    env.stdout.flush()


def _vars(pairs: list[str]) -> dict[str, str]:

    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise UsageError(f"--var takes NAME=VALUE, not `{pair}`", hint="e.g. --var tone=warm")
        out[key.strip()] = value
    return out


@command("var", "file", "engine", "sampling", "keep", "show", verb="run")
def run_template(run: Run, name: TemplateArg) -> None:
    """Run a prompt template, built-in or your own. The input (FILE or stdin) is
    $text; other variables come from --var NAME=VALUE. A missing variable is an error
    that names it.

    Examples:

      quill run rewrite notes.md --var requirements="- Tone: warm."

      quill run haiku --var topic="autumn rain"
    """
    file = run.o.file
    values = _vars(run.o.var or [])
    run.template = name
    with run as v:
        p = prompts.prompt(name, v.user_dir)
        needs_text = "text" in p.variables and "text" not in values
        src = v.read(file) if needs_text or file is not None else None
        messages = run_messages(p, src.text if src else None, values)
        engine = v.engine()
        params = v.sampling(1024)
        gen = generate(engine, messages, params, transforms=[unwrap_fence])
        request = {"variables": values, "origin": p.origin}
        v.stream(gen, src, kind="run", request=request)
