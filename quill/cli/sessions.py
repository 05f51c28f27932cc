"""`quill sessions list|show|export|rm`."""

from __future__ import annotations

from typing import Annotated

import typer

from quill.chat.export import first_line, session_markdown, when
from quill.cli.context import get_env
from quill.cli.generate import check_out
from quill.cli.options import ForceOpt, OutOpt, PlainOpt
from quill.env import Environment
from quill.errors import InputError, UsageError
from quill.render.sanitize import sanitize
from quill.store.db import Session, Store
from quill.store.files import atomic_write_text

NameArg = Annotated[
    str | None,
    typer.Argument(metavar="[NAME]", help="Session name (default: the most recent)."),
]


def _open(ctx: typer.Context) -> tuple[Environment, Store]:

    env = get_env(ctx)
    return env, Store(env.paths.db_file)


def _find(store: Store, name: str | None) -> Session:

    s = store.session(name) if name is not None else store.last_session()
    if s is None:
        raise InputError(
            f"no session named `{name}`" if name is not None else "there are no sessions yet",
            hint="`quill sessions list` shows them" if name else "start one with `quill chat`",
        )
    return s


def list_sessions(ctx: typer.Context) -> None:
    """List sessions, most recent first: name, turns, last change, first message."""

    env, store = _open(ctx)
    with store:
        rows = store.sessions()
    if not rows:
        env.ui.note("no sessions yet: start one with `quill chat`")
        return
    width = max(len(r.session.name) for r in rows)
    out = env.stdout
    for r in rows:
        s = r.session
        line = (
            f"{s.name:<{width}}  {r.turns:>4} turns  {when(s.updated_at)}  "
            f"{first_line(r.first_message, 50)}"
        )
        out.write(sanitize(line.rstrip()) + "\n")
    out.flush()


def show(ctx: typer.Context, name: NameArg = None, plain: PlainOpt = False) -> None:
    """Print a session as Markdown (rendered on a terminal unless --plain)."""

    env, store = _open(ctx)
    with store:
        s = _find(store, name)
        text = session_markdown(s, store.turns(s.id))
    sink = env.ui.content_sink(plain)
    sink.feed(text)
    sink.close()


def export(
    ctx: typer.Context,
    name: NameArg = None,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write a session as Markdown to stdout, or to --out FILE (atomically)."""

    env, store = _open(ctx)
    out_path = check_out(out, force)
    with store:
        s = _find(store, name)
        text = session_markdown(s, store.turns(s.id))
    if out_path is None:
        env.stdout.write(sanitize(text) if env.stdout_tty else text)
        env.stdout.flush()
        return
    atomic_write_text(out_path, text)
    env.ui.note(f"saved to {out_path}")


def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Session to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove a session and its turns."""

    env, store = _open(ctx)
    with store:
        s = _find(store, name)
        n = len(store.turns(s.id, include_dropped=True))
        if not yes:
            if not (env.stdin_tty and env.stderr_tty):
                raise UsageError(
                    f"removing `{s.name}` needs confirmation", hint="pass --yes to remove it"
                )
            if not typer.confirm(f"Remove session {s.name} ({n} turns)?", err=True):
                raise typer.Exit(1)
        store.delete_session(s.id)
    env.ui.note(f"removed session {s.name} ({n} turns)")
