"""Proofreading: minimal corrections, each one a change the writer can accept or reject.

The model returns a corrected text; :func:`quill.writing.diffing.changes` turns the pair
into runs, and every run that is not equal is one :class:`Edit`. For English, a grammar
checker (Harper, through the optional ``harper-py`` package) also reads the original:
its fixes are added where the model left the text untouched, so an obvious slip is
caught even when a small model misses it. Each edit says who found it: ``model``,
``checker``, or ``model+checker`` when both proposed the same change.

Pure functions over texts (the checker is passed in): nothing here prints.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from quill.writing.diffing import Change, Op, changes

MODEL = "model"
CHECKER = "checker"
BOTH = "model+checker"


@dataclass(frozen=True)
class Fix:
    """A checker's correction of ``original[start:end]``."""

    start: int
    end: int
    replacement: str
    rule: str = ""  # the checker's kind of problem, e.g. "Spelling"
    message: str = ""


@dataclass(frozen=True)
class Edit:
    """One change: ``old`` at ``start`` in the original becomes ``new``."""

    index: int
    start: int
    old: str
    new: str
    by: str = MODEL
    why: str = ""  # the checker's message, when it found it

    @property
    def end(self) -> int:
        return self.start + len(self.old)


Checker = Callable[[str], Sequence[Fix]]


def _spans(items: Iterable[Change]) -> list[tuple[int, int, Change]]:
    """(start, end) in the old text of each run."""
    out = []
    pos = 0
    for c in items:
        out.append((pos, pos + len(c.old), c))
        pos += len(c.old)
    return out


def merge(original: str, corrected: str, fixes: Sequence[Fix]) -> tuple[str, list[Fix]]:
    """The corrected text with the checker's fixes added where the model changed
    nothing (where both touched the text, the model's version stands). Returns the text
    and the fixes that were applied."""
    out: list[str] = []
    used: list[Fix] = []
    ordered = sorted(fixes, key=lambda f: (f.start, f.end))
    for a, b, c in _spans(changes(original, corrected)):
        if c.op != "equal":
            out.append(c.new)
            continue
        pos = a
        for f in ordered:
            if f.start < pos or f.end > b or (f.start == f.end and f.start == b):
                continue  # outside this run, overlapping a previous fix, or at its edge
            out.append(original[pos : f.start])
            out.append(f.replacement)
            used.append(f)
            pos = f.end
        out.append(original[pos:b])
    return "".join(out), used


def _overlaps(start: int, end: int, a: int, b: int) -> bool:
    if start == end or a == b:  # an insertion touches what it is next to
        return a <= start <= b or start <= a <= end
    return start < b and a < end


def edits(
    original: str, final: str, model_text: str | None = None, fixes: Sequence[Fix] = ()
) -> list[Edit]:
    """The edits that turn ``original`` into ``final``, each credited to the model (its
    text was ``model_text``), the checker (``fixes``) or both."""
    model_spans = (
        [(a, b) for a, b, c in _spans(changes(original, model_text)) if c.op != "equal"]
        if model_text is not None
        else None
    )
    out: list[Edit] = []
    for a, b, c in _spans(changes(original, final)):
        if c.op == "equal":
            continue
        by_model = model_spans is None or any(_overlaps(a, b, x, y) for x, y in model_spans)
        found = [f for f in fixes if _overlaps(a, b, f.start, f.end)]
        agreeing = [
            f
            for f in found
            if a <= f.start
            and f.end <= b
            and original[a : f.start] + f.replacement + original[f.end : b] == c.new
        ]
        if by_model and agreeing:
            by, why = BOTH, agreeing[0].message
        elif by_model or not found:
            by, why = MODEL, ""
        else:
            by, why = CHECKER, "; ".join(dict.fromkeys(f.message for f in found if f.message))
        out.append(Edit(len(out), a, c.old, c.new, by, why))
    return out


def apply(original: str, chosen: Iterable[Edit]) -> str:
    """``original`` with the chosen edits made (the others left as they were)."""
    out: list[str] = []
    pos = 0
    for e in sorted(chosen, key=lambda e: e.start):
        out.append(original[pos : e.start])
        out.append(e.new)
        pos = e.end
    out.append(original[pos:])
    return "".join(out)


def context(original: str, edit: Edit, width: int = 60) -> list[Change]:
    """The edit with some of the text around it (cut at word boundaries, within its
    line), as runs for a word diff."""
    line_start = original.rfind("\n", 0, edit.start) + 1
    line_end = original.find("\n", edit.end)
    line_end = len(original) if line_end < 0 else line_end
    a = max(line_start, edit.start - width)
    b = min(line_end, edit.end + width)
    if a > line_start:
        space = original.find(" ", a, edit.start)
        a = space + 1 if space >= 0 else a
    if b < line_end:
        space = original.rfind(" ", edit.end, b)
        b = space if space >= 0 else b
    before, after = original[a : edit.start], original[edit.end : b]
    lead = "…" if a > line_start else ""
    tail = "…" if b < line_end else ""
    runs = [Change("equal", lead + before, lead + before)]
    op: Op = "replace" if edit.old and edit.new else ("insert" if edit.new else "delete")
    runs.append(Change(op, edit.old, edit.new))
    runs.append(Change("equal", after + tail, after + tail))
    return [r for r in runs if r.old or r.new]


# -- Harper, an offline English grammar checker (optional) ----------------------------------

# What Harper is trusted with, without asking the writer twice: these kinds of problem,
# with the extra checks below. Style, word choice, capitalization and formatting hints
# are left out: proofreading is not a rewrite (and "two spaces" ends a Markdown line).
TRUSTED = frozenset(
    {"Spelling", "Typo", "Repetition", "Agreement", "Grammar", "Punctuation", "BoundaryError"}
    | {"Miscellaneous", "Eggcorn", "Malapropism"}
)
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]+(?:'[a-z]+)?")


def _worth_it(kind: str, problem: str, replacement: str, before: str, after: str) -> bool:
    if kind not in TRUSTED or problem == replacement:
        return False
    if kind == "Typo" and " " in replacement.strip() and " " not in problem.strip():
        return False  # "wether" -> "wet her"
    if kind == "Spelling":
        # Only ordinary words: not names in capitals, not code (llama.cpp, snake_case,
        # Qwen2), not short words, and only a close suggestion.
        if not _PLAIN_WORD.fullmatch(problem) or len(problem) < 4:
            return False
        if (before and before in "._/-@#`") or (after and after in "_/@`"):
            return False
        ratio = difflib.SequenceMatcher(None, problem.lower(), replacement.lower()).ratio()
        if ratio < 0.75:
            return False
    return True


def _case_like(problem: str, replacement: str) -> str:
    """Harper sometimes answers in capitals ("A" -> "AN"): follow the original's case."""
    if replacement.isupper() and not (problem.isupper() and len(problem) > 1):
        if problem[:1].isupper():
            return replacement[:1] + replacement[1:].lower()
        return replacement.lower()
    return replacement


def english_like(text: str) -> bool:
    """For a text too short to tell its language by its words: written in plain Latin
    letters (English is the checker's only language)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) >= 0.95 * len(letters)


def harper_checker() -> Checker | None:
    """A checker on Harper (American English, Markdown-aware), or None when the
    ``harper-py`` package is not installed. Building it takes about a second."""
    try:
        import harper
    except ImportError:
        return None
    linter = harper.Linter()

    def check(text: str) -> list[Fix]:
        out: list[Fix] = []
        for lint in linter.lint(text):
            if not lint.suggestions:
                continue
            s = lint.suggestions[0]
            start, end = lint.span.start, lint.span.end
            problem = text[start:end]
            if s.kind == harper.SuggestionKind.REPLACE:
                new = s.replacement_text
            elif s.kind == harper.SuggestionKind.REMOVE:
                new = ""
            else:  # INSERT_AFTER
                new = problem + s.replacement_text
            new = _case_like(problem, new)
            before, after = text[max(0, start - 1) : start], text[end : end + 1]
            if _worth_it(lint.lint_kind, problem, new, before, after):
                out.append(Fix(start, end, new, lint.lint_kind, lint.message))
        return out

    return check


def summary(items: Sequence[Edit]) -> str:
    """ "3 changes (2 by the model, 1 by the checker)"."""
    n = len(items)
    if not n:
        return "no changes"
    counts = {k: sum(1 for e in items if e.by == k) for k in (MODEL, CHECKER, BOTH)}
    parts = []
    if counts[MODEL]:
        parts.append(f"{counts[MODEL]} by the model")
    if counts[CHECKER]:
        parts.append(f"{counts[CHECKER]} by the grammar checker")
    if counts[BOTH]:
        parts.append(f"{counts[BOTH]} by both")
    head = f"{n} change{'s' if n != 1 else ''}"
    return head + (f" ({', '.join(parts)})" if counts[CHECKER] or counts[BOTH] else "")
