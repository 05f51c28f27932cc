"""The `quill` command: a typer app, and the one list of its commands.

Every command lives in a module of its own (a group's commands side by side); nothing
imports back from here, and no command module imports another. Shared pieces live in
modules no command owns: the options (:mod:`quill.cli.options`), the run object and
the decorator that builds it (:mod:`quill.cli.run`), the review of changes
(:mod:`quill.cli.review`), draft references (:mod:`quill.cli.refs`), report lines and
listings (:mod:`quill.cli.report`), input (:mod:`quill.cli.inputs`) and what every kept
text shares (:mod:`quill.cli.generate`).

A command's module is imported when that command runs or shows its help, never for
`quill --help`: the list below names each one's module and the first line of its help
(a test holds that line to the command's docstring).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group
from typer.models import CommandInfo

from quill.cli.context import get_env
from quill.cli.logs import setup_logging
from quill.cli.options import BY_NAME, ENGINE, Options, with_options
from quill.env import Environment
from quill.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, QuillError, Terminated

Command = Callable[..., Any]

# The commands, in the order `quill --help` lists them: name, "module:function", and the
# first paragraph of its help.
COMMANDS: list[tuple[str, str, str]] = [
    ("draft", "draft:draft", "Write a first draft from a brief."),
    ("summarize", "summarize:summarize", "Summarize documents of any length."),
    ("rewrite", "verbs:rewrite", "Rewrite a text in another tone, length or for another audience."),
    ("expand", "verbs:expand", "Make a text about twice as long (`quill rewrite --longer`)."),
    ("shorten", "verbs:shorten", "Make a text about half as long (`quill rewrite --shorter`)."),
    ("translate", "verbs_more:translate", "Translate a text, keeping its Markdown structure."),
    ("outline", "verbs_more:outline", "Outline a text as Markdown headings and bullets."),
    ("titles", "verbs_more:titles", "Title ideas for a text, one per line."),
    ("continue", "verbs_more:continue_", "Write the next part of a draft in its own voice. Prints "
     "only the continuation; the draft kept (and --out) is the whole text."),
    ("proofread", "proofread:proofread", "Correct spelling, grammar and punctuation, and "
     "nothing else."),
    ("analyze", "assess:analyze", "Analyze a text: sentiment, tone, reading level, weakest "
     "sentences."),
    ("classify", "assess:classify", "Put a text into exactly one of the given labels."),
    ("moderate", "assess:moderate", "Flag harmful content or personal data (exit code 11 if "
     "flagged)."),
    ("chat", "chat:chat", "Talk with the model; the conversation is saved as a session."),
    ("run", "prompts_cmd:run_template", "Run a prompt template, built-in or your own. The input "
     "(FILE or stdin) is $text; other variables come from --var NAME=VALUE. A missing variable "
     "is an error that names it."),
    ("doctor", "doctor:doctor", "Check the installation: versions, GPU offload, the default "
     "model, folders."),
    ("bench", "bench:bench", "Measure the writing a model does on quill's own evaluation set."),
    ("completion", "completion:completion", "Print the completion script for SHELL; the shell "
     "runs quill to complete a word."),
]  # fmt: skip
# The command groups: name, help, and their commands ("module:function").
GROUPS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("sessions", "List, show, export and remove chat sessions.", [
        ("list", "sessions:list_sessions"), ("show", "sessions:show"),
        ("export", "sessions:export"), ("rm", "sessions:remove"),
    ]),
    ("drafts", "Browse, revise, compare, export and import the texts quill wrote.", [
        ("list", "drafts:list_drafts"), ("show", "drafts:show"), ("search", "drafts:search"),
        ("open", "drafts_edit:open_draft"), ("revise", "drafts_edit:revise"),
        ("diff", "drafts_edit:diff"), ("export", "drafts_files:export"),
        ("import", "drafts_files:import_files"), ("rm", "drafts:remove"),
    ]),
    ("prompts", "List, show and locate prompt templates (built-in and your own).", [
        ("list", "prompts_cmd:list_prompts"), ("show", "prompts_cmd:show_prompt"),
        ("path", "prompts_cmd:prompt_path"),
    ]),
    ("models", "List, inspect and add models.", [
        ("list", "models:list_models"), ("show", "models:show_model"), ("add", "models:add"),
        ("default", "models:set_default"), ("rm", "models:rm"),
    ]),
    ("config", "Show and change the settings in config.toml.", [
        ("show", "config_cmd:show"), ("path", "config_cmd:path"), ("get", "config_cmd:get"),
        ("set", "config_cmd:set_value"), ("unset", "config_cmd:unset"),
    ]),
    ("style", "Learn, list, show, check and remove voice profiles (for --style NAME).", [
        ("learn", "style:learn"), ("list", "style:list_styles"), ("show", "style:show_style"),
        ("check", "style:check_style"), ("rm", "style:remove_style"),
    ]),
]  # fmt: skip


def load(spec: str) -> Any:
    """``"module:name"`` -> that object of ``quill.cli.module`` (imported now)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(f"quill.cli.{module}"), name)


class LazyGroup(TyperGroup):
    """The root group: a command is built (and its module imported) when it is asked
    for; `quill --help` lists the commands from the tables above."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [c[0] for c in COMMANDS] + [g[0] for g in GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            built = build(cmd_name)
            if built is None:
                return None
            self.commands[cmd_name] = built
        return self.commands[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(n, h) for n, _, h in COMMANDS] + [(n, h) for n, h, _ in GROUPS]
        limit = formatter.width - 6 - max(len(n) for n, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(n, make_default_short_help(h, limit)) for n, h in rows])


def build(name: str) -> Any:
    """The click command (or group) ``name`` of the tables above; None if there is none."""
    for cmd, spec, _ in COMMANDS:
        if cmd == name:
            info = CommandInfo(name=name, callback=load(spec))
            return get_command_from_info(info, pretty_exceptions_short=False, rich_markup_mode=None)
    for group, help, commands in GROUPS:
        if group == name:
            sub = typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)
            for sub_name, spec in commands:
                sub.command(sub_name)(load(spec))
            click_group = get_group(sub)
            click_group.name = name
            return click_group
    return None


app = typer.Typer(
    name="quill",
    cls=LazyGroup,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _root(ctx: typer.Context, **engine: Any) -> None:
    """A terminal writing companion running a local model.

    The engine options apply to whatever model the command loads, given before the
    command (quill --kv-cache q8_0 summarize book.md) or after it; after it wins. Each
    one can also be set by its environment variable or in config.toml (quill config
    set ctx 4096): flag > variable > config file > default. Every command runs on the
    model in this process, or with --backend openai on an OpenAI-compatible server
    (llama-server, vLLM, Ollama): quill --backend openai --base-url
    http://127.0.0.1:8080 draft "…"
    """
    engine.pop("show_version")  # --version has printed and exited when given
    if any(v is not None for v in engine.values()):
        get_env(ctx).backend_flags = Options(**engine).engine_options()


# The root callback takes --version and the engine group as options (declared once, in
# cli/options.py).
_own = list(inspect.signature(_root, eval_str=True).parameters.values())[:-1]
app.callback()(with_options(_root, _own, [BY_NAME["show_version"], *ENGINE], {}))


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
        Environment(stdout_tty=False).ui.error(exc.message, exc.hint)
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
