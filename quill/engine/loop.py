"""Stop a stream that has started repeating itself.

Small models fall into loops: the same sentence, over and over, until max-tokens. The
detector looks at the end of the text for a unit repeated back to back (at least
``min_repeats`` copies covering ``min_span`` characters). ``guarded`` wraps any engine
stream, asks the engine to stop when a loop shows up, and reports where the loop began
so callers keep the text before it plus a single copy of the repeated unit.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

from quill.engine.base import Piece, StopRequested


@dataclass
class LoopHit:
    unit: str  # the repeated text
    start: int  # index in the full text where the repetition begins
    repeats: int


class LoopDetector:
    """Finds a unit repeated back to back at the end of a growing text.

    Cheap per piece: the last ``min_unit`` characters are searched (in C, with rfind)
    in a bounded window behind them; each earlier occurrence proposes a period, which
    one slice comparison confirms. Only the window is kept as a string; the full text
    is kept as a list of pieces.
    """

    def __init__(
        self,
        min_unit: int = 6,
        max_unit: int = 600,
        min_repeats: int = 3,
        min_span: int = 80,
    ) -> None:
        self.min_unit = min_unit
        self.max_unit = max_unit
        self.min_repeats = min_repeats
        self.min_span = min_span
        self.window = max(min_repeats * max_unit, min_span) + max_unit
        self.parts: list[str] = []
        self.tail = ""  # the last `window` characters or so
        self.length = 0  # characters seen in all
        self.hit: LoopHit | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, piece: str) -> LoopHit | None:
        if not piece:
            return self.hit
        self.parts.append(piece)
        self.length += len(piece)
        self.tail += piece
        if len(self.tail) > 2 * self.window:
            self.tail = self.tail[-self.window :]
        if self.hit is None:
            hit = self.check(self.tail)
            if hit is not None:
                offset = self.length - len(self.tail)
                self.hit = LoopHit(hit.unit, hit.start + offset, hit.repeats)
        return self.hit

    def check(self, text: str) -> LoopHit | None:
        n, k = len(text), self.min_unit
        if n < max(self.min_span, self.min_repeats * k):
            return None
        needle = text[n - k :]
        lo = max(0, n - self.max_unit - k)
        pos = text.rfind(needle, lo, n - 1)
        while pos >= 0:
            p = n - k - pos  # candidate period, shortest first
            if p >= k:
                need = max(self.min_repeats * p, self.min_span)
                if need <= n and text[n - need + p :] == text[n - need : n - p]:
                    unit = text[n - p :]
                    if len(set(unit)) >= 4:  # "======" or "ha ha ": not a sentence loop
                        start = n - need
                        while start > 0 and text[start - 1] == text[start - 1 + p]:
                            start -= 1
                        repeats = (n - start) // p
                        start = _align(text, start, p)
                        return LoopHit(text[start : start + p], start, repeats)
            pos = text.rfind(needle, lo, pos + k - 1)
        return None

    def kept_text(self) -> str:
        """The text before the loop plus one copy of the repeated unit."""
        if self.hit is None:
            return self.text
        return self.text[: self.hit.start + len(self.hit.unit)].rstrip() + "\n"


def _align(text: str, start: int, p: int) -> int:
    """Move the start of a periodic run to a sentence (else word) boundary, so the copy
    kept is whole sentences: 'night. The sea…' becomes 'The sea… night. '."""
    word = -1
    for i in range(start, start + p):
        before = text[i - 1] if i > 0 else "\n"
        if before in "\n。！？" or (before.isspace() and i > 1 and text[i - 2] in ".!?"):
            return i
        if word < 0 and before.isspace():
            word = i
    return word if word >= 0 else start


def guarded(pieces: Iterator[Piece], detector: LoopDetector | None = None) -> Iterator[Piece]:
    """Pass pieces through; on a loop, stop the engine and end with finish='loop'."""
    det = detector or LoopDetector()
    for piece in pieces:
        if piece.finish is not None:
            yield piece
            return
        if (yield from pass_on(piece, pieces)):  # the consumer wanted out: engine stopped
            return
        if det.feed(piece.text) is not None:
            yield stop_stream(pieces, "loop")
            return


def stop_stream(pieces: Iterator[Piece], reason: str) -> Piece:
    """Ask an engine stream to stop now; returns its final piece (with stats)."""
    throw = getattr(pieces, "throw", None)
    if throw is not None:
        try:
            final: Piece = throw(StopRequested(reason))
            if final.finish is not None:
                return final
        except (StopIteration, StopRequested):
            pass
    return Piece("", finish=reason)  # type: ignore[arg-type]


def pass_on(
    piece: Piece,
    pieces: Iterator[Piece],
    held: str = "",
    shape: Callable[[str], str] | None = None,
) -> Generator[Piece, None, bool]:
    """Yield ``piece`` from a stream transform reading ``pieces``. If the consumer asks
    to stop (a StopRequested thrown in at the yield), the engine stream is stopped and
    its final piece goes out instead, with the text the transform still ``held`` put
    before its text (and the result passed through ``shape``). Returns True when the
    stream was stopped, and the transform then returns:
    ``if (yield from pass_on(Piece(out), pieces, held)): return``."""
    try:
        yield piece
    except StopRequested as stop:
        last = stop_stream(pieces, stop.reason)
        text = held + last.text
        if shape is not None:
            text = shape(text)
        yield Piece(text, finish=last.finish, stats=last.stats, note=last.note)
        return True
    return False
