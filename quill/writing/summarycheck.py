"""The check a summary passes before anyone reads it: pure functions over strings.

A small model asked to summarize fails in a few ways the project's metrics see: it
copies the document out (long spans of its sentences, often from the title on), it
answers a request for prose with a list of the document's headings and items, it
writes a third of the length asked or three times it, it loops, or it talks about the
request. :func:`summary_verdict` names each problem (a failing summary is regenerated
with the next seed by :func:`quill.writing.retry.best_of`, and failing tries are ranked
by how far they fail: the copy rate, the share of list lines, how far the length is
from the length asked).

Tries that pass are ranked by what they carry: a bonus for each of the document's
figures the summary gives, a cost for each figure the document does not have (an
invented number) and for each name it does not have (:func:`invented_names`), and,
where two carry as much, the earlier try is kept (the first is written at the preset's
temperature, a later one hotter). Of two summaries that both
read well, a small model's tries differ most in what they found: one says "the survey
found coverage lower in some areas", the other gives the percentages. Measured on the
tune half (ctx 4096, seed 0, two tries of each of eight articles,
benchmarks/summary_tries.py, docs/summarize.md), the 0.5B carried 0.123 of the planted
facts at the length asked this way against 0.102 in its first tries, and the 1.5B 0.097
against 0.096; ranked as failing tries are, the choice fell on the later, hotter tries
that copied less and said less (0.064 and 0.051).
"""

from __future__ import annotations

import math
import re

from quill.writing import metrics
from quill.writing.figures import figures
from quill.writing.retry import Check, Verdict
from quill.writing.verbcheck import metric_problems

COPY_MAX = 0.6  # more of the summary's spans found verbatim in the document: a copy
LIST_MAX = 0.34  # more of a prose summary's lines are list items or headings: a list
LENGTH_RANGE = (0.35, 2.2)  # of the length asked: outside it, a summary fails
FIGURE_BONUS = 0.1  # off the penalty for each of the document's figures carried…
FIGURES_COUNTED = 6  # …up to this many (more is a list of numbers, not a summary)
INVENTED_COST = 0.3  # onto it for each figure that is not in the document

_LISTY = re.compile(r"^\s*(?:\\?[-*+•]|\d{1,3}\\?[.)、]|#{1,6})\s")  # "1\." too: escaped


def list_share(text: str) -> float:
    """The share of the text's lines that are list items or headings."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return sum(1 for ln in lines if _LISTY.match(ln)) / len(lines) if lines else 0.0


def summary_verdict(
    text: str,
    source: str,
    target_words: int,
    lang: str | None,
    prose: bool = True,
    source_figures: frozenset[str] | None = None,
) -> Verdict:
    """Problems of ``text`` as a summary of ``source`` asked at ``target_words`` (in
    ``lang``, None: the summary's own) and, where ``prose``, as prose; and a penalty
    that ranks them (``source_figures``: ``figures(source)``, when the caller has it
    already): a passing summary's counts only its figures (below 0 where it carries the
    document's), a failing one's also how far it fails."""
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
    known = figures(source) if source_figures is None else source_figures
    penalty = figures_penalty(text, known) + INVENTED_COST * len(invented_names(text, source))
    if problems:  # how far it fails, to rank failing tries
        penalty += copy + listy + abs(math.log(max(ratio, 0.05)))
    return Verdict(tuple(problems), penalty)


_SENTENCE_START = re.compile(r"(?:^|[.!?。！？:：]\s*|\n\s*)$")


def invented_names(text: str, source: str) -> list[str]:
    """Names in Latin letters with a word the document does not have (a plural's "s"
    aside: "Haulers" is the document's "Hauler"): the 1.5B wrote "South Africa" into a
    summary of a survey that names no country, and "Alibaba Cloud", its maker, into one
    of a storage review. A sentence's first word is not read as a name."""
    known = source.casefold()
    out = []
    for m in re.finditer(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*", text):
        if _SENTENCE_START.search(text[: m.start()]):
            continue
        name = m.group(0)
        words = re.split(r"[ -]", name.casefold())
        if any(w not in known and w.removesuffix("s") not in known for w in words):
            out.append(name)
    return list(dict.fromkeys(out))


def figures_penalty(text: str, source_figures: frozenset[str]) -> float:
    """What the summary's figures add to its penalty: FIGURE_BONUS off for each of the
    document's that it carries (FIGURES_COUNTED at most), INVENTED_COST on for each that
    the document does not have."""
    known = {f.rstrip("%") for f in source_figures}  # "12%" is the document's "12 per cent"
    found = figures(text)
    carried = sum(1 for f in found if f.rstrip("%") in known)
    invented = len(found) - carried
    return INVENTED_COST * invented - FIGURE_BONUS * min(carried, FIGURES_COUNTED)


def summary_check(source: str, target_words: int, lang: str | None, prose: bool = True) -> Check:
    """:func:`summary_verdict` as a check of one text (the document's figures found
    once)."""
    known = figures(source)
    return lambda text: summary_verdict(text, source, target_words, lang, prose, known)
