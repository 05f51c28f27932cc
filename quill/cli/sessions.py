"""`quill sessions list|show|export|rm`."""

from __future__ import annotations

from typing import Annotated

import typer

from quill.chat.export import first_line, session_markdown, when
from quill.cli.refs import confirm, open_store
from quill.cli.report import emit_or_save, print_json, print_rows
from quill.cli.run import Run, command
from quill.env import Environment
from quill.errors import InputError
from quill.store.db import Session, Store
from quill.store.export import iso_time

NameArg = Annotated[
    str | None,
    typer.Argument(metavar="[NAME]", help="Session name (default: the most recent)."),
]


def _find(store: Store, name: str | None) -> Session:

    s = store.session(name) if name is not None else store.last_session()
    if s is None:
        raise InputError(
            f"no session named `{name}`" if name is not None else "there are no sessions yet",
            hint="`quill sessions list` shows them" if name else "start one with `quill chat`",
        )
    return s


def _markdown(env: Environment, name: str | None) -> str:
    """Session ``name`` (default: the most recent) as Markdown."""
    with Store(env.paths.db_file) as store:
        s = _find(store, name)
        return session_markdown(s, store.turns(s.id))


@command("as_json", "quiet")
def list_sessions(run: Run) -> None:
    """List sessions, most recent first: name, turns, last change, first message."""
    env, store = open_store(run.env)
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
    run.show(_markdown(run.env, name))


@command("out", "force", "quiet")
def export(run: Run, name: NameArg = None) -> None:
    """Write a session as Markdown to stdout, or to --out FILE (atomically)."""
    emit_or_save(run.env, _markdown(run.env, name), run.out_path)


@command("yes", "quiet")
def remove(
    run: Run,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Session to remove.")],
) -> None:
    """Remove a session and its turns."""
    env, store = open_store(run.env)
    with store:
        s = _find(store, name)
        n = len(store.turns(s.id, include_dropped=True))
        question = f"Remove session {s.name} ({n} turns)?"
        refused = f"removing `{s.name}` needs confirmation"
        if not run.o.yes and not confirm(env, question, refused, "pass --yes to remove it"):
            raise typer.Exit(1)
        store.delete_session(s.id)
    env.ui.note(f"removed session {s.name} ({n} turns)")
