"""Stop a stream that has started repeating itself.

Small models fall into loops: the same sentence, over and over, until max-tokens. The
detector looks at the end of the text for a unit repeated back to back (at least
``min_repeats`` copies covering ``min_span`` characters). ``guarded`` wraps any engine
stream, asks the engine to stop when a loop shows up, and reports where the loop began
so callers keep the text before it plus a single copy of the repeated unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from quill.engine.base import Piece, StopRequested


@dataclass
class LoopHit:
    unit: str  # the repeated text
    start: int  # index in the full text where the repetition begins
    repeats: int


class LoopDetector:
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
        self.text = ""
        self.hit: LoopHit | None = None

    def feed(self, piece: str) -> LoopHit | None:
        self.text += piece
        if self.hit is None and piece:
            self.hit = self.check(self.text)
        return self.hit

    def check(self, text: str) -> LoopHit | None:
        n = len(text)
        for p in range(self.min_unit, min(self.max_unit, n // self.min_repeats) + 1):
            # Cheap test first: the last two units are equal.
            if text[n - p :] != text[n - 2 * p : n - p]:
                continue
            need = max(self.min_repeats * p, self.min_span)
            if need > n or text[n - need + p :] != text[n - need : n - p]:
                continue
            unit = text[n - p :]
            if len(set(unit)) < 4:  # "======" or "ha ha ": not a sentence loop
                continue
            # Extend the periodic run backwards as far as it goes.
            start = n - need
            while start > 0 and text[start - 1] == text[start - 1 + p]:
                start -= 1
            repeats = (n - start) // p
            # Begin the kept copy at a word or line boundary where one is near.
            return LoopHit(unit=text[start : start + p], start=start, repeats=repeats)
        return None

    def kept_text(self) -> str:
        """The text before the loop plus one copy of the repeated unit."""
        if self.hit is None:
            return self.text
        return self.text[: self.hit.start + len(self.hit.unit)].rstrip() + "\n"


def guarded(pieces: Iterator[Piece], detector: LoopDetector | None = None) -> Iterator[Piece]:
    """Pass pieces through; on a loop, stop the engine and end with finish='loop'."""
    det = detector or LoopDetector()
    for piece in pieces:
        if piece.finish is not None:
            yield piece
            return
        yield piece
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
