"""The `quill` console script. `quill --help` and `quill --version` are answered here,
without importing typer: on this project's 2-core machine importing typer alone takes
about 60 ms of the 100 ms `--help` may take. Everything else goes to
:func:`quill.cli.app.main`.

The root help is kept in ``root_help.txt`` beside this file, as the typer app prints it
on a terminal of 80 columns or more (click formats help at min(columns, 80) - 2). It is
written by ``python -m quill.cli.entry --write-help``, and a test holds it to what the
app prints, so it cannot drift. On a narrower terminal, or when the file is missing,
the app prints the help itself.
"""

from __future__ import annotations

import os
import sys

HELP_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "root_help.txt")
HELP_COLUMNS = 80  # from this terminal width up, click's help is the same text
HELP_ARGS = (["--help"], ["-h"])
# Python code that has the typer app print its root help (what root_help.txt keeps)
APP_HELP = "from quill.cli.app import main; main(['--help'])"


def columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` (which click asks) reads
    it: $COLUMNS, else the terminal of stdout, else 80. shutil itself costs imports."""
    try:
        cols = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        cols = 0
    if cols > 0:
        return cols
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def kept_help() -> str | None:
    """The root help as kept, or None where it cannot be read."""
    try:
        with open(HELP_FILE, encoding="utf-8") as f:
            return f.read() or None
    except OSError:
        return None


def quick(args: list[str]) -> str | None:
    """What ``quill ARGS`` prints, where that is known without the app: the version, or
    the kept root help on a terminal wide enough for it; else None."""
    if os.environ.get("_QUILL_COMPLETE"):  # the shell asks for completions: the app's
        return None
    if args == ["--version"]:
        from quill import __version__

        return f"quill {__version__}\n"
    if args in HELP_ARGS and columns() >= HELP_COLUMNS:
        return kept_help()
    return None


def main() -> None:
    text = quick(sys.argv[1:])
    if text is None:
        from quill.cli.app import main as app_main

        app_main()
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `quill --help | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def write_help() -> None:
    """Write ``root_help.txt`` from the typer app (as a terminal of 100 columns shows it)."""
    import subprocess

    env = {**os.environ, "COLUMNS": "100"}
    out = subprocess.run(
        [sys.executable, "-c", APP_HELP], env=env, capture_output=True, text=True, check=False
    ).stdout
    with open(HELP_FILE, "w", encoding="utf-8") as f:
        f.write(out)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-help"]:
        write_help()
    else:
        main()
