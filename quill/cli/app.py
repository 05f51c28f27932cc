"""The `quill` command: a typer app, and the one list of its commands.

Every command lives in its own module (a group's commands side by side); nothing
imports back from here, and no command module imports another. Shared pieces live in
modules no command owns: the options (:mod:`quill.cli.options`), the run object
(:mod:`quill.cli.run`), the review of changes (:mod:`quill.cli.review`), draft
references (:mod:`quill.cli.refs`), report lines (:mod:`quill.cli.report`), input
(:mod:`quill.cli.inputs`) and what every kept text shares (:mod:`quill.cli.generate`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from quill import __version__
from quill.cli import (
    assess,
    bench,
    chat,
    completion,
    config_cmd,
    doctor,
    draft,
    drafts,
    drafts_edit,
    drafts_files,
    models,
    prompts_cmd,
    proofread,
    sessions,
    style,
    summarize,
    verbs,
    verbs_more,
)
from quill.cli.context import get_env
from quill.cli.logs import setup_logging
from quill.cli.options import ENGINE
from quill.cli.run import Options
from quill.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, QuillError, Terminated

Command = Callable[..., Any]

# The commands, in the order `quill --help` lists them.
COMMANDS: list[tuple[str, Command]] = [
    ("draft", draft.draft),
    ("summarize", summarize.summarize),
    ("rewrite", verbs.rewrite),
    ("expand", verbs.expand),
    ("shorten", verbs.shorten),
    ("translate", verbs_more.translate),
    ("outline", verbs_more.outline),
    ("titles", verbs_more.titles),
    ("continue", verbs_more.continue_),
    ("proofread", proofread.proofread),
    ("analyze", assess.analyze),
    ("classify", assess.classify),
    ("moderate", assess.moderate),
    ("chat", chat.chat),
    ("run", prompts_cmd.run_template),
    ("doctor", doctor.doctor),
    ("bench", bench.bench),
    ("completion", completion.completion),
]
# The command groups: name, help, and their commands.
GROUPS: list[tuple[str, str, list[tuple[str, Command]]]] = [
    (
        "sessions",
        "List, show, export and remove chat sessions.",
        [
            ("list", sessions.list_sessions),
            ("show", sessions.show),
            ("export", sessions.export),
            ("rm", sessions.remove),
        ],
    ),
    (
        "drafts",
        "Browse, revise, compare, export and import the texts quill wrote.",
        [
            ("list", drafts.list_drafts),
            ("show", drafts.show),
            ("search", drafts.search),
            ("open", drafts_edit.open_draft),
            ("revise", drafts_edit.revise),
            ("diff", drafts_edit.diff),
            ("export", drafts_files.export),
            ("import", drafts_files.import_files),
            ("rm", drafts.remove),
        ],
    ),
    (
        "prompts",
        "List, show and locate prompt templates (built-in and your own).",
        [
            ("list", prompts_cmd.list_prompts),
            ("show", prompts_cmd.show_prompt),
            ("path", prompts_cmd.prompt_path),
        ],
    ),
    (
        "models",
        "List, inspect and add models.",
        [
            ("list", models.list_models),
            ("show", models.show_model),
            ("add", models.add),
            ("default", models.set_default),
            ("rm", models.rm),
        ],
    ),
    (
        "config",
        "Show and change the settings in config.toml.",
        [
            ("show", config_cmd.show),
            ("path", config_cmd.path),
            ("get", config_cmd.get),
            ("set", config_cmd.set_value),
            ("unset", config_cmd.unset),
        ],
    ),
]

app = typer.Typer(
    name="quill",
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


def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    **engine: Any,
) -> None:
    """A terminal writing companion running a local model.

    The engine options apply to whatever model the command loads, given before the
    command (quill --kv-cache q8_0 summarize book.md) or after it; after it wins. Each
    one can also be set by its environment variable or in config.toml (quill config
    set ctx 4096): flag > variable > config file > default. Every command runs on the
    model in this process, or with --backend openai on an OpenAI-compatible server
    (llama-server, vLLM, Ollama): quill --backend openai --base-url
    http://127.0.0.1:8080 draft "…"
    """
    if any(v is not None for v in engine.values()):
        get_env(ctx).backend_flags = Options(**engine).engine_options()


def _with_engine_options(fn: Command) -> Command:
    """The root callback, with the engine group as options (declared once, in
    :mod:`quill.cli.options`)."""
    import inspect

    params = list(inspect.signature(fn, eval_str=True).parameters.values())[:-1]
    params += [
        inspect.Parameter(
            o.name, inspect.Parameter.KEYWORD_ONLY, annotation=o.annotation(), default=None
        )
        for o in ENGINE
    ]
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params}
    return fn


app.callback()(_with_engine_options(_root))
for _name, _fn in COMMANDS:
    app.command(_name)(_fn)
for _group, _help, _commands in GROUPS:
    _sub = typer.Typer(help=_help, no_args_is_help=True, rich_markup_mode=None)
    for _name, _fn in _commands:
        _sub.command(_name)(_fn)
    app.add_typer(_sub, name=_group)
app.add_typer(style.style_app, name="style")


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns expected failures into one line and an exit code."""
    setup_logging(False)
    debug = os.environ.get("QUILL_DEBUG", "") not in ("", "0")
    with contextlib.suppress(ValueError):  # not the main thread (embedded use)
        signal.signal(signal.SIGTERM, _on_sigterm)
    if os.environ.get("_QUILL_COMPLETE"):  # the shell asks for completions
        from typer.completion import completion_init

        completion_init()
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
            color=os.environ.get("NO_COLOR", "") == "",
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
