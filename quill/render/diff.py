"""A word diff on the terminal: deletions red and struck through, insertions green.

Without colour (NO_COLOR, TERM=dumb, or a pipe when a word diff is asked for) the runs
are marked the way ``git diff --word-diff=plain`` marks them: ``[-old-]{+new+}``. The
texts are model output: they are sanitized before they reach the terminal, and never
read as rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from quill.render.sanitize import sanitize

if TYPE_CHECKING:
    from rich.text import Text

    from quill.render.ui import UI

DELETED = "red strike"
INSERTED = "green"
PILCROW = "¶"  # a deleted line break


class Change(Protocol):
    """A run of a comparison (:class:`quill.writing.diffing.Change`): op is "equal",
    "delete", "insert" or "replace"."""

    @property
    def op(self) -> str: ...

    @property
    def old(self) -> str: ...

    @property
    def new(self) -> str: ...


def _shown_deletion(text: str) -> str:
    """A deleted line break shows as ¶ (struck-through, it would only break the line
    and look like text that is still there)."""
    return text.replace("\r\n", "\n").replace("\n", PILCROW)


def plain_word_diff(changes: Iterable[Change]) -> str:
    """The diff with ``[-deleted-]`` and ``{+inserted+}`` marks, sanitized."""
    parts: list[str] = []
    for c in changes:
        if c.op == "equal":
            parts.append(c.old)
            continue
        if c.old:
            parts.append(f"[-{c.old}-]")
        if c.new:
            parts.append(f"{{+{c.new}+}}")
    return sanitize("".join(parts))


def word_diff_text(changes: Iterable[Change]) -> Text:
    """The diff as a rich Text: unchanged text plain, deletions red and struck
    through, insertions green."""
    from rich.text import Text

    out = Text()
    for c in changes:
        if c.op == "equal":
            out.append(sanitize(c.old))
            continue
        if c.old:
            out.append(sanitize(_shown_deletion(c.old)), style=DELETED)
        if c.new:
            out.append(sanitize(c.new), style=INSERTED)
    return out


def print_word_diff(ui: UI, changes: Iterable[Change]) -> None:
    """Write the word diff to stdout: coloured on a colour terminal, marked otherwise."""
    if ui.stdout_tty and ui.color:
        console = ui._console(ui.stdout, True)
        text = word_diff_text(changes)
        if not text.plain.endswith("\n"):
            text.append("\n")
        console.print(text, end="")
        return
    body = plain_word_diff(changes)
    ui.stdout.write(body if body.endswith("\n") or not body else body + "\n")
    ui.stdout.flush()
