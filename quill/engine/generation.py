"""One generation: the single object every command streams through.

A :class:`Generation` owns one engine stream from start to end: the loop guard, the
stream filters (``transforms``), stopping early, the finish reason and the note that
explains it, and the listeners that keep the text (a chat reply's journal, a draft
version's journal). Iterate it for text pieces, ``stop()`` it to end early, ``close()``
it for the :class:`~quill.engine.base.Result` (idempotent; listeners hear ``on_done``
once). ``text()`` runs it to the end without a terminal.

Nothing here prints: the terminal loop is :func:`quill.render.live.stream_live`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from quill.engine.base import Engine, Finish, Message, Piece, Result, Sampling, Stats
from quill.engine.loop import LoopDetector, guarded, stop_stream

Transform = Callable[[Iterator[Piece]], Iterator[Piece]]


class Listener(Protocol):
    def on_text(self, text: str) -> None: ...

    def on_done(self, result: Result) -> None: ...


def finish_note(
    finish: Finish,
    max_tokens: int,
    *,
    repeats: int = 0,
    what: str = "text",
    limit_hint: str = "raise --max-tokens for more",
) -> str:
    """Why a text ended early, in one line (empty when it ended by itself)."""
    if finish == "loop":
        copies = f" ({repeats} copies of the same passage)" if repeats else ""
        return (
            f"stopped: the model began repeating itself{copies}; the text before the loop is kept"
        )
    if finish == "length":
        return (
            f"stopped at the limit of {max_tokens} tokens; the {what} may end mid-sentence "
            f"({limit_hint})"
        )
    if finish == "context":
        return (
            f"stopped: the context window is full (the prompt and the {what} filled it); "
            f"the {what} may end mid-sentence (raise --ctx, or give a shorter input)"
        )
    if finish == "interrupted":
        return f"interrupted: the partial {what} is kept"
    return ""


class Generation:
    def __init__(
        self,
        raw: Iterator[Piece],
        params: Sampling,
        *,
        transforms: Iterable[Transform] = (),
        listeners: Iterable[Listener] = (),
        what: str = "text",
        limit_hint: str = "raise --max-tokens for more",
    ) -> None:
        self.params = params
        self.what = what
        self.limit_hint = limit_hint
        self.detector = LoopDetector()
        self._raw = raw
        pieces = guarded(raw, self.detector)
        for t in transforms:
            pieces = t(pieces)
        self._pieces = pieces
        self.listeners = list(listeners)
        self.parts: list[str] = []
        self.finish: Finish | None = None
        self.stats: Stats | None = None
        self.filter_note = ""
        self.signal = 0  # set by whoever caught the signal that ended it
        self.result: Result | None = None

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def __iter__(self) -> Iterator[str]:
        if self.finish is not None:
            return
        for piece in self._pieces:
            if piece.text:
                self._take(piece.text)
            if piece.finish is not None:  # ended before its last text is given out, so a
                self._end(piece)  # consumer that stops on that text keeps how it ended
                if piece.text:
                    yield piece.text
                return
            if piece.text:
                yield piece.text

    def _take(self, text: str) -> None:
        self.parts.append(text)
        for listener in self.listeners:
            listener.on_text(text)

    def _end(self, piece: Piece) -> None:
        self.finish = piece.finish
        self.stats = piece.stats or self.stats
        if piece.note:
            self.filter_note = piece.note

    @property
    def done(self) -> bool:
        return self.finish is not None

    def stop(self, reason: str = "interrupted") -> None:
        """End generation now: the engine stops at a clean point and reports its stats."""
        if self.finish is None:
            final = stop_stream(self._pieces, reason)
            if final.text:
                self._take(final.text)
            self._end(final if final.finish else Piece("", reason, final.stats))  # type: ignore[arg-type]
        for gen in (self._pieces, self._raw):  # let the engine free its sampler now
            close = getattr(gen, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    def close(self) -> Result:
        """The Result (text, finish, stats, note); listeners hear it once."""
        if self.result is not None:
            return self.result
        if self.finish is None:  # the consumer left early (an error, a signal)
            self.stop("interrupted")
        finish: Finish = self.finish or "interrupted"
        text = "".join(self.parts)
        repeats = 0
        if finish == "loop":
            # Cut on the text as shown (after the filters), not the engine's raw text.
            det = LoopDetector()
            det.feed(text)
            if det.hit is not None:
                repeats = det.hit.repeats
                text = det.kept_text()
            elif self.detector.hit is not None:
                repeats = self.detector.hit.repeats
        note = finish_note(
            finish,
            self.params.max_tokens,
            repeats=repeats,
            what=self.what,
            limit_hint=self.limit_hint,
        )
        if self.filter_note and finish == "length":
            note = (
                f"stopped at the limit of {self.params.max_tokens} tokens; "
                f"{self.filter_note} ({self.limit_hint})"
            )
        elif finish == "interrupted" and self.filter_note.startswith(finish):  # it says how
            note = self.filter_note  # the text ended: "interrupted while try 2 was written…"
        elif self.filter_note:
            note = f"{note}; {self.filter_note}" if note else self.filter_note
        self.result = Result(text, finish, self.stats or Stats(), note, self.signal)
        for listener in self.listeners:
            listener.on_done(self.result)
        return self.result

    def text(self) -> str:
        """Run to the end (no terminal) and return the final text."""
        for _ in self:
            pass
        return self.close().text


def generate(
    engine: Engine,
    messages: list[Message],
    params: Sampling,
    **kw: object,
) -> Generation:
    """Start a generation on ``engine`` (the prompt is checked against the context here,
    before anything is recorded; tokens are produced only while it is iterated)."""
    return Generation(engine.stream(messages, params), params, **kw)  # type: ignore[arg-type]
