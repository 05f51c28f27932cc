"""Stream filters that tidy a model's reply as it streams.

Small models often wrap a whole Markdown answer in a code fence (```markdown … ```),
which a terminal then shows as one grey code block. ``unwrap_fence`` drops such an
opening fence line and its closing fence, holding back only the few characters it needs
to decide, so streaming stays immediate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from quill.engine.base import Piece, StopRequested
from quill.engine.loop import stop_stream

_OPEN = re.compile(r"```(?:markdown|md|text)?[ \t]*\n")
_DECIDE_AFTER = 16  # characters: enough to see "```markdown\n"
_CLOSING = re.compile(r"\n[ \t]*`{0,3}[ \t]*$")


def unwrap_fence(pieces: Iterator[Piece]) -> Iterator[Piece]:
    head = ""  # the start of the reply, held until we know whether it opens a fence
    deciding = True
    opened = False
    tail = ""  # a last line that may be the closing fence, held back
    for piece in pieces:
        text = piece.text
        if deciding:
            head += text
            stripped = head.lstrip()
            if "\n" not in head and len(stripped) < _DECIDE_AFTER and piece.finish is None:
                continue
            deciding = False
            m = _OPEN.match(stripped)
            opened = m is not None
            text = stripped[m.end() :] if m else head
        if opened:
            text = tail + text
            tail = ""
            m = _CLOSING.search(text)
            if m and piece.finish is None:
                text, tail = text[: m.start()], text[m.start() :]
            elif piece.finish is not None and text.rstrip().endswith("```"):
                text = text.rstrip()[:-3].rstrip("\n ") + "\n"
        if piece.finish is not None:
            yield Piece(text, finish=piece.finish, stats=piece.stats)
            return
        if not text:
            continue
        try:
            yield Piece(text)
        except StopRequested as stop:
            final = stop_stream(pieces, stop.reason)
            yield Piece(tail + final.text, finish=final.finish, stats=final.stats)
            return
