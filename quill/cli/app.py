"""The `quill` command: a typer app whose commands live one per module."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from typing import Annotated

import typer

from quill import __version__

app = typer.Typer(
    name="quill",
    help="A terminal writing companion running a local model.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"quill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """A terminal writing companion running a local model."""


def _register() -> None:
    from quill.cli import chat, doctor, draft, models, sessions, summarize

    for module in (draft, summarize, chat, sessions, models, doctor):
        module.register(app)


_register()


def setup_logging(verbose: bool) -> None:
    """quill's own logger (llama.cpp's log goes through `quill.llama`)."""
    root = logging.getLogger("quill")
    if not root.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.addHandler(h)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("quill.llama").setLevel(logging.DEBUG if verbose else logging.ERROR)


def _on_sigterm(signum: int, frame: object) -> None:
    from quill.errors import Terminated

    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns expected failures into one line and an exit code."""
    from quill.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, QuillError, Terminated

    setup_logging(False)
    debug = os.environ.get("QUILL_DEBUG", "") not in ("", "0")
    with contextlib.suppress(ValueError):  # not the main thread (embedded use)
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(args=argv, prog_name="quill")
    except QuillError as exc:
        if debug:
            raise
        from quill.render.ui import UI

        err = sys.stderr
        ui = UI(
            sys.stdout,
            err,
            stdout_tty=False,
            stderr_tty=err.isatty(),
            color="NO_COLOR" not in os.environ,
        )
        ui.error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except Terminated:
        sys.exit(EXIT_TERMINATED)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`quill draft … | head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
