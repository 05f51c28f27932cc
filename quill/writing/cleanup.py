"""Stream filters that tidy a model's reply as it streams.

Each is a transform ``Iterator[Piece] -> Iterator[Piece]`` that holds back only what it
must to decide, so streaming stays immediate, and that honours a ``StopRequested``
thrown into it: the engine is stopped and what was held comes out with the final piece.

- ``unwrap_fence``: small models often wrap a whole Markdown answer in a code fence
  (```markdown … ```), which a terminal then shows as one grey code block; the opening
  fence line and its closing fence are dropped.
- ``sentence_gate``: near the token limit, text after the last sentence end is held; if
  the limit is reached, that unfinished tail is dropped (and the final piece says so).
- ``strip_commentary``: a preamble line ("Here is a product page…") and closing
  paragraphs about the writing ("I hope this helps", "This piece follows the brief…")
  are dropped from a draft; only the last paragraph is held back while streaming.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial

from quill.engine.base import Piece
from quill.engine.loop import pass_on
from quill.writing.chunk import complete_prefix
from quill.writing.commentary import (
    BREAK,
    FENCE_LINE,
    FOLLOW,
    HEAD_CHARS,
    SEPARATOR,
    all_comment,
    comment_line,
    is_commentary,
    is_preamble,
    opens_with_comment,
    sentences,
    unlabel_from,
)
from quill.writing.openings import Transform, lead, spaced_title

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
            yield Piece(text, finish=piece.finish, stats=piece.stats, note=piece.note)
            return
        if not text:
            continue
        if (yield from pass_on(Piece(text), pieces, tail)):
            return


TRIMMED = "trimmed back to the last complete sentence"
_CONTEXT = 64  # characters of released text kept to see a sentence end across a join


def sentence_gate(max_tokens: int, hold: int = 48, keep_lone: bool = False) -> Transform:
    """A transform for a generation limited to ``max_tokens`` (engines yield about one
    piece per token): pieces pass straight through until the generation is within
    ``hold`` pieces of the limit; from there on, text after the last complete sentence
    (see :func:`quill.writing.chunk.complete_prefix`) is held back. If the stream ends
    at its limit (finish "length"), the held tail is dropped and the final piece's
    ``note`` says so; if it ends otherwise, the held text comes out with it. With
    ``keep_lone``, a text with no complete sentence at all is kept as it is (a draft is
    better cut than empty)."""
    start = max(max_tokens - hold, 0)

    def gate(pieces: Iterator[Piece]) -> Iterator[Piece]:
        count = 0
        held = ""
        context = ""  # the end of the text released so far
        for piece in pieces:
            if piece.finish is not None:
                text, note = held + piece.text, piece.note
                if piece.finish in ("length", "context"):
                    cut = complete_prefix(context + text, closed=True) - len(context)
                    cut = max(cut, 0)
                    lone = keep_lone and cut == 0 and not context.strip()
                    if text[cut:].strip() and not lone:
                        text, note = text[:cut], _join_notes(note, TRIMMED)
                yield Piece(text, finish=piece.finish, stats=piece.stats, note=note)
                return
            count += 1
            if count < start and not held:
                out = piece.text
            else:
                buf = held + piece.text
                cut = max(complete_prefix(context + buf) - len(context), 0)
                out, held = buf[:cut], buf[cut:]
            if not out:
                continue
            context = (context + out)[-_CONTEXT:]
            if (yield from pass_on(Piece(out), pieces, held)):
                return
        if held:  # a stream without a final piece: nothing to decide on, release it
            yield Piece(held)

    return gate


def _join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _holdable(paragraph: str, tags: bool = False) -> bool:
    """Paragraphs held back at the end of the stream until real text follows them: talk
    about the writing, a rule line or a heading before such talk, a closing code
    fence, and with ``tags`` a paragraph of hashtags."""
    s = paragraph.strip()
    if tags and _tag_lines(s):
        return True
    return is_commentary(s) or bool(SEPARATOR.match(s) or FENCE_LINE.match(s) or _lone_heading(s))


_HOLD_CHARS = 240  # the most of a first sentence held back while it may still be talk
# the most of a paragraph held whose sentences so far are all talk: the 1.5B closed a
# product page with two sentences about it, 300 characters ("This product page is
# designed to make the reader want the linen shirt by highlighting…"), which went out
# when the bound was 240
_HOLD_TALK_CHARS = 800


# A paragraph that is one heading line: held until its section's text follows, and
# dropped where none does (a piece does not end on a heading; the 1.5B ended a blog post
# with "# Tags: Sourdough Bread, Baking Basics").
_LONE_HEADING = re.compile(r"#{1,6}(?:[ \t][^\n]*)?")


def _lone_heading(paragraph: str) -> bool:
    return _LONE_HEADING.fullmatch(paragraph.strip()) is not None


# A line of hashtags ("#StartSketchingToday #CreativeHabit"; a heading has a space after
# its "#"). A social post may end on them; a piece begun with a heading or a subject
# line (a blog post, a product page, an email) does not: the 1.5B ended a blog post on
# two such lines, which the check then read as an unfinished ending.
_TAG_LINE = re.compile(r"[ \t]*#[^\W\d_][^\n]*(?<![.!?:。！？：])")


def _tag_lines(paragraph: str) -> bool:
    lines = [ln.rstrip() for ln in paragraph.strip().split("\n") if ln.strip()]
    return bool(lines) and all(_TAG_LINE.fullmatch(ln) for ln in lines)


def _is_content(paragraph: str) -> bool:
    """A paragraph still being written is known to be the piece itself (and streams on)
    once one of its complete sentences is not talk about the writing, or once it is too
    long for such talk: a first sentence of more than _HOLD_CHARS, or sentences of talk
    past _HOLD_TALK_CHARS (talk about a brief is a sentence or three). A lone heading
    line is not known to be until text follows it."""
    size = len(paragraph.strip())
    if _lone_heading(paragraph):
        return False
    if size > _HOLD_TALK_CHARS:
        return True
    lines = [ln for ln in paragraph.split("\n")[:-1] if ln.strip()]  # complete lines
    last = paragraph.split("\n")[-1]
    done = [t for ln in lines for t in sentences(ln)]
    if last.strip():
        parts = sentences(last)
        if parts and not re.search(r"[.!?。！？]$", parts[-1]):
            parts = parts[:-1]  # the sentence still being written
        done += parts
    if any(not all_comment([t]) and not (k > 0 and FOLLOW.match(t)) for k, t in enumerate(done)):
        return True
    return not done and size > _HOLD_CHARS


def _release(buf: str, tags: bool = False) -> tuple[str, str]:
    """(text to release now, text to hold): everything but the last paragraph while it
    may still be talk about the writing (see :func:`_is_content`), and any talk-like
    paragraphs just before it, each held with the blank line before it. Once the last
    paragraph is known to be the piece, everything goes but an incomplete last line
    (held so a label at its start can still be taken off) unless that line is long."""
    breaks = list(BREAK.finditer(buf))
    tail = buf[breaks[-1].end() :] if breaks else buf
    if _is_content(tail) and not _noted(buf, breaks):
        nl = buf.rfind("\n")
        last_line = buf[nl + 1 :]
        if len(last_line) > _HOLD_CHARS // 4:
            return buf, ""
        return buf[: nl + 1], last_line
    if not breaks:
        return "", buf
    cut = breaks[-1].start()  # the break before a paragraph is held with it
    for k in range(len(breaks) - 1, -1, -1):
        start = breaks[k - 1].end() if k > 0 else 0
        if not _holdable(buf[start : breaks[k].start()], tags):
            break
        cut = breaks[k - 1].start() if k > 0 else 0
    return buf[:cut], buf[cut:]


def _note_after(rule: str, paragraph: str) -> bool:
    """Whether ``paragraph``, coming after ``rule``, is a note on the piece: the rule is
    a separator line and the paragraph's first sentence talks about the writing."""
    return SEPARATOR.match(rule.strip()) is not None and opens_with_comment(paragraph)


def _noted(buf: str, breaks: list[re.Match[str]]) -> bool:
    """Whether the last paragraph of ``buf``, still being written, is a note on the
    piece after a rule (:func:`_note_after`; up to _HOLD_TALK_CHARS of it held)."""
    if len(breaks) < 2 or len(buf) - breaks[-1].end() > _HOLD_TALK_CHARS:
        return False
    rule = buf[breaks[-2].end() : breaks[-1].start()]
    return _note_after(rule, buf[breaks[-1].end() :])


def _drop_closing(buf: str, keep_some: bool, tags: bool = False) -> str:
    """``buf`` (the held end of a draft) without closing talk about the writing or a
    heading with nothing under it (with ``tags``, or hashtags): whole trailing
    paragraphs, then trailing lines of the last paragraph kept. With
    ``keep_some``, something must remain (nothing else of the draft was released)."""
    spans = []
    start = 0
    for m in BREAK.finditer(buf):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(buf)))
    spans = [(a, b) for a, b in spans if buf[a:b].strip()]
    i, dropped = len(spans), False
    while i > 0:
        para = buf[spans[i - 1][0] : spans[i - 1][1]]
        noted = i == len(spans) and i > 1 and _note_after(buf[slice(*spans[i - 2])], para)
        if noted or is_commentary(para) or _lone_heading(para) or (tags and _tag_lines(para)):
            dropped = True
        elif not (dropped and SEPARATOR.match(para.strip())):
            break
        i -= 1
    if i == 0:
        return buf if keep_some or not dropped else ""
    a, b = spans[i - 1]
    lines = buf[a:b].rstrip().split("\n")
    while len(lines) > 1 and comment_line(lines[-1]):
        lines.pop()
        dropped = True
    if not dropped:
        return buf
    return (buf[:a] + "\n".join(lines)).rstrip() + "\n"


def strip_commentary(pieces: Iterator[Piece], opened: bool = False) -> Iterator[Piece]:
    """Drop a preamble line at the start of a draft and closing paragraphs about the
    writing at its end, and labels naming the parts of its shape ("Headline:"). While
    streaming, the first line is held until it is complete
    and, after that, only the last paragraph (with any talk-like paragraphs right
    before it) is held back. ``opened``: the reply was begun for the model (a prefill:
    "# ", "Subject: "), so its first line is the piece's and streams straight through;
    only the end is looked at, and closing lines of hashtags are dropped there too (a
    piece with such an opening is not a social post)."""
    head = ""
    deciding = not opened
    first_line = opened  # the opening's line, passed on as it comes
    dropped_head = 0
    held = ""
    released = False  # whether any text has gone out
    midline = False  # the text released so far ends inside a line
    while True:
        try:
            piece = next(pieces)
        except StopIteration:
            break
        except Exception:  # the backend failed mid-stream: what was held is the writer's
            rest = (head if deciding else "") + held
            if rest:
                yield Piece(unlabel_from(rest, midline))
            raise
        text = piece.text
        final = piece.finish is not None
        if deciding:
            head += text
            text = ""
            while True:
                stripped = head.lstrip()
                nl = stripped.find("\n")
                if nl < 0 and len(stripped) < HEAD_CHARS and not final:
                    break  # the first line is not complete yet
                line = stripped[:nl] if nl >= 0 else stripped
                rest = stripped[nl + 1 :] if nl >= 0 else ""
                drop = is_preamble(line) or (dropped_head > 0 and SEPARATOR.match(line))
                if drop and dropped_head < 3 and (rest.strip() or not final):
                    head, dropped_head = rest, dropped_head + 1
                    continue
                deciding = False
                text = stripped if dropped_head else head
                break
            if deciding:
                continue
        if first_line:
            nl = text.find("\n")
            first_line = nl < 0 and not final
            line, text = (text, "") if nl < 0 else (text[: nl + 1], text[nl + 1 :])
            if line and not final:
                midline, released = nl < 0, True
                if (yield from pass_on(Piece(line), pieces, text)):
                    return
            else:
                text = line + text
        buf = held + text
        if final:
            out = unlabel_from(_drop_closing(buf, not released, tags=opened), midline)
            yield Piece(out, finish=piece.finish, stats=piece.stats, note=piece.note)
            return
        out, held = _release(buf, tags=opened)
        out = unlabel_from(out, midline)
        if not out:
            continue
        midline = not out.endswith("\n")
        released = released or bool(out.strip())
        if (yield from pass_on(Piece(out), pieces, held, partial(unlabel_from, midline=midline))):
            return
    if deciding and head:
        held = head + held
    if held:
        yield Piece(held)


# -- headings and code blocks in a summary --------------------------------------------

_OPENS_BLOCK = re.compile(r"[ \t]{0,3}(#{1,6}(?:[ \t]|$)|`{3,}|~{3,})")
_MAY_OPEN = re.compile(r"[ \t]{0,3}(?:#{1,6}|`{1,2}|~{1,2}|</?[a-z]{0,8}>?)?$")
# The tags quill's prompts wrap their text in, echoed by a small model: "<notes>".
_SCAFFOLD = re.compile(r"[ \t]{0,3}</?(?:notes|document|part|text)>[ \t]*")


def strip_blocks(headings: bool = True) -> Transform:
    """A transform that drops fenced code blocks and (with ``headings``) Markdown heading
    lines from a stream, with the blank lines after them: a summary in prose or bullets
    has no use for either, and a small model copies them from the document it reads.
    The tags quill's prompts wrap text in ("<notes>", "</document>") are dropped too.
    Only the first few characters of a line are held, until they show whether the line
    opens a heading or a fence (a line inside a code block is held until it is whole)."""

    def strip(pieces: Iterator[Piece]) -> Iterator[Piece]:
        pending = ""  # held: the start of a line, or a line inside a code block
        mid_line = False  # the text so far ends inside a line that goes out
        skip_line = False  # dropping the rest of the current line
        fence = ""  # inside a code block: dropping lines up to this closing fence
        skip_blank = True  # dropping blank lines (at the start, and after a dropped block)
        for piece in pieces:
            final = piece.finish is not None
            buf, pending = pending + piece.text, ""
            out: list[str] = []
            at = 0
            while at < len(buf):
                nl = buf.find("\n", at)
                end = len(buf) if nl < 0 else nl + 1
                line = buf[at:end]
                whole = nl >= 0 or final
                if skip_line:
                    skip_line = nl < 0
                elif fence:
                    if not whole:
                        pending = line  # the closing fence may be on its way
                    elif line.strip().startswith(fence):
                        fence, skip_blank = "", True
                elif mid_line:
                    out.append(line)
                    mid_line = nl < 0
                elif not whole and _MAY_OPEN.fullmatch(line):
                    pending = line  # too short to tell what it opens
                elif t := _SCAFFOLD.match(line):  # "<notes>" from the prompt: dropped
                    rest = line[t.end() :]
                    if rest.strip():
                        out.append(rest)
                        mid_line, skip_blank = nl < 0, False
                    else:
                        skip_line, skip_blank = nl < 0, True
                elif (m := _OPENS_BLOCK.match(line)) and (headings or m.group(1)[0] != "#"):
                    opener = m.group(1)
                    fence = "" if opener[0] == "#" else opener.strip()[:3]
                    skip_line, skip_blank = nl < 0, not fence
                elif skip_blank and not line.strip():
                    pass
                else:
                    out.append(line)
                    mid_line, skip_blank = nl < 0, False
                at = end
            text = "".join(out)
            if final:
                yield Piece(text, finish=piece.finish, stats=piece.stats, note=piece.note)
                return
            if not text:
                continue
            if (yield from pass_on(Piece(text), pieces)):
                return
        if pending and not fence:
            yield Piece(pending)

    return strip


ECHO_HEAD_CHARS = 200  # a first line longer than this is not an echoed prompt header
_SENTENCE_END = re.compile(r"[.!?。！？](?:\s|$)")


def drop_echoed_header(prompt: str, source: str) -> Transform:
    """A transform that drops a first line repeating the step's own prompt rather than
    its ``source`` ("These are notes on the 4 parts of a document…:", "以下是对文档……的
    笔记，按原文顺序排列："), judged as :func:`quill.writing.notes.drop_prompt_echo`
    judges a sentence. The first pieces are held only until their line ends, a sentence
    ends in it (a header has none) or ECHO_HEAD_CHARS have come; they then go on as
    they came (a piece a token, for the sentence gate's count), and if the stream fails
    or is interrupted meanwhile, they go out before the error."""
    from quill.writing.notes import drop_prompt_echo

    def drop(pieces: Iterator[Piece]) -> Iterator[Piece]:
        held: list[Piece] = []
        deciding = True
        out: list[Piece] = []
        while True:
            try:
                piece = next(pieces)
            except StopIteration:
                break
            except BaseException:
                if held:
                    yield Piece("".join(p.text for p in held))
                raise
            if deciding:
                held.append(piece)
                head = "".join(p.text for p in held)
                stripped = head.lstrip()
                nl = stripped.find("\n")
                line = stripped[:nl] if nl >= 0 else stripped
                final = piece.finish is not None
                short = nl < 0 and len(stripped) < ECHO_HEAD_CHARS and not final
                if short and not _SENTENCE_END.search(stripped):
                    continue  # may still be a header line
                deciding = False
                out, held = held, []
                if nl >= 0 and line.strip() and not drop_prompt_echo(line, prompt, source):
                    rest = stripped[nl + 1 :].lstrip("\n")
                    last = out[-1]
                    out = [Piece(rest, finish=last.finish, stats=last.stats, note=last.note)]
            else:
                out = [piece]
            for p in out:
                if p.finish is not None:
                    yield p
                    return
                if not p.text:
                    continue
                if (yield from pass_on(p, pieces)):
                    return
        if held:
            yield Piece("".join(p.text for p in held))

    return drop


def draft_filters(opening: str = "", source: str = "") -> list[Transform]:
    """The filters between the engine and the writer for a piece of writing (a draft, a
    revision): commentary about the brief is taken off first, then a code fence that
    wraps the rest ("Here is the draft:" followed by a fenced block loses both).

    With an ``opening`` (the reply was begun for the model: "# ", "Subject: "), the
    draft starts with it and has no room for a preamble or an opening fence: nothing
    is held at the start, and only closing talk is looked for at the end; a heading's
    title keeps its spaces (:func:`spaced_title`; ``source``: the request)."""
    if opening.startswith("#"):
        return [lead(opening), spaced_title(source), partial(strip_commentary, opened=True)]
    if opening:
        return [lead(opening), partial(strip_commentary, opened=True)]
    return [strip_commentary, unwrap_fence]
