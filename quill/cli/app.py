"""The `quill` command: a typer app whose commands live one per module."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Annotated

import typer

from quill import __version__
from quill.cli import options as o

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
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    backend: o.BackendOpt = None,
    base_url: o.BaseUrlOpt = None,
    api_key: o.ApiKeyOpt = None,
    parallel: o.ParallelOpt = None,
    kv_cache: o.KvCacheOpt = None,
    chat_template: o.ChatTemplateOpt = None,
    threads_batch: o.ThreadsBatchOpt = None,
) -> None:
    """A terminal writing companion running a local model.

    The options here apply to every command and go before it: quill --kv-cache q8_0
    summarize book.md. Every command runs on the model in this process, or with
    --backend openai on an OpenAI-compatible server (llama-server, vLLM, Ollama):
    quill --backend openai --base-url http://127.0.0.1:8080 draft "…"
    """
    engine_flags = (backend, base_url, api_key, parallel, kv_cache, chat_template, threads_batch)
    if any(v is not None for v in engine_flags):
        from quill.cli.context import get_env
        from quill.env import EngineOptions

        env = get_env(ctx)
        env.backend_flags = EngineOptions(
            backend=backend,
            base_url=base_url,
            api_key=api_key,
            parallel=parallel,
            kv_cache=kv_cache,
            chat_template=chat_template,
            threads_batch=threads_batch,
        )


def _register() -> None:
    from quill.cli import (
        assess,
        bench,
        chat,
        doctor,
        draft,
        drafts,
        models,
        prompts_cmd,
        proofread,
        sessions,
        style,
        summarize,
        verbs,
    )

    for module in (draft, summarize, verbs, proofread, assess, chat, sessions, drafts):
        module.register(app)
    for module in (prompts_cmd, style, models, doctor, bench):
        module.register(app)


_register()


def _on_sigterm(signum: int, frame: object) -> None:
    from quill.errors import Terminated

    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns expected failures into one line and an exit code."""
    from quill.cli.logs import setup_logging
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
    except SystemExit as exc:
        # typer catches a broken pipe itself, wraps stdout so that nothing more is said,
        # and exits 1 (the code of an internal error): the reader going away is not one.
        if exc.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            sys.exit(0)
        raise
