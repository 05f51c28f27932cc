"""Harper, an offline English grammar checker (the optional ``harper-py`` package), as a
:data:`Checker`: a function from a text to the :class:`Fix` es it trusts.

Pure functions over texts: nothing here prints.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from quill.writing.minimal import spelling_variant


@dataclass(frozen=True)
class Fix:
    """A checker's correction of ``original[start:end]``."""

    start: int
    end: int
    replacement: str
    rule: str = ""  # the checker's kind of problem, e.g. "Spelling"
    message: str = ""
    sure: bool = True  # its only suggestion, or the only one that reads as a slip


Checker = Callable[[str], Sequence[Fix]]


# What Harper is trusted with, without asking the writer twice: these kinds of problem,
# with the extra checks below. Style, word choice, capitalization and formatting hints
# are left out: proofreading is not a rewrite (and "two spaces" ends a Markdown line).
TRUSTED = frozenset(
    {"Spelling", "Typo", "Repetition", "Agreement", "Grammar", "Punctuation", "BoundaryError"}
    | {"Miscellaneous", "Eggcorn", "Malapropism"}
)
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]+(?:'[a-z]+|')?")


def _worth_it(kind: str, problem: str, replacement: str, before: str, after: str) -> bool:
    if kind not in TRUSTED or problem == replacement:
        return False
    if kind == "Typo" and " " in replacement.strip() and " " not in problem.strip():
        return False  # "wether" -> "wet her"
    if kind == "Repetition":  # only a word said twice: "Its the" -> "Its" drops a word
        words = re.findall(r"[^\W_]+(?:'[^\W_]+)?", problem.casefold())
        if len(set(words)) == len(words):
            return False
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
    return not spelling_variant(problem, replacement)  # colour, catalogue: never "fixed"


def _case_like(problem: str, replacement: str) -> str:
    """Harper sometimes answers in capitals ("A" -> "AN"): follow the original's case."""
    if replacement.isupper() and not (problem.isupper() and len(problem) > 1):
        if problem[:1].isupper():
            return replacement[:1] + replacement[1:].lower()
        return replacement.lower()
    return replacement


def _slip(problem: str, option: str) -> bool:
    """Whether ``option`` differs from ``problem`` only by letters left out, doubled or
    added, or by letters swapped ("realy", "recieved", "wich", "fourty")."""
    a, b = problem.lower(), option.lower()
    if sorted(a) == sorted(b):
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    it = iter(long_)
    return len(short) < len(long_) and all(c in it for c in short)


def _likeliest(problem: str, options: Sequence[str]) -> tuple[str, bool]:
    """The checker's suggestion to make (its first that reads as a slip of the hand,
    else its first), and whether it is a sure one: the only suggestion, the first and a
    slip, or the only slip."""
    if len(options) == 1:
        return options[0], True
    slips = [o for o in options if _slip(problem, o)]
    return (slips or list(options))[0], bool(slips) and (slips[0] == options[0] or len(slips) == 1)


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
            start, end = lint.span.start, lint.span.end
            problem = text[start:end]
            options = []
            for s in lint.suggestions:
                if s.kind == harper.SuggestionKind.REPLACE:
                    new = s.replacement_text
                elif s.kind == harper.SuggestionKind.REMOVE:
                    new = ""
                else:  # INSERT_AFTER
                    new = problem + s.replacement_text
                options.append(_case_like(problem, new))
            if not options:
                continue
            new, sure = _likeliest(problem, options)
            if lint.lint_kind not in ("Spelling", "Typo"):
                new, sure = options[0], True  # a rule's own first answer
            if new.endswith(("'s", "’s")) and text[end : end + 1] in ("'", "’"):
                end += 1  # "childrens'" is one misspelt word: "children's", not "children's'"
                problem = text[start:end]
            before, after = text[max(0, start - 1) : start], text[end : end + 1]
            if _worth_it(lint.lint_kind, problem, new, before, after):
                out.append(Fix(start, end, new, lint.lint_kind, lint.message, sure))
        return out

    return check
