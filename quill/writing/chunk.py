"""Split a long document into chunks that each fit a token budget, along its structure.

The chunker is a pure function over a ``count`` callable (the model's tokenizer in use,
a word counter in tests), so it never loads a model by itself.

How a document is cut, strongest boundary first:

1. Markdown structure: ATX headings (``#`` … ``######``) start sections; a block is a
   paragraph, a heading or a fenced code block, with the blank lines after it. Text in a
   code fence is never read as a heading or split at its blank lines.
2. A block that does not fit the budget alone is split at sentence ends (``.!?`` followed
   by a space and not after a known abbreviation; ``。！？`` with or without a space),
   and at the start of list items, table rows and quotes. A code block is split at line
   ends instead.
3. Only a sentence (or code line) that alone exceeds the budget is split further: at
   line ends, then clause marks (``,;:，；：、``), then spaces, and as a last resort at
   the longest run of characters that fits.

The pieces are packed greedily into chunks, each checked with ``count`` so it holds at
most ``budget`` tokens. Near the end of a chunk the cut moves back to the strongest
boundary in its last part (a heading rather than a paragraph, a paragraph rather than
a sentence) and never falls just after a heading. The chunks' texts joined give back
the document exactly, whitespace included.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

Count = Callable[[str], int]

# Boundary strengths: the boundary *before* a piece; lower is stronger. Headings use
# their level (1-6).
BLOCK = 7
LINE = 8
SENTENCE = 9
CLAUSE = 10
WORD = 11
CHAR = 12
AFTER_HEADING = 99  # never cut between a heading and what follows it, if avoidable

# A cut may move back to a stronger boundary as long as the chunk stays this full.
MIN_FILL = 0.6

_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\r?\n?$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LATIN_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
_CJK_END = re.compile(r"[。！？]+[」』”’）\)\]\"']*\s*")
_ITEM_START = re.compile(r"\n(?=[ \t]*(?:(?:[-*+]|\d{1,3}[.)])[ \t]|[|>]))")
_CLAUSE_END = re.compile(r"[,;:，；：、]\s*")
_SPACE = re.compile(r"\s+")
_WORD_BEFORE = re.compile(r"(\S+)$")
_ABBREVIATIONS = frozenset(
    re.findall(
        r"\S+",
        "mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf al fig figs no nos vol pp p ch sec "
        "approx dept est inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec",
    )
)


@dataclass(frozen=True)
class Chunk:
    text: str
    tokens: int  # count(text)
    headings: tuple[str, ...]  # the heading path where the chunk begins
    start: int  # offset of the chunk in the document


@dataclass(frozen=True)
class _Block:
    text: str
    kind: str  # "heading", "code" or "text"
    level: int  # 1-6 for a heading, else 0
    path: tuple[str, ...]


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int
    level: int  # strength of the boundary before this piece
    path: tuple[str, ...]
    heading_end: bool  # the last piece of a heading block


def _lines(text: str) -> list[str]:
    return _LINE_RE.findall(text)


def _heading(line: str) -> tuple[int, str] | None:
    m = _HEADING_RE.match(line)
    if m is None:
        return None
    return len(m.group(1)), (m.group(2) or "").strip()


def _blocks(text: str) -> list[_Block]:
    """Headings, fenced code blocks and paragraphs, each with its trailing blank lines."""
    out: list[_Block] = []
    cur: list[str] = []
    kind, level = "text", 0
    path: list[tuple[int, str]] = []
    cur_path: tuple[str, ...] = ()
    fence = ""
    after_blank = False

    def flush() -> None:
        if cur:
            out.append(_Block("".join(cur), kind, level, cur_path))
            cur.clear()

    for line in _lines(text):
        if fence:
            cur.append(line)
            s = line.strip()
            if s.startswith(fence) and s.strip(fence[0]) == "":
                fence = ""
                after_blank = True  # the block is closed: what follows starts a new one
            continue
        if not line.strip():
            if not cur:
                kind, level, cur_path = "text", 0, tuple(t for _, t in path)
            cur.append(line)
            after_blank = True
            continue
        m = _FENCE_RE.match(line)
        h = _heading(line)
        if m is not None:
            flush()
            kind, level, cur_path = "code", 0, tuple(t for _, t in path)
            fence = m.group(1)
            cur.append(line)
            after_blank = False
        elif h is not None:
            flush()
            lvl, title = h
            while path and path[-1][0] >= lvl:
                path.pop()
            path.append((lvl, title))
            kind, level, cur_path = "heading", lvl, tuple(t for _, t in path)
            cur.append(line)
            after_blank = True  # a heading is one line
        else:
            if kind != "text" or after_blank:
                flush()
                kind, level, cur_path = "text", 0, tuple(t for _, t in path)
            cur.append(line)
            after_blank = False
    flush()
    return out


def blocks(text: str) -> list[_Block]:
    """The document's headings, fenced code blocks and paragraphs, in order, each with
    its kind ("heading", "code", "text"), heading level and heading path."""
    return _blocks(text)


def heading_paths(text: str) -> list[tuple[str, ...]]:
    """Every heading path in the document, in order (for sizing a prompt)."""
    return [b.path for b in _blocks(text) if b.kind == "heading"]


# -- splitting one oversized piece ----------------------------------------------------


def _cut(text: str, ends: list[int]) -> list[str]:
    """Cut ``text`` after each offset in ``ends`` (sorted); empty pieces are skipped."""
    out: list[str] = []
    prev = 0
    for e in ends:
        if prev < e < len(text):
            out.append(text[prev:e])
            prev = e
    out.append(text[prev:])
    return out


def _is_abbreviation(text: str, dot: int) -> bool:
    m = _WORD_BEFORE.search(text, 0, dot)
    if m is None:
        return False
    word = m.group(1).lstrip("([\"'“‘").lower()
    if word.isdigit():  # "1. " opening a numbered line is a list marker, not an end
        line_start = text.rfind("\n", 0, m.start()) + 1
        return not text[line_start : m.start()].strip()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence end (and the space after it) inside ``text``."""
    ends: list[int] = []
    for m in _LATIN_END.finditer(text):
        end = m.end()
        if end >= len(text):
            continue
        nxt = text[end]
        if nxt.islower() and nxt.isascii():
            continue  # "e.g. this", "3.5 mm. and": the sentence goes on
        if text[m.start()] == "." and _is_abbreviation(text, m.start()):
            continue
        ends.append(end)
    ends += [m.end() for m in _CJK_END.finditer(text)]
    ends += [m.end() for m in _ITEM_START.finditer(text)]
    return sorted({e for e in ends if e < len(text)})


_TEXT_END = re.compile(r"[.!?…]+[\"'”’)\]*_]*(?=\s|$)")
_CJK_TEXT_END = re.compile(r"[。！？]+[」』”’）)\]\"'*_]*")
_ITEM_LINE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+\S[^\n]*\n", re.M)


def complete_prefix(text: str, closed: bool = False) -> int:
    """Length of the longest prefix of ``text`` that ends with a complete sentence
    (``.!?…`` then a space, not after an abbreviation; ``。！？`` as they are) or with
    a whole Markdown list item line (its newline included); 0 if there is none.

    ``text`` may be the start of a text still being written: a Latin sentence end counts
    once the space after it has arrived. With ``closed``, ``text`` is all there is, and
    its very end counts too, except a full stop after a digit: a text cut at its token
    limit just after "95." was cut inside a number ("95.2%")."""
    best = 0
    for m in _TEXT_END.finditer(text):
        end = m.end()
        if end == len(text) and not closed:
            continue
        start = m.start()
        if not text[end:].strip() and text[start] == "." and text[start - 1 : start].isdigit():
            continue  # "95." of "95.2%"
        if text[start] == "." and _is_abbreviation(text, start):
            continue
        best = max(best, end)
    for m in _CJK_TEXT_END.finditer(text):
        best = max(best, m.end())
    for m in _ITEM_LINE.finditer(text):
        best = max(best, m.end())
    return best


def _split(text: str, level: int) -> list[str]:
    if level == SENTENCE:
        return _cut(text, sentence_ends(text))
    if level == LINE:
        return _cut(text, [m.end() for m in re.finditer("\n", text)])
    if level == CLAUSE:
        return _cut(text, [m.end() for m in _CLAUSE_END.finditer(text)])
    if level == WORD:
        return _cut(text, [m.end() for m in _SPACE.finditer(text)])
    raise ValueError(level)


def _fit_prefix(text: str, budget: int, count: Count) -> int:
    """Length of the longest prefix of ``text`` within ``budget`` tokens (at least 1)."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    # Keep a character with the marks that follow it, and CR with LF.
    while 1 < lo < len(text) and (
        text[lo] == "\u200d" or unicodedata.combining(text[lo]) or text[lo - 1 : lo + 1] == "\r\n"
    ):
        lo -= 1
    return lo


_PLANS = {
    "text": (SENTENCE, LINE, CLAUSE, WORD),
    "heading": (WORD,),
    "code": (LINE, WORD),
}


def _pieces(
    text: str,
    plan: tuple[int, ...],
    level: int,
    path: tuple[str, ...],
    budget: int,
    count: Count,
) -> list[_Piece]:
    """``text`` as pieces within ``budget``, split by the first way in ``plan`` that
    splits it at all, and so on down; characters are the last resort."""
    n = count(text)
    if n <= budget or not text:
        return [_Piece(text, n, level, path, False)]
    for i, how in enumerate(plan):
        parts = _split(text, how)
        if len(parts) > 1:
            out: list[_Piece] = []
            for k, part in enumerate(parts):
                out += _pieces(part, plan[i + 1 :], level if k == 0 else how, path, budget, count)
            return out
    # Last resort: the longest runs of characters that fit.
    out = []
    rest, lvl = text, level
    while rest:
        k = _fit_prefix(rest, budget, count)
        out.append(_Piece(rest[:k], count(rest[:k]), lvl, path, False))
        rest, lvl = rest[k:], CHAR
    return out


# -- packing ----------------------------------------------------------------------


def _pack(pieces: list[_Piece], budget: int, count: Count) -> list[Chunk]:
    n = len(pieces)
    est = [0]
    for p in pieces:
        est.append(est[-1] + p.tokens)
    chunks: list[Chunk] = []
    i, offset = 0, 0
    while i < n:
        known: dict[int, int] = {}

        def fits(j: int, i: int = i, known: dict[int, int] = known) -> bool:
            if j not in known:
                known[j] = count("".join(p.text for p in pieces[i:j]))
            return known[j] <= budget

        # The pieces' counts add up to about the count of their join (a little more,
        # as tokens cannot merge across a cut): start where the sum reaches the budget,
        # then gallop and bisect on exact counts.
        guess = min(max(bisect.bisect_right(est, est[i] + budget) - 1, i + 1), n)
        if fits(guess):
            lo, hi, step = guess, n, 1
            while lo < hi:
                probe = min(lo + step, hi)
                if not fits(probe):
                    hi = probe - 1
                    break
                lo, step = probe, step * 2
        else:
            lo, hi = i + 1, guess - 1  # one piece always goes in (it fits unless it
            # is a single character)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid - 1
        j = lo
        if j < n:
            j = _best_cut(pieces, est, i, j)
        text = "".join(p.text for p in pieces[i:j])
        tokens = known[j] if j in known else count(text)
        chunks.append(Chunk(text, tokens, pieces[i].path, offset))
        offset += len(text)
        i = j
    return chunks


def _best_cut(pieces: list[_Piece], est: list[int], i: int, j: int) -> int:
    """Where to end a full chunk pieces[i:j]: the strongest boundary in its last part
    (the latest one on a tie), and never just after a heading if that can be helped."""

    def strength(k: int) -> int:
        return AFTER_HEADING if pieces[k - 1].heading_end else pieces[k].level

    while j > i + 1 and strength(j) == AFTER_HEADING:
        j -= 1  # ending on a bare heading is worth a shorter chunk
    if strength(j) == AFTER_HEADING:
        return j
    floor = est[i] + MIN_FILL * (est[j] - est[i])
    best, best_s = j, strength(j)
    for k in range(j - 1, i, -1):
        if est[k] < floor:
            break
        s = strength(k)
        if s < best_s:
            best, best_s = k, s
    return best


def chunk_text(text: str, budget: int, count: Count, total: int | None = None) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``budget`` tokens (by ``count``) along its
    structure. ``"".join(c.text for c in chunks) == text`` always holds. ``total`` is
    ``count(text)`` where the caller knows it already."""
    if budget < 1:
        raise ValueError("budget must be at least 1 token")
    if not text:
        return []
    total = count(text) if total is None else total
    if total <= budget:
        return [Chunk(text, total, (), 0)]
    pieces: list[_Piece] = []
    for b in _blocks(text):
        level = b.level if b.kind == "heading" else BLOCK
        got = _pieces(b.text, _PLANS[b.kind], level, b.path, budget, count)
        if b.kind == "heading":
            last = got[-1]
            got[-1] = _Piece(last.text, last.tokens, last.level, last.path, True)
        pieces += got
    return _pack(pieces, budget, count)
