"""`quill chat`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import typer

from quill.chat.session import DEFAULT_MAX_TOKENS, DEFAULT_SYSTEM, Chat
from quill.cli.run import Run, command
from quill.engine.base import Engine
from quill.env import EngineOptions, Environment
from quill.errors import InputError, UsageError
from quill.models import registry
from quill.render.live import report, stream_live
from quill.store.db import Store


@command(
    "cont",
    "session",
    "system",
    "engine",
    "sampling",
    "show",
    "style",
    helps={"max_tokens": "Longest reply in tokens (default: 1024)."},
)
def chat(run: Run) -> None:
    """Talk with the model; the conversation is saved as a session.

    On a terminal this opens a REPL: Enter sends, Alt-Enter adds a line, Ctrl-C stops a
    reply, Ctrl-D leaves, /help lists the slash commands. With stdin piped, stdin is sent
    as one message, the reply is printed raw and the exchange is saved.

    Examples:

      quill chat

      quill chat --session novel --system "You are a patient editor."

      echo "make it shorter" | quill chat --continue
    """
    env, cont, session, system = run.env, run.o.cont, run.o.session, run.o.system
    if cont and session:
        raise UsageError("pass --continue or --session, not both")
    flags: dict[str, Any] = {**run.o.sampling_flags(), "max_tokens": run.o.max_tokens}
    params = run.sampling(DEFAULT_MAX_TOKENS, fixed_seed=False, lookup=0)  # free replies
    message: str | None = None
    if not env.stdin_tty:
        message = run.stdin_text() or ""
        if not message.strip():
            raise InputError(
                "nothing to send: stdin is empty",
                hint='pipe a message: echo "make it shorter" | quill chat --continue',
            )
    elif not env.stdout_tty:
        raise UsageError(
            "the chat REPL needs a terminal on stdout",
            hint='to send one message from a script: echo "…" | quill chat --continue',
        )
    voice = run.style(run.o.style)
    opts = run.o.engine_options()
    with Store(env.paths.db_file) as store:
        found = None
        if session is not None:
            found = store.session(session)
        elif cont:
            found = store.last_session()
            if found is None:
                env.ui.note("no session to continue: starting a new one")
        if system is None and found is None:  # a new session: the model's own system prompt
            system = env.model_default("system", opts)
        if voice:  # the voice is added to the session's system prompt (once)
            base = system if system is not None else (found.system if found else DEFAULT_SYSTEM)
            if not base or voice not in base:
                system = f"{base}\n\n{voice}" if base else voice
        engine = env.engine(opts)
        chat_ = Chat.open(
            store,
            engine,
            params,
            session=found,
            name=session,
            system=system,
            flags=flags,
        )
        if message is not None:
            code = _one_message(env, chat_, message.rstrip("\n"), stats=run.o.stats)
        else:
            code = _repl(env, chat_, opts, plain=run.o.plain, stats=run.o.stats)
    if code:
        raise typer.Exit(code)


def _one_message(env: Environment, chat: Chat, message: str, *, stats: bool) -> int:
    """Not a terminal: send stdin as one message, print the reply raw, save both."""
    ex = chat.send(message)
    if ex.notice:
        env.ui.warn(ex.notice)
    result = stream_live(env.ui, ex, plain=True, spinner=False)
    report(env.ui, result, show_stats=stats)
    return result.exit_code


def _repl(env: Environment, chat: Chat, opts: EngineOptions, *, plain: bool, stats: bool) -> int:
    from quill.chat.repl import Repl

    current = [opts]

    def load_engine(name: str) -> Engine:
        engine, current[0] = _switch_model(env, chat, current[0], name)
        return engine

    def model_names() -> list[str]:
        try:
            return sorted(registry.load(env.paths))
        except Exception:
            return []

    env.paths.data_dir.mkdir(parents=True, exist_ok=True)
    repl = Repl(
        env.ui,
        chat,
        history_file=env.paths.data_dir / "chat_history",
        plain=plain,
        show_stats=stats,
        color=env.color,
        load_engine=load_engine,
        model_names=model_names,
        environ=dict(env.environ),
        data_dir=env.paths.data_dir,
    )
    return repl.run()


def _switch_model(
    env: Environment, chat: Chat, opts: EngineOptions, name: str
) -> tuple[Engine, EngineOptions]:
    """Load model ``name`` in place of the current one (one model in memory at a time).
    If it cannot be loaded, the previous model is loaded again and the chat keeps it.
    On a server backend ``name`` is the server's model name, passed as it is."""
    local = env.resolve_options(opts).backend == "local"
    if local and env.engine_factory is None and env.environ.get("QUILL_ENGINE", "llama") == "llama":
        registry.resolve(env.paths, name)  # an unknown name fails before anything unloads
    env.close()
    new = replace(opts, model=name)
    try:
        return env.engine(new), new
    except BaseException:  # a load error, or Ctrl-C while loading
        env.close()
        chat.set_engine(env.engine(opts))  # the closed engine must not be used again
        raise
