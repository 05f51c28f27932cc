"""The check a summary passes before anyone reads it: pure functions over strings.

A small model asked to summarize fails in a few ways the project's metrics see: it
copies the document out (long spans of its sentences, often from the title on), it
answers a request for prose with a list of the document's headings and items, it
writes a third of the length asked or three times it, it loops, or it talks about the
request. :func:`summary_verdict` names each problem (a failing summary is regenerated
with the next seed by :func:`quill.writing.retry.best_of`) and ranks passing ones by a
penalty: the copy rate, the share of list lines and how far the length is from the
length asked.
"""

from __future__ import annotations

import math
import re

from quill.writing import metrics
from quill.writing.retry import Check, Verdict
from quill.writing.verbcheck import metric_problems

COPY_MAX = 0.6  # more of the summary's spans found verbatim in the document: a copy
LIST_MAX = 0.34  # more of a prose summary's lines are list items or headings: a list
LENGTH_RANGE = (0.35, 2.2)  # of the length asked: outside it, a summary fails

_LISTY = re.compile(r"^\s*(?:\\?[-*+•]|\d{1,3}\\?[.)、]|#{1,6})\s")  # "1\." too: escaped


def list_share(text: str) -> float:
    """The share of the text's lines that are list items or headings."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return sum(1 for ln in lines if _LISTY.match(ln)) / len(lines) if lines else 0.0


def summary_verdict(
    text: str, source: str, target_words: int, lang: str | None, prose: bool = True
) -> Verdict:
    """Problems of ``text`` as a summary of ``source`` asked at ``target_words`` (in
    ``lang``, None: the summary's own) and, where ``prose``, as prose; and a penalty
    that ranks summaries that pass."""
    problems = metric_problems(text, source=source)
    if problems == ["is empty"]:
        return Verdict(("is empty",), 10.0)
    copy = metrics.copy_rate(text, source)
    if copy > COPY_MAX:
        problems.append(f"copies the document ({copy:.0%} of it in long spans)")
    listy = list_share(text) if prose else 0.0
    if listy > LIST_MAX:
        problems.append(f"is a list ({listy:.0%} of its lines), not prose")
    ratio = metrics.length_ratio(text, max(target_words, 1), lang)
    low, high = LENGTH_RANGE
    if not low <= ratio <= high:
        problems.append(f"is {ratio:.1f} times the length asked")
    penalty = copy + listy + abs(math.log(max(ratio, 0.05)))
    return Verdict(tuple(problems), penalty)


def summary_check(source: str, target_words: int, lang: str | None, prose: bool = True) -> Check:
    """:func:`summary_verdict` as a check of one text."""
    return lambda text: summary_verdict(text, source, target_words, lang, prose)
