"""`quill sessions list|show|export|rm`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from quill.cli import options as o

if TYPE_CHECKING:
    from quill.env import Environment
    from quill.store.db import Session, Store

sessions_app = typer.Typer(
    help="List, show, export and remove chat sessions.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArg = Annotated[
    str | None,
    typer.Argument(metavar="[NAME]", help="Session name (default: the most recent)."),
]


def _open(ctx: typer.Context) -> tuple[Environment, Store]:
    from quill.cli.context import get_env
    from quill.store.db import Store

    env = get_env(ctx)
    return env, Store(env.paths.db_file)


def _find(store: Store, name: str | None) -> Session:
    from quill.errors import InputError

    s = store.session(name) if name is not None else store.last_session()
    if s is None:
        raise InputError(
            f"no session named `{name}`" if name is not None else "there are no sessions yet",
            hint="`quill sessions list` shows them" if name else "start one with `quill chat`",
        )
    return s


@sessions_app.command("list")
def list_sessions(ctx: typer.Context) -> None:
    """List sessions, most recent first: name, turns, last change, first message."""
    from quill.chat.export import first_line, when
    from quill.render.sanitize import sanitize

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


@sessions_app.command("show")
def show(ctx: typer.Context, name: NameArg = None, plain: o.PlainOpt = False) -> None:
    """Print a session as Markdown (rendered on a terminal unless --plain)."""
    from quill.chat.export import session_markdown

    env, store = _open(ctx)
    with store:
        s = _find(store, name)
        text = session_markdown(s, store.turns(s.id))
    sink = env.ui.content_sink(plain)
    sink.feed(text)
    sink.close()


@sessions_app.command("export")
def export(
    ctx: typer.Context,
    name: NameArg = None,
    out: o.OutOpt = None,
    force: o.ForceOpt = False,
) -> None:
    """Write a session as Markdown to stdout, or to --out FILE (atomically)."""
    from quill.chat.export import session_markdown
    from quill.cli.generate import check_out
    from quill.store.files import atomic_write_text

    env, store = _open(ctx)
    out_path = check_out(out, force)
    with store:
        s = _find(store, name)
        text = session_markdown(s, store.turns(s.id))
    if out_path is None:
        from quill.render.sanitize import sanitize

        env.stdout.write(sanitize(text) if env.stdout_tty else text)
        env.stdout.flush()
        return
    atomic_write_text(out_path, text)
    env.ui.note(f"saved to {out_path}")


@sessions_app.command("rm")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Session to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove a session and its turns."""
    from quill.errors import UsageError

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


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
