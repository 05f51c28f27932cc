"""`quill models list|add|rm`."""

from __future__ import annotations

from typing import Annotated

import typer

models_app = typer.Typer(help="List and add models.", no_args_is_help=True, rich_markup_mode=None)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


@models_app.command("list")
def list_models(ctx: typer.Context) -> None:
    """List known models: name, size, quantization, trained context, chat template.

    TEMPLATE is the chat template quill uses: llama.cpp's built-in copy where it renders
    the model's own template exactly, "own (Jinja)" for the model's own template run in a
    sandbox, "none" for a model without one (plain completion).
    """
    from quill.cli.context import get_env
    from quill.engine.describe import describe
    from quill.env import EngineOptions
    from quill.errors import QuillError
    from quill.models import catalog, default, registry

    env = get_env(ctx)
    current = env.resolve_options(EngineOptions()).model
    rows = []
    for e in registry.load(env.paths).values():
        is_default = (registry.is_default(current) and e.name == default.NAME) or current == e.name
        mark = "*" if is_default else " "
        m = e.embedded  # not assembled yet: what the catalog says, and how to get it
        if m is not None and not catalog.is_ready(m, env.paths.models_cache):
            rows.append(
                (
                    mark,
                    e.name,
                    _size(m.size),
                    m.quant,
                    str(m.context),
                    "own",
                    catalog.state(m, env.paths.models_cache),
                )
            )
            continue
        try:
            d = describe(e.path)
            info = d.info
            rows.append(
                (
                    mark,
                    e.name,
                    _size(info.size),
                    info.quantization,
                    str(info.context_length or "?"),
                    d.template_label,
                    str(e.path),
                )
            )
        except QuillError as exc:
            rows.append((mark, e.name, "-", "-", "-", "-", f"{e.path} ({exc.message})"))
    header = ("", "NAME", "SIZE", "QUANT", "CONTEXT", "TEMPLATE", "PATH")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = env.stdout
    for r in [header, *rows]:
        out.write(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] + "\n"
        )
    out.write("\n* = the model used when --model is not given\n")


@models_app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Path to a GGUF file.")],
    name: Annotated[str | None, typer.Option("--name", help="Name to use with --model.")] = None,
) -> None:
    """Check a GGUF file and register it under a name.

    The header is read (architecture, size, quantization, context, chat template) and
    llama.cpp reads the vocabulary; a file quill could not run is refused, with the
    reason. The weights are not loaded.
    """
    from quill.cli.context import get_env
    from quill.engine.describe import check
    from quill.models import registry

    env = get_env(ctx)
    d = check(path)
    e = registry.add(env.paths, path, name)
    for line in d.lines():
        env.ui.note(line)
    env.ui.note(f"added `{e.name}` → {e.path}  (use: quill draft --model {e.name} …)")


@models_app.command("rm")
def rm(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Name of an added model.")]
) -> None:
    """Forget an added model (the file itself is left alone)."""
    from quill.cli.context import get_env
    from quill.models import registry

    env = get_env(ctx)
    registry.remove(env.paths, name)
    env.ui.note(f"removed `{name}`")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
