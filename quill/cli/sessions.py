"""`quill sessions list|show|export|rm`."""

from __future__ import annotations

from typing import Annotated

import typer

from quill.chat.export import first_line, session_markdown, when
from quill.cli.report import print_json, print_rows
from quill.cli.run import Run, command
from quill.env import Environment
from quill.errors import InputError, UsageError
from quill.render.sanitize import sanitize
from quill.store.db import Session, Store
from quill.store.export import iso_time
from quill.store.files import atomic_write_text

NameArg = Annotated[
    str | None,
    typer.Argument(metavar="[NAME]", help="Session name (default: the most recent)."),
]


def _open(env: Environment) -> tuple[Environment, Store]:
    return env, Store(env.paths.db_file)


def _find(store: Store, name: str | None) -> Session:

    s = store.session(name) if name is not None else store.last_session()
    if s is None:
        raise InputError(
            f"no session named `{name}`" if name is not None else "there are no sessions yet",
            hint="`quill sessions list` shows them" if name else "start one with `quill chat`",
        )
    return s


@command("as_json", "quiet")
def list_sessions(run: Run) -> None:
    """List sessions, most recent first: name, turns, last change, first message."""
    env, store = _open(run.env)
    with store:
        rows = store.sessions()
    if run.o.as_json:
        print_json(env, [
            {"name": r.session.name, "turns": r.turns, "updated": iso_time(r.session.updated_at),
             "first_message": r.first_message}
            for r in rows
        ])  # fmt: skip
        return
    if not rows:
        env.ui.note("no sessions yet: start one with `quill chat`")
        return
    table = [
        (r.session.name, f"{r.turns} turns", when(r.session.updated_at),
         first_line(r.first_message, 50))
        for r in rows
    ]  # fmt: skip
    print_rows(env, ("NAME", "TURNS", "UPDATED", "FIRST MESSAGE"), table)


@command("plain", "quiet")
def show(run: Run, name: NameArg = None) -> None:
    """Print a session as Markdown (rendered on a terminal unless --plain)."""
    env, store = _open(run.env)
    with store:
        s = _find(store, name)
        text = session_markdown(s, store.turns(s.id))
    sink = env.ui.content_sink(run.o.plain)
    sink.feed(text)
    sink.close()


@command("out", "force", "quiet")
def export(run: Run, name: NameArg = None) -> None:
    """Write a session as Markdown to stdout, or to --out FILE (atomically)."""
    env, store = _open(run.env)
    out_path = run.out_path
    with store:
        s = _find(store, name)
        text = session_markdown(s, store.turns(s.id))
    if out_path is None:
        env.stdout.write(sanitize(text) if env.stdout_tty else text)
        env.stdout.flush()
        return
    atomic_write_text(out_path, text)
    env.ui.note(f"saved to {out_path}")


@command("quiet")
def remove(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Session to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove a session and its turns."""
    env, store = _open(run.env)
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
