"""The console script (quill/cli/entry.py): `quill --help` and `quill --version` answered
without typer, with the same text the app prints; everything else reaches the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import quill_cmd

from quill.cli import entry
from quill.cli.entry import APP_HELP


def _run(args: list[str], code: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", code, *args] if code else quill_cmd(*args)
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})


def test_the_kept_help_is_what_the_app_prints() -> None:
    """root_help.txt drifts from the commands and options the moment one changes: this
    fails then. Write it again with `python -m quill.cli.entry --write-help`."""
    app = _run([], APP_HELP, COLUMNS="100").stdout
    assert app.startswith("Usage: quill")
    assert Path(entry.HELP_FILE).read_text(encoding="utf-8") == app, (
        "root_help.txt is stale: run `python -m quill.cli.entry --write-help`"
    )


def test_help_and_version_do_not_import_typer() -> None:
    code = (
        "import sys\nfrom quill.cli.entry import main\nsys.argv[1:] = [sys.argv[1]]\nmain()\n"
        "print('TYPER', 'typer' in sys.modules)\n"
    )
    for flag in ("--help", "-h", "--version"):
        out = _run([flag], code, COLUMNS="100").stdout
        assert out.rstrip().endswith("TYPER False"), (flag, out[-200:])
    assert _run(["--version"]).stdout == "quill " + __import__("quill").__version__ + "\n"


def test_a_narrow_terminal_gets_the_app_s_own_help() -> None:
    """Below 80 columns click wraps the help to the terminal: the app prints it."""
    narrow = _run(["--help"], COLUMNS="60")
    assert narrow.returncode == 0
    assert narrow.stdout == _run([], APP_HELP, COLUMNS="60").stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60


def test_everything_else_reaches_the_app(quill_home: Path) -> None:
    env = {"QUILL_HOME": str(quill_home)}
    r = _run(["draft", "--help"], COLUMNS="100", **env)
    assert r.returncode == 0 and "--words" in r.stdout
    bad = _run(["--no-such-flag"], **env)
    assert bad.returncode == 2 and "No such option" in bad.stderr


def test_help_into_a_closed_pipe_is_quiet() -> None:
    """`quill --help | head -1`: no traceback, no 'Exception ignored' line."""
    cmd = " ".join(quill_cmd("--help")) + " | head -1"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    assert r.stdout == "Usage: quill [OPTIONS] COMMAND [ARGS]...\n"
    assert r.stderr == ""
