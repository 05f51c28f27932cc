"""`quill config show|path|get|set|unset`: the settings in config.toml, each a row of
:data:`quill.config.SETTINGS` (flag, environment variable, config key, default)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from quill.cli.report import print_json, print_rows
from quill.cli.run import Run, command
from quill.config import SETTINGS, find_setting, parse_config, read_config, write_config
from quill.config import resolve as resolve_setting

KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="A setting, e.g. model or kv_cache.")]


def _shown(value: Any, secret: bool) -> str:
    if value is None:
        return "-"
    return "(set)" if secret else str(value)


@command("as_json", "quiet")
def show(run: Run) -> None:
    """Every setting: its value for the next command, and where the value comes from
    (a variable, the config file, or the default); the variable and flag that set it."""
    env = run.env
    rows = [(s, *resolve_setting(s, None, env.environ, env.settings)) for s in SETTINGS]
    if run.o.as_json:
        print_json(env, [
            {"key": s.name, "value": None if s.secret and value is not None else value,
             "source": source, "env": s.env, "flag": s.flag}
            for s, value, source in rows
        ])  # fmt: skip
        return
    table = [(s.name, _shown(v, s.secret), src, s.env, s.flag) for s, v, src in rows]
    print_rows(run.env, ("KEY", "VALUE", "FROM", "VARIABLE", "FLAG"), table)


@command("quiet")
def path(run: Run) -> None:
    """Print the config file's path (it may not exist yet)."""
    env = run.env
    env.stdout.write(f"{env.paths.config_file}\n")


@command("quiet")
def get(run: Run, key: KeyArg) -> None:
    """Print one setting's value for the next command (flag > variable > config >
    default); nothing, and exit 1, when it has none."""
    env = run.env
    row = find_setting(key)
    value, _ = resolve_setting(row, None, env.environ, env.settings)
    if value is None:
        raise typer.Exit(1)
    env.stdout.write(f"{value}\n")


@command("quiet")
def set_value(
    run: Run,
    key: KeyArg,
    value: Annotated[str, typer.Argument(metavar="VALUE", help="The value (checked first).")],
) -> None:
    """Set a setting in config.toml (your comments, order and other lines are kept).

    Examples:

      quill config set ctx 4096

      quill config set model qwen2.5-coder-1.5b
    """
    env = run.env
    row = find_setting(key)
    config = env.paths.config_file
    read_config(config)  # a broken file is refused before the value is checked
    parsed = parse_config(row, value, config)
    write_config(config, row.name, parsed)
    env.ui.note(f"{row.name} = {_shown(parsed, row.secret)} in {config}")
    if env.environ.get(row.env, "").strip():
        env.ui.warn(f"{row.env} is set and wins over the config file")


@command("quiet")
def unset(run: Run, key: KeyArg) -> None:
    """Remove a setting from config.toml (its default applies again)."""
    env = run.env
    row = find_setting(key)
    config = env.paths.config_file
    if not config.exists():
        env.ui.note(f"{row.name} is not set: there is no {config}")
        return
    if not write_config(config, row.name, None):
        env.ui.note(f"{row.name} is not set in {config}")
        return
    env.ui.note(f"removed {row.name} from {config}")
