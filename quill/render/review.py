"""Reviewing changes one at a time, like ``git add -p``: each change is shown as a word
diff in its line (red struck-through deletions, green insertions on a colour terminal;
``[-old-]{+new+}`` otherwise) with who proposed it, and the writer answers y, n, a or q.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from quill.render.diff import Change, print_word_diff
from quill.render.sanitize import sanitize
from quill.render.ui import UI

ANSWERS = {"y": "yes", "n": "no", "a": "all", "q": "quit"}
HELP = """y - apply this change
n - leave this part as it was
a - apply this change and all the changes after it
q - leave this and all the changes after it as they were, and finish
? - show this help"""


class Reviewer:
    """Shows changes on stdout and reads the answers from ``stdin`` (a line each)."""

    def __init__(self, ui: UI, stdin: TextIO) -> None:
        self.ui = ui
        self.stdin = stdin

    def _write(self, text: str, style: str = "") -> None:
        if self.ui.stdout_tty and self.ui.color and style:
            from rich.text import Text

            console = self.ui._console(self.ui.stdout, True)
            console.print(Text(sanitize(text), style=style), end="")
        else:
            self.ui.stdout.write(sanitize(text))
        self.ui.stdout.flush()

    def show(self, k: int, n: int, runs: Iterable[Change], by: str, why: str = "") -> None:
        label = {"model+checker": "model and grammar checker", "checker": "grammar checker"}
        self._write(f"\n({k}/{n}) {label.get(by, by)}\n", "bold cyan")
        print_word_diff(self.ui, runs)
        if why:
            self._write(f"  {why}\n", "dim")

    def ask(self) -> str:
        """ "yes", "no", "all" or "quit" (end of input counts as quit)."""
        while True:
            self._write("Apply this change [y,n,a,q,?]? ", "bold blue")
            line = self.stdin.readline()
            if not line:
                self._write("\n")
                return "quit"
            answer = line.strip().lower()[:1]
            if answer in ANSWERS:
                return ANSWERS[answer]
            self._write(HELP + "\n", "red" if answer != "?" else "")
