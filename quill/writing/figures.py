"""A document's key figures, shown to the model beside the document it summarizes.

A small model asked for a summary writes what a document is about ("The report presents
the results of a survey… Key findings include…") and leaves out what it found: the
numbers, dates and amounts an author's own abstract is made of. Shown the sentences
that carry the document's key figures again, after the document and just before the
request, it writes them into its summary. Show, don't tell: asking for "the key
figures" in words changed little. They are shown under "In short:" (``key_figures`` in
the summarize prompts), which reads as the author's own line: with no line above them
the 0.5B used them less, and a label that names them ("Its key figures:") came back in
the summary ("The key figures include…").

:func:`key_sentences` picks those sentences: from the document's prose passages (not
lists, tables, code or setup steps, and not a byline or caption), the ones that carry
a figure, ranked by how salient their passage is (:func:`quill.writing.salience.scored`:
the opening, the results and conclusion, the passages central to the whole), one for
every WORDS_PER_FIGURE words of the summary asked, in document order.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from quill.writing.chunk import sentence_ends
from quill.writing.metrics import normalize
from quill.writing.salience import scored

WORDS_PER_FIGURE = 40  # one key sentence shown per this many words of summary
MIN_SHOWN, MAX_SHOWN = 2, 6
MAX_SENTENCE_CHARS = 320  # a longer "sentence" is a run-on list, not a statement
MAX_CHARS = 900  # all the key sentences together: the room they take in the prompt

# A figure: a number with at least two digits, a decimal or a percentage ("126",
# "4.7", "96.2%", "2,300"), not inside a name ("P99", "s3"); a lone digit ("3 steps",
# "Part 2") is too common to count.
_FIGURE = re.compile(r"(?<![A-Za-z0-9_.])(?:\d[\d,，]*(?:\.\d+)?\s?%|\d+\.\d+|\d[\d,，]*\d)")
# Markdown's marks: emphasis and code spans, and a link's brackets and target ("[the
# report](https://…)" reads "the report"). An underscore inside a word is the word's own
# ("jinja_caps", "max_tokens"): taken out, the model wrote "jinjacaps" back.
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\s]*\)")
_MARKUP = re.compile(r"[*`]+|(?<![^\W_])_+|_+(?![^\W_])")
# A statement ends like one: a byline, a caption or a heading-like line does not.
_ENDED = re.compile(r"[.!?。！？][\"'”’）)]*$")


@dataclass(frozen=True)
class Candidate:
    text: str  # the sentence, markup stripped
    figures: frozenset[str]  # its figures, normalized
    score: float  # its passage's salience
    order: int  # its position in the document


def figures(text: str) -> frozenset[str]:
    """The figures in ``text``, as quill's metrics read them (:func:`metrics.normalize`:
    "2,300" and "２３００" are "2300"), a space before "%" dropped."""
    return frozenset(normalize(m.group()).replace(" ", "") for m in _FIGURE.finditer(text))


def _sentences(text: str) -> list[str]:
    cuts = [0, *sentence_ends(text), len(text)]
    out = []
    for a, b in itertools.pairwise(cuts):
        s = " ".join(_MARKUP.sub("", _LINK.sub(r"\1", text[a:b])).split())
        if s:
            out.append(s)
    return out


def candidates(text: str) -> list[Candidate]:
    """The sentences of ``text``'s prose that carry a figure, best first (by their
    passage's salience, then by how many figures they carry, then in order)."""
    items, scores = scored(text)
    out: list[Candidate] = []
    order = 0
    for p in items:
        if p.kind != "prose" or p.index not in scores:
            continue
        for s in _sentences(p.text):
            order += 1
            found = figures(s)
            if found and len(s) <= MAX_SENTENCE_CHARS and _ENDED.search(s):
                out.append(Candidate(s, found, scores[p.index], order))
    out.sort(key=lambda c: (-c.score, -len(c.figures), c.order))
    return out


def key_sentences(text: str, target_words: int) -> list[str]:
    """The sentences of ``text`` to show with it for a summary of ``target_words``, in
    document order: one per WORDS_PER_FIGURE words of summary (MIN_SHOWN to
    MAX_SHOWN), MAX_CHARS in all; none where its prose carries no figure."""
    k = min(max(MIN_SHOWN, round(target_words / WORDS_PER_FIGURE)), MAX_SHOWN)
    chosen: list[Candidate] = []
    used = 0
    for c in candidates(text):
        if len(chosen) == k:
            break
        if used + len(c.text) <= MAX_CHARS:
            chosen.append(c)
            used += len(c.text)
    return [c.text for c in sorted(chosen, key=lambda c: c.order)]
