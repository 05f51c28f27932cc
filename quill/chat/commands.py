"""Slash commands of the chat REPL.

A line is a command when it starts with ``/`` and a letter (``/help``); a message that
must start with a slash is written with two (``//etc/hosts is…`` sends ``/etc/hosts is…``).
"""

from __future__ import annotations

import difflib
import re
import shlex
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from quill.chat.export import first_line, reply_markdown, session_markdown, when
from quill.chat.session import SETTINGS
from quill.errors import OutputError, UsageError
from quill.store.files import atomic_write_text

if TYPE_CHECKING:
    from quill.chat.repl import Repl

EXIT = "exit"

# name -> (arguments, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("", "show the commands and keys"),
    "new": ("[NAME]", "start a new session"),
    "retry": ("", "generate the last reply again"),
    "undo": ("", "drop the last exchange (your message and its reply)"),
    "system": ("[TEXT]", "show or set the system prompt; /system --none removes it"),
    "temp": ("N", "sampling temperature; 0 is deterministic"),
    "top-p": ("N", "nucleus sampling threshold, (0, 1]"),
    "top-k": ("N", "sample from the N likeliest tokens (0: all)"),
    "min-p": ("N", "minimum token probability, [0, 1)"),
    "repeat-penalty": ("N", "penalty for repeated tokens (1: off)"),
    "max-tokens": ("N", "longest reply, in tokens"),
    "seed": ("N|off", "random seed, for repeatable replies"),
    "preset": ("NAME", "sampling preset: precise, balanced or creative"),
    "settings": ("", "show the sampling settings"),
    "model": ("[NAME]", "show the model, or switch to another"),
    "tokens": ("", "how the context is used"),
    "history": ("", "the turns of this session"),
    "save": ("[FILE] [--all]", "save the last reply (--all: the whole chat) as Markdown"),
    "draft": ("", "keep the last reply as a draft; opens it in $EDITOR when set"),
    "exit": ("", "leave (also Ctrl-D)"),
}
ALIASES = {"quit": "exit", "q": "exit", "?": "help", "temperature": "temp"}
_COMMAND = re.compile(r"^/([A-Za-z?][\w-]*)(?:\s+(.*))?$", re.DOTALL)


def is_command(text: str) -> bool:
    return bool(_COMMAND.match(text.strip())) and not text.startswith("//")


def unescape(text: str) -> str:
    """``//text`` sends ``/text``."""
    return text[1:] if text.startswith("//") else text


def dispatch(repl: Repl, text: str) -> str | None:
    m = _COMMAND.match(text.strip())
    assert m is not None
    name = m.group(1).lower()
    arg = (m.group(2) or "").strip()
    name = ALIASES.get(name, name)
    handler = HANDLERS.get(name)
    if handler is None:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f"did you mean /{close[0]}? " if close else ""
        repl.ui.warn(
            f"unknown command /{name}: {hint}/help lists the commands "
            "(start with // to send a message that begins with /)"
        )
        return None
    return handler(repl, arg)


# -- handlers -------------------------------------------------------------------------


def _help(repl: Repl, arg: str) -> None:
    width = max(len(f"/{n} {a}".strip()) for n, (a, _) in COMMANDS.items())
    for name, (args, help_) in COMMANDS.items():
        repl.out(f"  {f'/{name} {args}'.strip():<{width}}  {help_}")
    repl.out()
    repl.out("  Enter sends · Alt-Enter (or Esc Enter) starts a new line · Ctrl-R searches")
    repl.out("  the input history · Ctrl-C stops a reply · Ctrl-D leaves")


def _exit(repl: Repl, arg: str) -> str:
    return EXIT


def _new(repl: Repl, arg: str) -> None:
    name = arg or None
    if name and repl.chat.store.session(name) is not None:
        raise UsageError(
            f"a session named `{name}` already exists",
            hint=f"resume it with: quill chat --session {name}",
        )
    repl.chat.new_session(name)
    repl.ui.note("new session: the next message starts it")


def _retry(repl: Repl, arg: str) -> None:
    repl.stream(repl.chat.retry())


def _undo(repl: Repl, arg: str) -> None:
    gone = repl.chat.undo()
    user = next((t for t in gone if t.role == "user"), None)
    what = f" ({first_line(user.content, 40)})" if user else ""
    repl.ui.note(f"dropped the last exchange{what}")


def _system(repl: Repl, arg: str) -> None:
    if not arg:
        current = repl.chat.system
        repl.out(current if current else "(no system prompt)")
        return
    if arg == "--none":
        repl.chat.set_system(None)
        repl.ui.note("system prompt removed")
        return
    repl.chat.set_system(arg)
    repl.ui.note("system prompt set")


def _setting(name: str) -> Callable[[Repl, str], None]:
    def handler(repl: Repl, arg: str) -> None:
        if not arg:
            field = SETTINGS[name][0]
            repl.out(f"{name} = {getattr(repl.chat.params, field)}")
            return
        value = repl.chat.set_param(name, arg)
        repl.ui.note(f"{name} = {'random' if value is None else value}")

    return handler


def _preset(repl: Repl, arg: str) -> None:
    from quill.writing.presets import PRESETS

    preset = PRESETS.get(arg)
    if preset is None:
        raise UsageError(f"unknown preset `{arg}`", hint="one of: " + ", ".join(PRESETS))
    for key in ("temp", "top-p", "top-k", "min-p", "repeat-penalty"):
        repl.chat.set_param(key, str(getattr(preset, SETTINGS[key][0])))
    repl.ui.note(f"preset {arg}")
    _settings(repl, "")


def _settings(repl: Repl, arg: str) -> None:
    p = repl.chat.params
    repl.out(
        f"temp {p.temperature} · top-p {p.top_p} · top-k {p.top_k} · min-p {p.min_p} · "
        f"repeat-penalty {p.repeat_penalty} · max-tokens {p.max_tokens} · "
        f"seed {'random' if p.seed is None else p.seed}"
    )


def _model(repl: Repl, arg: str) -> None:
    info = repl.chat.engine.info
    if not arg:
        gpu = f", {info.gpu_layers} layers on the GPU" if info.gpu_offload else ""
        repl.out(f"{info.name} ({info.path}), context {info.n_ctx:,} tokens{gpu}")
        return
    if repl.load_engine is None:
        raise UsageError("this chat cannot switch models")
    engine = repl.load_engine(arg)
    repl.chat.set_engine(engine)
    repl.ui.note(f"model: {engine.info.name}, context {engine.info.n_ctx:,} tokens")


def _tokens(repl: Repl, arg: str) -> None:
    b = repl.chat.budget()
    repl.out(
        f"context {b.n_ctx:,} tokens: system prompt {b.system:,} · conversation {b.history:,} "
        f"({b.turns_in_view} turns) · kept for the reply {b.reserve:,} · free {b.free:,}"
    )
    if b.turns_out_of_view:
        repl.out(f"{b.turns_out_of_view} older turns are out of the model's view (still saved)")


def _history(repl: Repl, arg: str) -> None:
    turns = repl.chat.turns()
    if not turns:
        repl.out("(no turns yet)")
        return
    start = repl.chat.view_start
    for i, t in enumerate(turns, 1):
        who = "you" if t.role == "user" else "quill"
        mark = "" if t.status == "complete" else f" [{t.status}]"
        seen = " " if t.id >= start else "-"
        repl.out(f"{seen}{i:>3} {when(t.created_at)} {who:>5}{mark}: {first_line(t.content)}")
    if any(t.id < start for t in turns):
        repl.out("(- out of the model's view)")


def _save(repl: Repl, arg: str) -> None:
    try:
        words = shlex.split(arg)
    except ValueError as exc:
        raise UsageError(f"cannot read the arguments: {exc}") from None
    whole = "--all" in words
    words = [w for w in words if w != "--all"]
    if len(words) > 1:
        raise UsageError("usage: /save [FILE] [--all]")
    chat = repl.chat
    if whole:
        if chat.session is None or not chat.turns():
            raise UsageError("nothing to save yet")
        text = session_markdown(chat.session, chat.turns())
        default = f"{chat.session_name}.md"
    else:
        reply = chat.last_reply()
        if reply is None or not reply.content.strip():
            raise UsageError("there is no reply to save yet")
        text = reply_markdown(reply)
        default = f"{chat.session_name}-reply.md"
    path = Path(words[0] if words else default).expanduser()
    if path.is_dir():
        path = path / default
    if path.exists() and not repl.ask(f"{path} exists. Overwrite?"):
        repl.ui.note("not saved")
        return
    atomic_write_text(path, text)
    repl.ui.note(f"saved to {path}")


def _draft(repl: Repl, arg: str) -> None:
    chat = repl.chat
    reply = chat.last_reply()
    if reply is None or not reply.content.strip():
        raise UsageError("there is no reply to keep as a draft yet")
    title = arg or first_line(reply.content, 50)
    text = reply_markdown(reply)
    v = chat.store.create_draft(
        title,
        text,
        session_id=reply.session_id,
        turn_id=reply.id,
        note=f"from chat {chat.session_name}",
    )
    editor = repl.environ.get("VISUAL") or repl.environ.get("EDITOR")
    base = repl.data_dir or chat.store.path.parent
    path = base / "drafts" / f"draft-{v.draft_id}.md"
    atomic_write_text(path, text)
    if not editor:
        repl.ui.note(f"draft #{v.draft_id} saved ({path}); set $EDITOR to open it")
        return
    try:
        rc = run_editor([*shlex.split(editor), str(path)])
    except OSError as exc:
        raise OutputError(
            f"cannot run the editor `{editor}`: {exc.strerror or exc}",
            hint=f"the draft is saved in {path}",
        ) from None
    edited = path.read_text(encoding="utf-8")
    if edited != text:
        v = chat.store.add_draft_version(v.draft_id, edited, note="edited")
    status = f" (the editor exited with {rc})" if rc else ""
    repl.ui.note(f"draft #{v.draft_id} version {v.version} saved ({path}){status}")


def run_editor(argv: list[str]) -> int:
    """Run the editor on the terminal; Ctrl-C inside it is the editor's, not quill's."""
    proc = subprocess.Popen(argv)
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        return proc.wait()
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


HANDLERS: dict[str, Callable[[Repl, str], str | None]] = {
    "help": _help,
    "exit": _exit,
    "new": _new,
    "retry": _retry,
    "undo": _undo,
    "system": _system,
    "preset": _preset,
    "settings": _settings,
    "model": _model,
    "tokens": _tokens,
    "history": _history,
    "save": _save,
    "draft": _draft,
    **{n: _setting(n) for n in ("temp", "top-p", "top-k", "min-p", "repeat-penalty")},
    "max-tokens": _setting("max-tokens"),
    "seed": _setting("seed"),
}
