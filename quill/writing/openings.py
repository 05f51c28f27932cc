"""The opening of a reply written for the model, as the stream shows it.

A draft's reply can be begun for the model (a heading's "# ", an email's "Subject: "),
which the engine's stream continues. These transforms put that opening before the
model's first text (:func:`lead`) and keep a heading's title spaced where a small model
joined its words (:func:`spaced_title`). Each honours a ``StopRequested`` thrown into it,
as every stream filter in :mod:`quill.writing.cleanup` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from quill.engine.base import Piece
from quill.engine.loop import pass_on

Transform = Callable[[Iterator[Piece]], Iterator[Piece]]


def lead(opening: str) -> Transform:
    """A transform that puts ``opening`` (the start of the reply written for the model,
    which the engine's stream continues) before the stream's first text, so the draft
    begins with it. It goes out with the model's first text, not before: a reply that
    fails or stops before the model wrote anything leaves no lone heading mark."""

    def put(pieces: Iterator[Piece]) -> Iterator[Piece]:
        for piece in pieces:
            if piece.text:  # the first text: the opening goes out with it
                piece = Piece(opening + piece.text, piece.finish, piece.stats, piece.note)
            if piece.finish is not None:
                yield piece
                return
            if piece.text:
                if not (yield from pass_on(piece, pieces)):
                    yield from _rest(pieces)
                return

    return put


# where a joined "HarborCity" or "OpensMarch3" had its space: a capital or a number
# after a small letter, a capital after a number
_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[0-9])(?=[A-Z])")
_TITLE = re.compile(r"(#+[ \t]*)?(\S*)(.*)", re.S)


def _title_shown(line: str, final: bool, source: str = "") -> str:
    """What of a heading line (so far) may go out: as written, except that a title
    written as one joined word of three or more capitalised parts (a number is a part)
    gets its spaces, and so does a word of two that ``source`` (the request) spells with
    a space ("Harbor City"); while its first word has a second part and no third yet,
    that part is held."""
    m = _TITLE.match(line)
    assert m is not None
    mark, word, tail = m.group(1) or "", m.group(2), m.group(3)
    parts = _HUMP.split(word)
    if len(parts) >= 3:
        return mark + " ".join(parts) + tail
    if not (tail or final):
        return mark + parts[0]
    if len(parts) == 2 and " ".join(parts).lower() in source.lower():
        return mark + " ".join(parts) + tail
    return line


def spaced_title(source: str = "") -> Transform:
    """A transform for a stream whose first line is a heading: the title keeps its
    spaces. After a lone "#" a model can take the heading for a hashtag and join the
    words ("# HarborCityLibraryLaunchesFreeCodingClassesForTeens": the 1.5B, on every
    seed of a press release's brief), and such a title gets its spaces back. A title
    that has a space, or whose first word has two capitalised parts ("YouTube"), comes
    out as written, unless ``source`` (the request) writes those two as two words. Only
    a first word that runs into a second capital is held, until it shows which it is.
    Nothing after the first line is touched."""

    def spaced(pieces: Iterator[Piece]) -> Iterator[Piece]:
        line, sent = "", 0
        for piece in pieces:
            head, nl, rest = piece.text.partition("\n")
            line += head
            final = bool(nl) or piece.finish is not None
            shown = _title_shown(line, final, source)
            out = shown[sent:] + nl + rest
            sent = len(shown)
            if piece.finish is not None:
                yield Piece(out, piece.finish, piece.stats, piece.note)
                return
            held = "" if final else _title_shown(line, True, source)[sent:]
            if out and (yield from pass_on(Piece(out), pieces, held)):
                return
            if final:  # the heading's line is done: the rest passes as it comes
                yield from _rest(pieces)
                return

    return spaced


def _rest(pieces: Iterator[Piece]) -> Iterator[Piece]:
    """The rest of a stream, passed on as it comes (a StopRequested honoured)."""
    for piece in pieces:
        if piece.finish is not None:
            yield piece
            return
        if piece.text and (yield from pass_on(piece, pieces)):
            return
