"""`quill models list|show|add|default|rm`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from quill.cli.report import print_json, print_rows
from quill.cli.run import Run, command
from quill.config import BY_NAME, parse_config, write_config
from quill.engine.describe import check, describe
from quill.env import EngineOptions, Environment
from quill.errors import QuillError, UsageError
from quill.models import catalog, default, registry
from quill.render.sanitize import sanitize


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def _row(env: Environment, e: registry.Entry, current: str | None) -> dict[str, Any]:
    """What `models list` and `models show` say about one model."""
    is_default = (registry.is_default(current) and e.name == default.NAME) or current == e.name
    row: dict[str, Any] = {"name": e.name, "default": is_default, "path": str(e.path)}
    row["defaults"] = dict(e.defaults)  # what the model keeps with it (models.toml)
    m = e.embedded  # not assembled yet: what the catalog says, and how to get it
    if m is not None and not catalog.is_ready(m, env.paths.models_cache):
        state = catalog.state(m, env.paths.models_cache)
        row.update(size=m.size, quantization=m.quant, context=m.context, template="own")
        row.update(architecture=None, parameters=None, state=state)
        return row
    try:
        d = describe(e.path)
    except QuillError as exc:
        row.update(size=None, quantization=None, context=None, template=None)
        row.update(architecture=None, parameters=None, state=exc.message)
        return row
    info = d.info
    row.update(size=info.size, quantization=info.quantization, context=info.context_length)
    row.update(template=d.template_label, architecture=info.architecture, parameters=d.params)
    row.update(state="ready", template_source=d.template.how if d.template else d.template_error)
    return row


def _current(env: Environment) -> str | None:
    return env.resolve_options(EngineOptions()).model


@command("as_json", "quiet")
def list_models(run: Run) -> None:
    """List known models: name, size, quantization, trained context, chat template.

    TEMPLATE is the chat template quill uses: llama.cpp's built-in copy where it renders
    the model's own template exactly, "own (Jinja)" for the model's own template run in a
    sandbox, "none" for a model without one (plain completion). Piped, the columns are
    separated by tabs; --json gives every field.
    """
    env = run.env
    current = _current(env)
    rows = [_row(env, e, current) for e in registry.load(env.paths).values()]
    if run.o.as_json:
        print_json(env, rows)
        return

    def cell(v: Any) -> str:
        return "-" if v is None else str(v)

    table = [
        (
            "*" if r["default"] else " ",
            r["name"],
            "-" if r["size"] is None else _size(r["size"]),
            cell(r["quantization"]),
            cell(r["context"] or "?") if r["size"] is not None else "-",
            cell(r["template"]),
            r["path"] if r["state"] == "ready" else f"{r['state']}",
        )
        for r in rows
    ]
    print_rows(env, ("", "NAME", "SIZE", "QUANT", "CONTEXT", "TEMPLATE", "PATH"), table)
    if env.stdout_tty:
        env.stdout.write("\n* = the model used when --model is not given\n")


@command("as_json", "quiet")
def show_model(
    run: Run,
    name: Annotated[str, typer.Argument(help="A model name or a GGUF path.")],
) -> None:
    """Show one model: file, architecture, parameters, quantization, trained context,
    and the chat template quill uses for it (and where that template comes from)."""
    env = run.env
    row = _row(env, registry.resolve(env.paths, name), _current(env))
    if run.o.as_json:
        print_json(env, row)
        return
    labels = {
        "name": "name",
        "path": "file",
        "state": "state",
        "architecture": "architecture",
        "parameters": "parameters",
        "quantization": "quantization",
        "context": "trained context",
        "template": "chat template",
        "template_source": "template source",
        "size": "size",
        "default": "default",
        "defaults": "its own defaults",
    }
    for key, label in labels.items():
        value = row.get(key)
        if value is None:
            continue
        text = _size(value) if key == "size" else ("yes" if value is True else str(value))
        if key == "defaults":
            text = ", ".join(f"{k} = {v!r}" for k, v in value.items()) or "none"
        if value is False:
            text = "no"
        env.stdout.write(sanitize(f"{label:<16} {text}") + "\n")
    env.stdout.flush()


@command("quiet")
def set_default(
    run: Run,
    name: Annotated[str, typer.Argument(help="A model name (see quill models list).")],
) -> None:
    """Make NAME the model every command uses when --model is not given (the config's
    `model`, as `quill config set model NAME` does)."""
    env = run.env
    entry = registry.resolve(env.paths, name)  # an unknown name is refused here
    config = env.paths.config_file
    value = entry.name if not registry.is_default(name) else default.NAME
    write_config(config, "model", value)
    env.ui.note(f'the default model is now `{value}` (model = "{value}" in {config})')
    if env.environ.get("QUILL_MODEL", "").strip():
        env.ui.warn("QUILL_MODEL is set and wins over the config file")


def check_name(name: str) -> None:
    """A model name is one line of printable text, without quotes or slashes (it is a
    key in models.toml and a word on the command line)."""
    bad = [c for c in name if not c.isprintable() or c in "\"'/\\" or c.isspace()]
    if not name.strip() or bad or len(name) > 80:
        raise UsageError(
            f"`{name!r}` cannot be a model name",
            hint="use letters, digits, dots, dashes and underscores, e.g. --name mistral-7b",
        )


@command("model_name", "model_ctx", "model_template", "model_preset", "model_system", "quiet")
def add(run: Run, path: Annotated[str, typer.Argument(help="Path to a GGUF file.")]) -> None:
    """Check a GGUF file and register it under a name, with its own defaults.

    The header is read (architecture, size, quantization, context, chat template) and
    llama.cpp reads the vocabulary; a file quill could not run is refused, with the
    reason. The weights are not loaded. --ctx, --chat-template, --preset and --system
    are kept with the model in models.toml: they apply whenever it runs, unless a flag,
    a variable or config.toml says otherwise. Adding the same name again replaces them.
    """
    env, o, name = run.env, run.o, run.o.model_name
    if name is not None:
        check_name(name)
    given = {
        "ctx": o.model_ctx,
        "chat_template": o.model_template,
        "preset": o.model_preset,
        "system": o.model_system,
    }
    defaults = {
        k: parse_config(BY_NAME[k], v, env.paths.models_file) if k in BY_NAME else v
        for k, v in given.items()
        if v is not None
    }
    d = check(path, override=defaults.get("chat_template"))
    e = registry.add(env.paths, path, name, defaults)
    for line in d.lines():
        env.ui.note(line)
    env.ui.note(f"added `{e.name}` → {e.path}  (use: quill draft --model {e.name} …)")


@command("quiet")
def rm(run: Run, name: Annotated[str, typer.Argument(help="Name of an added model.")]) -> None:
    """Forget an added model (the file itself is left alone)."""
    env = run.env
    registry.remove(env.paths, name)
    env.ui.note(f"removed `{name}`")
