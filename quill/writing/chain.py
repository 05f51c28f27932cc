"""One text from several generations: :class:`Chain` streams literal text and
generations (started only when reached) as one text through the one terminal loop, and
the stream filters the writing verbs share (``trim``, ``untag``).

Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from quill.engine.base import Finish, Piece, Result, Sampling, Stats
from quill.engine.generation import Generation, Listener, finish_note
from quill.engine.loop import pass_on, stop_stream

Transform = Callable[[Iterator[Piece]], Iterator[Piece]]
Step = str | Callable[[], Generation]


class Chain:
    """Several steps streamed as one text: a step is literal text (passed through as it
    is, never sent to a model) or a function that starts a :class:`Generation` (called
    only when the step is reached). ``stop()`` ends the generation in flight and the
    chain; ``close()`` gives one :class:`Result` (the texts joined, the stats summed) and
    tells the listeners once."""

    def __init__(
        self,
        steps: Iterable[Step],
        params: Sampling,
        *,
        what: str = "text",
        limit_hint: str = "raise --max-tokens for more",
    ) -> None:
        self.steps = list(steps)
        self.params = params
        self.what = what
        self.limit_hint = limit_hint
        self.listeners: list[Listener] = []
        self.texts: list[str] = []  # each finished step's text
        self.results: list[Result] = []
        self.current: Generation | None = None
        self.finish: Finish | None = None
        self.result: Result | None = None
        self.step_notes: list[str] = []  # folded into the closing note, shown once
        self.generations = sum(1 for s in self.steps if not isinstance(s, str))

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _take(self, text: str) -> None:
        for listener in self.listeners:
            listener.on_text(text)

    def __iter__(self) -> Iterator[str]:
        if self.finish is not None:
            return
        part = 0
        for step in self.steps:
            if self.finish is not None:
                return
            if isinstance(step, str):
                self.texts.append(step)
                if step:
                    self._take(step)
                    yield step
                continue
            part += 1
            gen = step()
            self.current = gen
            for text in gen:
                self._take(text)
                yield text
                if self.finish is not None:  # stopped while the caller held this piece
                    return
            self._end_step(part)
            if self.finish is not None:
                return
        self.finish = self._overall()

    def _end_step(self, part: int) -> None:
        gen, self.current = self.current, None
        if gen is None:
            return
        r = gen.close()
        self.results.append(r)
        self.texts.append(r.text)
        if r.finish == "interrupted":
            self.finish = "interrupted"
        elif r.note:
            where = f"part {part} of {self.generations}: " if self.generations > 1 else ""
            self.step_notes.append(where + r.note)

    def _overall(self) -> Finish:
        finishes = {r.finish for r in self.results}
        for f in ("interrupted", "length", "context", "loop"):
            if f in finishes:
                return f
        return "stop"

    @property
    def done(self) -> bool:
        return self.finish is not None

    def stop(self, reason: str = "interrupted") -> None:
        if self.finish is None:
            self.finish = reason  # type: ignore[assignment]
        if self.current is not None:
            self.current.stop(reason)

    def close(self) -> Result:
        if self.result is not None:
            return self.result
        if self.finish is None:
            self.stop("interrupted")
        if self.current is not None:
            self._end_step(len(self.results) + 1)
        finish: Finish = self.finish or "interrupted"
        stats = sum_stats(r.stats for r in self.results)
        if finish == "interrupted":
            note = finish_note("interrupted", self.params.max_tokens, what=self.what)
        else:
            note = "; ".join(self.step_notes)
        self.result = Result("".join(self.texts), finish, stats, note)
        for listener in self.listeners:
            listener.on_done(self.result)
        return self.result

    def text(self) -> str:
        for _ in self:
            pass
        return self.close().text


def sum_stats(items: Iterable[Stats]) -> Stats:
    out = Stats()
    first = True
    for s in items:
        out.prompt_tokens += s.prompt_tokens
        out.evaluated_tokens += s.evaluated_tokens
        out.generated_tokens += s.generated_tokens
        out.prompt_s += s.prompt_s
        out.gen_s += s.gen_s
        if first:
            out.ttft_s = s.ttft_s
            first = False
    return out


def trim(pieces: Iterator[Piece]) -> Iterator[Piece]:
    """Drop whitespace at the start and the end of a generation (the text around a part
    keeps the source's own spacing)."""
    started = False
    held = ""
    for piece in pieces:
        text = piece.text
        if not started:
            text = text.lstrip()
            started = bool(text)
        if piece.finish is not None:
            yield Piece((held + text).rstrip(), piece.finish, piece.stats, piece.note)
            return
        buf = held + text
        core = buf.rstrip()
        held = buf[len(core) :]
        if not core:
            continue
        if (yield from pass_on(Piece(core), pieces, shape=str.rstrip)):
            return


def untag(tag: str, source: str = "") -> Transform:
    """Drop ``<tag>`` at the start of a generation, and end it at ``</tag>``: a small
    model sometimes echoes the markers its input was wrapped in, and what it writes after
    the closing one is the prompt going on, not the text (the 0.5B's expansion of a
    message: "</text> Requirements: …", "</text> 你理解吗？…"). The generation is
    stopped there. A closing tag the ``source`` has itself is text like any other, and
    only dropped at the very end."""
    opening, closing = f"<{tag}>", f"</{tag}>"
    ends_inside = closing not in source

    def strip(pieces: Iterator[Piece]) -> Iterator[Piece]:
        head = ""
        deciding = True
        held = ""
        for piece in pieces:
            text = piece.text
            if deciding:
                head += text
                if len(head.lstrip()) < len(opening) and piece.finish is None:
                    continue
                deciding = False
                stripped = head.lstrip()
                text = stripped[len(opening) :] if stripped.startswith(opening) else head
            buf = held + text
            at = buf.find(closing) if ends_inside else -1
            if at >= 0:  # the text is over: what follows is not part of it
                final = piece if piece.finish is not None else stop_stream(pieces, "stop")
                yield Piece(buf[:at].rstrip(), final.finish, final.stats, final.note)
                return
            if piece.finish is not None:
                core = buf.rstrip()
                if core.endswith(closing):
                    buf = core[: -len(closing)]
                yield Piece(buf, piece.finish, piece.stats, piece.note)
                return
            cut = max(len(buf.rstrip()) - len(closing), 0)  # trailing spaces are held too
            out, held = buf[:cut], buf[cut:]
            if not out:
                continue
            if (yield from pass_on(Piece(out), pieces, held)):
                return
        if deciding and head:
            yield Piece(head)
        elif held:
            yield Piece(held)

    return strip
