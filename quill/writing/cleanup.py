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
from collections.abc import Callable, Iterator

from quill.engine.base import Piece, StopRequested
from quill.engine.loop import stop_stream
from quill.writing.chunk import complete_prefix

Transform = Callable[[Iterator[Piece]], Iterator[Piece]]

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
        try:
            yield Piece(text)
        except StopRequested as stop:
            final = stop_stream(pieces, stop.reason)
            yield Piece(tail + final.text, finish=final.finish, stats=final.stats, note=final.note)
            return


TRIMMED = "trimmed back to the last complete sentence"
_CONTEXT = 64  # characters of released text kept to see a sentence end across a join


def sentence_gate(max_tokens: int, hold: int = 48) -> Transform:
    """A transform for a generation limited to ``max_tokens`` (engines yield about one
    piece per token): pieces pass straight through until the generation is within
    ``hold`` pieces of the limit; from there on, text after the last complete sentence
    (see :func:`quill.writing.chunk.complete_prefix`) is held back. If the stream ends
    at its limit (finish "length"), the held tail is dropped and the final piece's
    ``note`` says so; if it ends otherwise, the held text comes out with it."""
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
                    if text[cut:].strip():
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
            try:
                yield Piece(out)
            except StopRequested as stop:
                final = stop_stream(pieces, stop.reason)
                yield Piece(
                    held + final.text, finish=final.finish, stats=final.stats, note=final.note
                )
                return
        if held:  # a stream without a final piece: nothing to decide on, release it
            yield Piece(held)

    return gate


def _join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


# -- commentary around a draft ------------------------------------------------------
#
# Small models frame a piece with talk about it: a preamble line ("Sure! Here is a
# product page for a linen shirt:") and a closing paragraph about the writing ("This
# piece is written in the same language as the brief. It follows the structure
# provided…", "I hope this helps!"). The patterns below are narrow on purpose: a closing
# paragraph goes only when every sentence in it is such talk, so a call to action, a
# poem's last stanza, an email's sign-off or a "Note: machine wash cold" stays.

_HEAD_CHARS = 240  # a first line longer than this is content, not a preamble
_PREAMBLE = [
    re.compile(p, re.I)
    for p in (
        r"^(?:sure|certainly|of course|absolutely|okay|ok|alright|great|got it|no problem)"
        r"[!.,]*(?:\s+(?:here(?:'s| is| are)|below is|i(?:'ve| have)) .*)?$",
        r"^(?:here(?:'s| is| are)|below is|below you(?:'ll| will) find|the following is|"
        r"i(?:'ve| have) (?:written|drafted|created|prepared|put together))\b.*[:：]$",
        r"^(?:here(?:'s| is| are)|below is) (?:a|an|the|your|my)\b.{0,100}\b(?:draft|piece|"
        r"version|page|post|email|poem|story|script|article|copy|description|letter|"
        r"announcement|news story)\b[^.!?]{0,60}[.!]?$",
        r"^(?:好的|当然|没问题)[！!，,。.]*$",
        r"^(?:好的|当然|没问题)[！!，,。.]*\s*(?:以下是|下面是|这是).*$",
        r"^(?:以下是|下面是|这是)(?:一篇|一份|一首|一封|一个|为您|为你|根据|您要的|你要的)?"
        r"[^。！？\n]{0,60}(?:文章|诗|邮件|草稿|页面|文案|故事|剧本|博客|新闻|介绍)"
        r"[^。！？\n]{0,20}[:：。]?$",
    )
]
_COMMENT = [
    re.compile(p, re.I)
    for p in (
        r"^(?:i )?hope (?:this|that|it) (?:helps|meets|works|fits|suits|is (?:helpful|useful"
        r"|what))",
        r"^(?:i )?hope you (?:find|like|enjoy) (?:this|the|my) (?:piece|draft|post|poem|story|"
        r"article|email|version|page|copy|script)\b",
        r"^(?:please )?(?:feel free|don't hesitate|do not hesitate) to\b.*\b(?:adjust|change|"
        r"tweak|modify|edit|customi[sz]e|adapt|let me know)",
        r"^(?:please )?feel free to (?:add|include|expand|use|personali[sz]e)\b.*\b(?:this|the)"
        r" (?:piece|draft|post|page|product page|description|email|text|copy|template)\b",
        r"^(?:please )?let me know if\b.*\b(?:change|adjust|modif|revis|edit|tweak|version|"
        r"further)",
        r"^(?:this|the above|my) (?:piece|draft|text|post|blog post|article|page|product page|"
        r"product description|description|email|poem|story|short story|script|copy|"
        r"marketing copy|version|response|news story)\s+(?:is (?:written|crafted|designed|"
        r"composed|structured|intended|meant|tailored|aimed|formatted|concise|approximately|"
        r"about|around)|was (?:written|crafted|designed|composed)|follows|uses|captures|"
        r"highlights|adheres|meets|keeps|should|can be|provides|aims|includes|emphasizes|"
        r"emphasises|combines|effectively|reflects|showcases|maintains|stays|conveys|"
        r"has been|stays)\b",
        r"^(?:it|this) (?:adheres to|has been written|uses markdown|is written in (?:english|"
        r"chinese|the same|a \w+ tone|markdown|plain))\b",
        r"\b(?:as per|per|follows?|following|meets?|matches|language as) (?:the|your) brief\b",
        r"\b(?:the|your) brief(?:'s)? (?:asked|requested|required|called)\b",
        r"\bsame language as\b",
        r"\b(?:follows?|following|meets?|adheres? to|as per|according to|in line with|"
        r"fulfil+s?|satisfies) (?:the|your|all the|all) (?:instructions|requirements|prompt|"
        r"guidelines|specifications|structure)\b",
        r"\bthe structure (?:provided|requested|given|outlined)\b",
        r"\b(?:using|uses|with|in) markdown (?:where|when|for|to)\b",
        r"\bmarkdown (?:where|when|as) (?:necessary|needed|helpful|appropriate|required)\b",
        r"\b(?:wrapped?|not) in a code block\b",
        r"^\(?\s*word count\b",
        r"\b(?:approximately|about|around|roughly|exactly) \d+ words\b|\b\d+ words (?:long|in "
        r"length)\b",
        r"^length\s*:\s*(?:about|approximately|around|~)?\s*\d+\s*(?:words|字)",
        r"^希望(?:这|以上|本)(?:篇|首|份|个|封|段)?(?:文章|诗歌?|内容|草稿|文案|邮件|作品|稿件|"
        r"故事|页面)",
        r"^希望(?:对您|对你|能对您|能对你|能帮到|能帮助|有所帮助)",
        r"^(?:如果|如)(?:您|你)?(?:需要|有|想).*(?:修改|调整|改动|进一步|其他版本)",
        r"^(?:这|此|以上)(?:篇|首|份|个|段|则|封)?(?:文章|诗歌|诗|邮件|电子邮件|故事|产品页面|"
        r"产品页|页面|文案|草稿|内容|作品|剧本|博客文章|博客|新闻稿|新闻|稿件).{0,12}"
        r"(?:遵循|符合|使用了?|采用了?|按照|根据|旨在|满足)",
        r"简报|字数|markdown格式|与.{0,4}相同的语言",
    )
]
_SEPARATOR = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_FENCE_LINE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*$")
_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_WRAPPERS = re.compile(
    r"^[\s>*_(（\[]*(?:[-+]\s+|\d{1,3}[.)]\s+)?[*_]*(?:p\.?s\.?|notes?|注|备注|说明)?[*_]*"
    r"\s*[:：]?\s*[*_]*"
)


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# After a sentence about the piece, one that goes on about it ("It covers the main
# benefits…", "The headline highlights…") is about the piece too.
_FOLLOW = re.compile(
    r"^(?:it|they|this|these|the (?:headline|title|tone|structure|language|format|length|"
    r"call[- ]to[- ]action|ending|opening|closing|sign-off|piece|draft|text|copy|content|"
    r"post|email|poem|story|page|description)s?)\b|^(?:它|这|此|标题|语气|结构|全文|文章)"
    r"|^(?:good luck|happy (?:writing|reading|blogging)|enjoy|cheers)\b[^.!?]{0,20}[.!]*$"
    r"|^(?:祝你|祝您)",
    re.I,
)


def _is_preamble(line: str) -> bool:
    s = line.strip().strip("*_").strip().translate(_QUOTES)
    return bool(s) and len(s) <= 200 and any(rx.match(s) for rx in _PREAMBLE)


def _sentences(line: str) -> list[str]:
    s = _WRAPPERS.sub("", line.strip().translate(_QUOTES), count=1).rstrip(" *_)）]")
    return [t for t in (t.strip(" *_") for t in _SENTENCE_SPLIT.split(s)) if t]


def _all_comment(sentences: list[str]) -> bool:
    """Every sentence talks about the writing: the first by a pattern of its own, each
    later one by its own pattern or by going on about what the one before was about."""
    if not sentences:
        return False
    for k, t in enumerate(sentences):
        if not (any(rx.search(t) for rx in _COMMENT) or (k > 0 and _FOLLOW.match(t))):
            return False
    return True


def _comment_line(line: str) -> bool:
    return _all_comment(_sentences(line))


def is_commentary(paragraph: str) -> bool:
    """Whether every sentence of ``paragraph`` talks about the writing rather than being
    the writing."""
    lines = [ln for ln in paragraph.splitlines() if ln.strip()]
    return bool(lines) and _all_comment([t for ln in lines for t in _sentences(ln)])


# Labels that name the parts of the requested shape instead of writing them
# ("**Headline:** Linen for summer", "Call to action: order now"). A headline or title
# label becomes a heading; the others are dropped, and a line that is only a label goes.
_LABEL_LINE = re.compile(
    r"^(?P<lead>[ \t]*(?:#{1,6}[ \t]+)?(?:[-*+][ \t]+)?)(?P<open>[*_]{0,2})"
    r"(?P<label>(?:sub-?)?headline|title|subject line|short (?:persuasive )?description|"
    r"persuasive description|product description|lead paragraph|call[- ]to[- ]action|"
    r"sign-off|greeting|副?标题|导语|行动号召|简短描述)"
    r"[ \t]*(?:[*_]{2}[ \t]*)?[:：](?:[ \t]*[*_]{2})?[ \t]*(?P<rest>.*)$",
    re.I,
)


def _unlabel_line(line: str) -> str | None:
    """The line without a label naming its part; None for a line that was only one."""
    m = _LABEL_LINE.match(line)
    if m is None:
        return line
    rest, opened = m.group("rest").strip(), m.group("open")
    if opened and rest.endswith(opened):
        rest = rest[: -len(opened)].rstrip()
    rest = rest.strip("*_ ").strip() if rest.strip("*_ ") == "" else rest
    if not rest:
        return None
    label, lead = m.group("label").lower(), m.group("lead")
    if label in ("headline", "title", "标题"):
        return (lead if "#" in lead else "# ") + rest
    if label in ("subheadline", "sub-headline", "副标题"):
        return (lead if "#" in lead else "## ") + rest
    if label == "subject line":
        return lead + "Subject: " + rest
    return lead + rest


def _unlabel_from(text: str, midline: bool) -> str:
    """``_unlabel`` for text that may begin inside a line already released."""
    if not midline:
        return _unlabel(text)
    nl = text.find("\n")
    if nl < 0:
        return text
    return text[: nl + 1] + _unlabel(text[nl + 1 :])


def _unlabel(text: str) -> str:
    out: list[str] = []
    for line in text.split("\n"):
        kept = _unlabel_line(line)
        if kept is not None:
            out.append(kept)
            continue
        while out and not out[-1].strip():  # the blank lines before a dropped label go
            out.pop()
    return "\n".join(out)


def _holdable(paragraph: str) -> bool:
    """Paragraphs held back at the end of the stream until real text follows them: talk
    about the writing, a rule line before such talk, a closing code fence."""
    s = paragraph.strip()
    return is_commentary(s) or bool(_SEPARATOR.match(s) or _FENCE_LINE.match(s))


_HOLD_CHARS = 240  # the most of a paragraph held back while it may still be talk


def _is_content(paragraph: str) -> bool:
    """A paragraph still being written is known to be the piece itself (and streams on)
    once one of its complete sentences is not talk about the writing, or once it is too
    long for such talk: talk about a brief is a sentence or two."""
    if len(paragraph.strip()) > _HOLD_CHARS:
        return True
    lines = [ln for ln in paragraph.split("\n")[:-1] if ln.strip()]  # complete lines
    last = paragraph.split("\n")[-1]
    done = [t for ln in lines for t in _sentences(ln)]
    if last.strip():
        parts = _sentences(last)
        if parts and not re.search(r"[.!?。！？]$", parts[-1]):
            parts = parts[:-1]  # the sentence still being written
        done += parts
    return any(
        not _all_comment([t]) and not (k > 0 and _FOLLOW.match(t)) for k, t in enumerate(done)
    )


def _release(buf: str) -> tuple[str, str]:
    """(text to release now, text to hold): everything but the last paragraph while it
    may still be talk about the writing (see :func:`_is_content`), and any talk-like
    paragraphs just before it, each held with the blank line before it. Once the last
    paragraph is known to be the piece, everything goes but an incomplete last line
    (held so a label at its start can still be taken off) unless that line is long."""
    breaks = list(_BREAK.finditer(buf))
    tail = buf[breaks[-1].end() :] if breaks else buf
    if _is_content(tail):
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
        if not _holdable(buf[start : breaks[k].start()]):
            break
        cut = breaks[k - 1].start() if k > 0 else 0
    return buf[:cut], buf[cut:]


def _drop_closing(buf: str, keep_some: bool) -> str:
    """``buf`` (the held end of a draft) without closing talk about the writing: whole
    trailing paragraphs, then trailing lines of the last paragraph kept. With
    ``keep_some``, something must remain (nothing else of the draft was released)."""
    spans = []
    start = 0
    for m in _BREAK.finditer(buf):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(buf)))
    spans = [(a, b) for a, b in spans if buf[a:b].strip()]
    i, dropped = len(spans), False
    while i > 0:
        para = buf[spans[i - 1][0] : spans[i - 1][1]]
        if is_commentary(para):
            dropped = True
        elif not (dropped and _SEPARATOR.match(para.strip())):
            break
        i -= 1
    if i == 0:
        return buf if keep_some or not dropped else ""
    a, b = spans[i - 1]
    lines = buf[a:b].rstrip().split("\n")
    while len(lines) > 1 and _comment_line(lines[-1]):
        lines.pop()
        dropped = True
    if not dropped:
        return buf
    return (buf[:a] + "\n".join(lines)).rstrip() + "\n"


def strip_commentary(pieces: Iterator[Piece]) -> Iterator[Piece]:
    """Drop a preamble line at the start of a draft and closing paragraphs about the
    writing at its end, and labels naming the parts of its shape ("Headline:"). While
    streaming, the first line is held until it is complete
    and, after that, only the last paragraph (with any talk-like paragraphs right
    before it) is held back."""
    head = ""
    deciding = True
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
                yield Piece(_unlabel_from(rest, midline))
            raise
        text = piece.text
        final = piece.finish is not None
        if deciding:
            head += text
            text = ""
            while True:
                stripped = head.lstrip()
                nl = stripped.find("\n")
                if nl < 0 and len(stripped) < _HEAD_CHARS and not final:
                    break  # the first line is not complete yet
                line = stripped[:nl] if nl >= 0 else stripped
                rest = stripped[nl + 1 :] if nl >= 0 else ""
                drop = _is_preamble(line) or (dropped_head > 0 and _SEPARATOR.match(line))
                if drop and dropped_head < 3 and (rest.strip() or not final):
                    head, dropped_head = rest, dropped_head + 1
                    continue
                deciding = False
                text = stripped if dropped_head else head
                break
            if deciding:
                continue
        buf = held + text
        if final:
            out = _unlabel_from(_drop_closing(buf, keep_some=not released), midline)
            yield Piece(out, finish=piece.finish, stats=piece.stats, note=piece.note)
            return
        out, held = _release(buf)
        out = _unlabel_from(out, midline)
        if not out:
            continue
        midline = not out.endswith("\n")
        released = released or bool(out.strip())
        try:
            yield Piece(out)
        except StopRequested as stop:
            last = stop_stream(pieces, stop.reason)
            text = _unlabel_from(held + last.text, midline)
            yield Piece(text, finish=last.finish, stats=last.stats, note=last.note)
            return
    if deciding and head:
        held = head + held
    if held:
        yield Piece(held)


# -- notes between the steps of a summary ---------------------------------------------

_CODE_BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[ \t]*$\n?|\Z)", re.M | re.S)
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}(?:[ \t][^\n]*)?$\n?", re.M)
_HTML_LINE = re.compile(r"^[ \t]*(?:<[^>\n]+>[ \t]*)+$\n?", re.M)
_BOLD_LINE = re.compile(r"^[ \t]*(?:\*\*|__)[^*_\n]{1,60}(?:\*\*|__)[ \t]*[:：]?[ \t]*$\n?", re.M)
_PART_LINE = re.compile(
    r"^[ \t]*[*_]*parts? \d+(?:[ \t]*(?:-|–|to)[ \t]*\d+)?(?: of \d+)?[*_]*[ \t]*$\n?", re.I | re.M
)
_LABEL_WORDS = (
    r"parts? \d+(?:[ \t]*(?:-|–|to|and)[ \t]*\d+)?(?: of \d+)?",
    r"notes?|summary|main points|key points",
    r"第[ \t]*[\d一二三四五六七八九十]+[ \t]*部分|笔记|摘要|要点|总结",
)
_LABEL = re.compile(
    r"^([ \t]*(?:[-*+][ \t]+)?)[*_]{0,2}(?:" + "|".join(_LABEL_WORDS) + r")"
    r"(?:[ \t]*[(（][^)）\n]*[)）])?[*_]{0,2}[ \t]*[:：][*_]{0,2}[ \t]*",
    re.I | re.M,
)


# "This part of the document discusses…": notes that name the part they come from, which
# the final step would paste into the summary. The document is what they are about.
_PART_SUBJECT = re.compile(
    r"(?:(?<=^)|(?<=[.!?]\s)|(?<=\n))(?:this|the) (?:part|section|passage|excerpt|chunk)"
    r"(?: of the (?:document|report|text|article))?(?=\s)",
    re.I,
)
_ZH_PART_SUBJECT = re.compile(r"(?:(?<=^)|(?<=[。！？\n]))(?:这一部分|这部分|本部分|该部分)")


def _heading_key(line: str) -> str:
    return re.sub(r"[\s*_#>:：.。,，、\-–—\d()（）]+", "", line).casefold()


def tidy_notes(text: str, headings: tuple[str, ...] = ()) -> str:
    """Notes on a part, made fit to be read by the next step: code blocks, heading
    lines, HTML tags, bold lines standing as headings and "Part 2:" / "Notes:" labels
    are dropped (a small model copies them from its source, and the final step would
    copy them again), and so are lines that only echo one of ``headings`` (the part's
    heading path) or the path itself; "This part of the document discusses…" becomes
    "The document discusses…"; blank lines are collapsed."""
    text = _LABEL.sub(r"\1", _CODE_BLOCK.sub("", text))
    for rx in (_HEADING_LINE, _HTML_LINE, _BOLD_LINE, _PART_LINE):
        text = rx.sub("", text)
    text = _ZH_PART_SUBJECT.sub("文档", _PART_SUBJECT.sub("The document", text))
    if headings:  # a line that only echoes a heading of the part, or its heading path
        keys = {_heading_key(h) for h in headings if _heading_key(h)}
        last = headings[-1].strip()
        text = "\n".join(
            ln
            for ln in text.split("\n")
            if _heading_key(ln) not in keys
            and not (last and " > " in ln and ln.rstrip(" :：.。").endswith(last))
        )
    lines = [ln.rstrip() for ln in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# -- headings and code blocks in a summary --------------------------------------------

_OPENS_BLOCK = re.compile(r"[ \t]{0,3}(#{1,6}(?:[ \t]|$)|`{3,}|~{3,})")
_MAY_OPEN = re.compile(r"[ \t]{0,3}(?:#{1,6}|`{1,2}|~{1,2})?$")


def strip_blocks(headings: bool = True) -> Transform:
    """A transform that drops fenced code blocks and (with ``headings``) Markdown heading
    lines from a stream, with the blank lines after them: a summary in prose or bullets
    has no use for either, and a small model copies them from the document it reads.
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
            try:
                yield Piece(text)
            except StopRequested as stop:
                last = stop_stream(pieces, stop.reason)
                yield Piece(last.text, finish=last.finish, stats=last.stats, note=last.note)
                return
        if pending and not fence:
            yield Piece(pending)

    return strip


def draft_filters() -> list[Transform]:
    """The filters between the engine and the writer for a piece of writing (a draft, a
    revision): a wrapping code fence and commentary about the brief are taken off."""
    return [unwrap_fence, strip_commentary]
