"""What changed between two texts: word by word for a reader, as a unified diff for tools.

``changes(a, b)`` compares two texts token by token and returns the runs that are equal,
deleted, inserted or replaced. A token is a word (letters and digits, with inner
apostrophes), a single punctuation mark, or a single Chinese or Japanese character
(those scripts have no spaces, so they are compared character by character), each with
the whitespace that follows it. Whitespace is kept, so joining the ``old`` sides gives
``a`` back and the ``new`` sides give ``b``; a change never starts or ends with
whitespace the two sides share.

Texts are first compared line by line and only the lines that differ word by word: fast
on long drafts, and a changed paragraph never pulls in matches from far away.

``unified(a, b, name_a, name_b)`` is a line diff that ``patch`` and review tools read.

Pure functions: nothing here prints (the colours are :mod:`quill.render.diff`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from quill.engine.length import CJK
from quill.writing.textstats import count_words

# Beyond this many characters on the two sides of one changed block, the block is
# reported as one replacement instead of being compared in smaller units.
MAX_CHARS = 400_000

Op = Literal["equal", "delete", "insert", "replace"]

_TOKEN = re.compile(
    r"^\s+"  # whitespace at the very start
    rf"|(?:[{CJK}]"  # one Chinese or Japanese character
    rf"|[^\W_{CJK}]+(?:['’][^\W_{CJK}]+)*"  # a word: don't, l'eau
    r"|\S)"  # anything else, one character at a time
    r"\s*",  # with the whitespace after it
)


@dataclass(frozen=True)
class Change:
    """One run of the comparison: ``old`` is its text in a, ``new`` its text in b (the
    same text for "equal"; "" on the side where nothing is)."""

    op: Op
    old: str
    new: str


def tokenize(text: str) -> list[str]:
    """The text's tokens; ``"".join(tokenize(t)) == t``."""
    return _TOKEN.findall(text)


def _lines(text: str) -> list[str]:
    """Lines with their "\\n" (only "\\n" ends a line, as for patch)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _op(old: str, new: str) -> Op:
    if old == new:
        return "equal"
    if not old:
        return "insert"
    if not new:
        return "delete"
    return "replace"


_SENTENCE = re.compile(r".+?(?:[.!?…]+[\"'”’)\]]*(?:\s+|$)|[。！？]+[」』”’）)]*\s*|$)", re.DOTALL)


def sentences(text: str) -> list[str]:
    """The text cut after each sentence end (with the whitespace after it)."""
    parts = _SENTENCE.findall(text)
    return parts if "".join(parts) == text else [text]


# Each level cuts a changed block into smaller units: lines, then sentences, then tokens.
_LEVELS = (_lines, sentences, tokenize)


def _diff(a: str, b: str, level: int = 0) -> Iterator[Change]:
    """Compare unit by unit at this level; a replaced block is compared again at the
    next level down (fast on long texts: each comparison is small)."""
    ua, ub = _LEVELS[level](a), _LEVELS[level](b)
    sm = difflib.SequenceMatcher(None, ua, ub, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        old, new = "".join(ua[i1:i2]), "".join(ub[j1:j2])
        if tag == "equal":
            yield Change("equal", old, new)
        elif tag == "replace" and level + 1 < len(_LEVELS) and len(old) + len(new) <= MAX_CHARS:
            yield from _diff(old, new, level + 1)
        else:
            yield Change(_op(old, new), old, new)


def _merge(items: Iterable[Change]) -> list[Change]:
    """Join neighbouring runs of the same kind; deletions, insertions and replacements
    next to each other become one replacement."""
    out: list[Change] = []
    for c in items:
        if not c.old and not c.new:
            continue
        if out and (out[-1].op == "equal") == (c.op == "equal"):
            prev = out.pop()
            old, new = prev.old + c.old, prev.new + c.new
            c = Change("equal" if c.op == "equal" else _op(old, new), old, new)
        out.append(c)
    return out


def _common_prefix(a: str, b: str) -> int:
    """How much of the shared start of a and b can go to the equal run before them: up
    to a whitespace boundary, so a word is never cut."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    while n > 0 and not (
        a[n - 1].isspace() or ((n == len(a) or a[n].isspace()) and (n == len(b) or b[n].isspace()))
    ):
        n -= 1
    return n


def _common_suffix(a: str, b: str) -> int:
    """How much of the shared end of a and b can go to the equal run after them: it
    must start with whitespace."""
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    while n > 0 and not a[-n].isspace():
        n -= 1
    return n


def _trim(items: Iterable[Change]) -> Iterator[Change]:
    """Move what the two sides of a replacement share at its edges (whitespace, a whole
    word before a space) into the equal runs around it."""
    for c in items:
        if c.op != "replace":
            yield c
            continue
        head = _common_prefix(c.old, c.new)
        old, new = c.old[head:], c.new[head:]
        tail = _common_suffix(old, new) if old and new else 0
        if head:
            yield Change("equal", c.old[:head], c.old[:head])
        core_old, core_new = old[: len(old) - tail], new[: len(new) - tail]
        yield Change(_op(core_old, core_new), core_old, core_new)
        if tail:
            yield Change("equal", old[len(old) - tail :], old[len(old) - tail :])


def _absorb_gaps(items: list[Change]) -> list[Change]:
    """An equal run of only whitespace between two changes joins them ("the quick" ->
    "a slow" reads as one replacement, not two around a space)."""
    out: list[Change] = []
    i = 0
    while i < len(items):
        c = items[i]
        if (
            c.op == "equal"
            and out
            and out[-1].op != "equal"
            and i + 1 < len(items)
            and items[i + 1].op != "equal"
            and not c.old.strip()
            and "\n" not in c.old
        ):
            prev, nxt = out.pop(), items[i + 1]
            old, new = prev.old + c.old + nxt.old, prev.new + c.new + nxt.new
            out.append(Change(_op(old, new), old, new))
            i += 2
            continue
        out.append(c)
        i += 1
    return out


def changes(a: str, b: str) -> list[Change]:
    """The runs that turn ``a`` into ``b`` (see the module's docstring)."""
    return _absorb_gaps(_merge(_trim(_merge(_diff(a, b)))))


def words_changed(items: Iterable[Change]) -> tuple[int, int]:
    """(words added, words removed) over the changes, Chinese and Japanese characters
    counting as words."""
    added = removed = 0
    for c in items:
        if c.op != "equal":
            added += count_words(c.new)
            removed += count_words(c.old)
    return added, removed


def unified(a: str, b: str, name_a: str = "a", name_b: str = "b", context: int = 3) -> str:
    """A unified diff of the two texts by lines ("" when they are equal); a last line
    without a newline is marked the way ``patch`` expects."""
    out: list[str] = []
    for line in difflib.unified_diff(_lines(a), _lines(b), name_a, name_b, n=context):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
