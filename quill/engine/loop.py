"""Stop a stream that has started repeating itself.

Small models fall into loops: the same sentence, over and over, until max-tokens. The
detector looks at the end of the text for a unit repeated back to back (at least
``min_repeats`` copies covering ``min_span`` characters; two copies of a unit of
LONG_UNIT characters or more). ``guarded`` wraps any engine
stream, asks the engine to stop when a loop shows up, and reports where the loop began
so callers keep the text before it plus a single copy of the repeated unit.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

from quill.engine.base import Piece, StopRequested

# The longest unit looked for, in characters: the 1.5B wrote a product page's five
# sections (1,100 characters) over and over to its token limit, past a bound of 600.
MAX_UNIT = 2000
# A unit at least this long, written twice back to back, is a loop (a shorter one needs
# ``min_repeats`` copies): no piece says 200 characters twice in a row on purpose, and
# at three copies of a 1,100-character block the loop had used 800 tokens.
LONG_UNIT = 200


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
        max_unit: int = MAX_UNIT,
        min_repeats: int = 3,
        min_span: int = 80,
        long_unit: int = LONG_UNIT,
    ) -> None:
        self.min_unit = min_unit
        self.max_unit = max_unit
        self.min_repeats = min_repeats
        self.min_span = min_span
        self.long_unit = long_unit  # a unit this long is a loop at its second copy
        # the longest run a loop needs: copies × size is largest at the longest unit of
        # either kind
        longest = max(self.copies(p) * p for p in (min(long_unit - 1, max_unit), max_unit))
        self.window = max(longest, min_span) + max_unit
        self.parts: list[str] = []
        self.tail = ""  # the last `window` characters or so
        self.length = 0  # characters seen in all
        self.hit: LoopHit | None = None

    def copies(self, unit: int) -> int:
        """How many back-to-back copies of a unit of ``unit`` characters are a loop."""
        return 2 if unit >= self.long_unit else self.min_repeats

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
                need = max(self.copies(p) * p, self.min_span)
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


# A paragraph at least this long is never written twice in a row on purpose.
ECHO_MIN = 80


class ParagraphEcho:
    """Holds back a paragraph while it repeats the one before it word for word, so a
    loop of whole paragraphs shows no second copy: the LoopDetector needs three copies
    of a unit, and a streamed draft had shown two of a 400-character paragraph when it
    fired. Paragraphs are split at blank lines; one that differs from the one before
    goes out as soon as it does (most do from their first character)."""

    def __init__(self) -> None:
        self.prev = ""  # the last whole paragraph, stripped
        self.cur = ""  # the paragraph being written

    def feed(self, text: str) -> tuple[int, bool]:
        """(how many of the last characters written must be held: the paragraph so far,
        while it is the start of the one before; whether it is a whole copy of it)."""
        self.cur += text
        while (i := self.cur.find("\n\n")) >= 0:
            self.prev = self.cur[:i].strip() or self.prev
            self.cur = self.cur[i + 2 :]
        c = self.cur.lstrip()
        if len(self.prev) < ECHO_MIN or not c or not self.prev.startswith(c):
            return 0, False
        return len(self.cur), c == self.prev


class BlockEcho:
    """Holds back text that, from the start of a paragraph, repeats the passage written
    just before it (LONG_UNIT to MAX_UNIT characters, several paragraphs, back to
    back), so a loop of whole sections shows no second copy either: the 1.5B wrote a
    product page's five sections twice, and the LoopDetector can only tell at the end
    of the second copy. A repeat is looked for at each paragraph start S: the earlier
    paragraph starts E whose text the new text still follows character for character,
    with S - E within the bounds. The text is released as soon as no such E is left
    (a paragraph that only begins like an earlier one goes out after a few characters),
    and it is a loop once the new text is a whole copy of ``text[E:S]``."""

    def __init__(self, min_unit: int = LONG_UNIT, max_unit: int = MAX_UNIT) -> None:
        self.min_unit, self.max_unit = min_unit, max_unit
        self.text = ""
        self.starts = [0]  # paragraph starts, in order
        self.start = -1  # S: the paragraph start last looked from
        self.matched = 0  # characters from S known to follow each candidate
        self.candidates: list[int] = []  # the earlier starts E still followed
        self.hit: LoopHit | None = None

    def feed(self, piece: str) -> tuple[int, bool]:
        """(how many of the last characters written must be held; whether they are a
        whole copy of the passage before them, :attr:`hit` then saying which)."""
        before = len(self.text)
        self.text += piece
        i = self.text.find("\n\n", max(0, before - 1))
        while i >= 0:
            j = i + 2
            while j < len(self.text) and self.text[j] == "\n":
                j += 1
            if j > self.starts[-1]:
                self.starts.append(j)
            i = self.text.find("\n\n", j)
        return self._follow()

    def _begin(self, start: int) -> None:
        self.start, self.matched = start, 0
        self.candidates = [e for e in self.starts if self.min_unit <= start - e <= self.max_unit]

    def _follow(self) -> tuple[int, bool]:
        n = len(self.text)
        while True:
            if not self.candidates:  # look from the next paragraph start, if any
                k = bisect.bisect_right(self.starts, self.start)
                if k == len(self.starts) or self.starts[k] >= n:
                    return 0, False
                self._begin(self.starts[k])
                continue
            s, m = self.start, self.matched
            new = self.text[s + m : n]
            self.candidates = [
                e for e in self.candidates if self.text[e + m : e + m + len(new)] == new
            ]
            if not self.candidates:
                continue
            self.matched = n - s
            for e in self.candidates:
                if self.matched >= s - e:  # a whole copy of text[e:s]
                    self.hit = LoopHit(self.text[e:s], e, 2)
                    return n - s, True
            return n - s, False


def guarded(pieces: Iterator[Piece], detector: LoopDetector | None = None) -> Iterator[Piece]:
    """Pass pieces through; on a loop, stop the engine and end with finish='loop'. A
    paragraph that starts to repeat the one before it is held (:class:`ParagraphEcho`),
    and so is text that starts to repeat the passage before it (:class:`BlockEcho`);
    either is dropped if it turns out a whole copy."""
    det = detector or LoopDetector()
    echo = ParagraphEcho()
    block = BlockEcho(det.long_unit, det.max_unit)
    held = ""
    for piece in pieces:
        if piece.finish is not None:
            yield Piece(held + piece.text, piece.finish, piece.stats, piece.note)
            return
        det.feed(piece.text)
        keep, looped = echo.feed(piece.text)
        block_keep, block_looped = block.feed(piece.text)
        held += piece.text
        if looped or block_looped:  # the held copy is dropped; the first is kept
            if looped:
                full = det.text
                start = full.rfind(echo.prev, 0, len(full) - len(held))
                hit = LoopHit(echo.prev, start, 2) if start >= 0 else None
            else:
                hit = block.hit
            if det.hit is None and hit is not None:
                det.hit = hit
            final = stop_stream(pieces, "loop")
            yield Piece("", finish="loop", stats=final.stats)
            return
        keep = min(max(keep, block_keep), len(held))
        out, held = held[: len(held) - keep], held[len(held) - keep :]
        if out and (yield from pass_on(Piece(out), pieces, held)):
            return  # the consumer wanted out: engine stopped
        if det.hit is not None:
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
