"""Draft references (``12``, ``#12``, ``12@3``), the lookups every `quill drafts`
command shares, and the question before a removal (drafts and sessions)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from quill.env import Environment
from quill.errors import UsageError
from quill.render.sanitize import sanitize
from quill.store.db import Store

if TYPE_CHECKING:
    from quill.store.drafts import Draft, DraftVersion

REF_HINT = "ids look like 12, #12, or 12@3 for its version 3; `quill drafts list` shows them"
_REF = re.compile(r"#?(\d+)(?:@(\d+))?")

RefArg = Annotated[
    str,
    typer.Argument(
        metavar="ID[@VERSION]", help="A draft (12 or #12), or one of its versions (12@3)."
    ),
]


def parse_ref(text: str) -> tuple[int, int | None]:
    """``"12"``, ``"#12"``, ``"12@3"`` -> (12, None | 3)."""
    m = _REF.fullmatch(text.strip())
    if m is None or int(m.group(1)) < 1 or (m.group(2) is not None and int(m.group(2)) < 1):
        raise UsageError(f"`{text}` is not a draft id", hint=REF_HINT)
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None


def open_store(env: Environment) -> tuple[Environment, Store]:
    return env, Store(env.paths.db_file)


def find_draft(store: Store, draft_id: int) -> Draft:
    d = store.draft(draft_id)
    if d is None:
        raise UsageError(f"there is no draft {draft_id}", hint="see them with: quill drafts list")
    return d


def find_version(store: Store, draft: Draft, version: int | None) -> DraftVersion:
    v = store.draft_version(draft.id, version)
    if v is None:
        have = f"it has versions 1 to {draft.versions}" if draft.versions > 1 else "it has one"
        raise UsageError(
            f"draft {draft.id} has no version {version}",
            hint=f"{have}: quill drafts show {draft.id}@{draft.versions}",
        )
    return v


def lookup(env: Environment, ref: str, version: int | None = None) -> tuple[Draft, DraftVersion]:
    """The draft ``ref`` names and its version (``ref``'s @VERSION, else ``version``,
    else the latest)."""
    did, vn = parse_ref(ref)
    with Store(env.paths.db_file) as store:
        d = find_draft(store, did)
        return d, find_version(store, d, vn or version)


def confirm(env: Environment, question: str, refused: str, hint: str) -> bool:
    """Ask ``question`` [y/N] on the terminal (--yes skips the asking); without a
    terminal the command is refused with ``hint``."""
    if not (env.stdin_tty and env.stderr_tty):
        raise UsageError(refused, hint=hint)
    env.stderr.write(sanitize(question) + " [y/N] ")
    env.stderr.flush()
    return env.stdin.readline().strip().lower() in ("y", "yes")


def short(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
