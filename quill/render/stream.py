"""Streaming model output to the terminal.

``RawSink`` writes text as it comes (pipes, --plain): no ANSI, no wrapping, flushed per
piece. ``MarkdownSink`` renders Markdown on a TTY without flicker: finished blocks
(paragraphs, lists, closed code fences) are printed once, for good; only the block still
being written lives in a small transient region that is redrawn a few times a second
and shows its last lines when it is taller than the screen. Nothing is printed twice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol, TextIO

from quill.render.sanitize import sanitize

if TYPE_CHECKING:
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.text import Text


class Sink(Protocol):
    def feed(self, text: str) -> None: ...

    def close(self) -> None: ...


class RawSink:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.ends_with_newline = True
        self.wrote = False

    def feed(self, text: str) -> None:
        text = sanitize(text)
        if not text:
            return
        self.out.write(text)
        self.out.flush()
        self.wrote = True
        self.ends_with_newline = text.endswith("\n")

    def close(self) -> None:
        if self.wrote and not self.ends_with_newline:
            self.out.write("\n")
        self.out.flush()


def stable_cut(text: str) -> int:
    """Index up to which ``text`` holds whole Markdown blocks (0 if none yet).

    A block ends at a blank line outside a code fence, or at the line that closes a fence.
    """
    cut = 0
    in_fence = False
    fence = ""
    pos = 0
    prev_blank = False
    for line in text.splitlines(keepends=True):
        end = pos + len(line)
        if not line.endswith("\n"):
            break  # the last line is still being written
        stripped = line.strip()
        if in_fence:
            if stripped.startswith(fence) and stripped.strip("`~") == "":
                in_fence = False
                cut = end
        elif stripped.startswith(("```", "~~~")):
            in_fence = True
            fence = stripped[:3]
        elif stripped == "" and not prev_blank and pos > 0:
            cut = end
        prev_blank = stripped == "" and not in_fence
        pos = end
    return cut


class MarkdownSink:
    def __init__(self, console: Console, fps: float = 12.0) -> None:
        from rich.live import Live

        self.console = console
        self.pending = ""
        self.interval = 1.0 / fps
        self.last = 0.0
        self.blocks = 0
        self.live = Live(
            console=console, auto_refresh=False, transient=True, vertical_overflow="visible"
        )
        self.live.start()

    def _markdown(self, text: str) -> Markdown:
        from rich.markdown import Markdown

        return Markdown(text, code_theme="ansi_dark", hyperlinks=False)

    def _tail(self, text: str) -> Text:
        """The in-progress block, cut to its last lines so it always fits the screen."""
        from rich.segment import Segment
        from rich.text import Text

        if not text.strip():
            return Text("")
        height = max(self.console.size.height - 2, 3)
        lines = self.console.render_lines(self._markdown(text), pad=False)
        if len(lines) > height:
            lines = lines[-height:]
        out = Text()
        for i, line in enumerate(lines):
            for seg in Segment.simplify(line):
                out.append(seg.text, seg.style)
            if i < len(lines) - 1:
                out.append("\n")
        return out

    def feed(self, text: str) -> None:
        self.pending += sanitize(text)
        cut = stable_cut(self.pending)
        if cut:
            block, self.pending = self.pending[:cut], self.pending[cut:]
            if block.strip():
                self.live.update(self._tail(self.pending), refresh=False)
                self._commit(block)
            self.last = 0.0
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.live.update(self._tail(self.pending), refresh=True)

    def close(self) -> None:
        from rich.text import Text

        self.live.update(Text(""), refresh=True)
        self.live.stop()
        if self.pending.strip():
            self._commit(self.pending)
        self.pending = ""

    def _commit(self, block: str) -> None:
        """Print a finished block for good, a blank line apart from the one before
        (unless its rendering starts with one already, as lists and code blocks do)."""
        md = self._markdown(block)
        if self.blocks:
            first = self.console.render_lines(md, pad=False)[:1]
            if not first or any(seg.text.strip() for seg in first[0]):
                self.console.print()
        self.console.print(md)
        self.blocks += 1
