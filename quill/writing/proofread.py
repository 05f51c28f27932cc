"""Proofreading: minimal corrections, each one a change the writer can accept or reject.

:class:`Proofreading` reads a text sentence by sentence (:func:`units`: fenced code,
tables and Markdown markers are never sent) and asks the model for each sentence's
corrected copy, shown by example in the template rather than described. Each reply is
compared with its sentence token by token, and a change is kept only when it is a
minimal edit (:mod:`quill.writing.minimal`: a few words, no deleted passage, no joined
line, no code, number or name touched, never a British/American spelling swap); a reply
that is a rewrite is retried once with another seed, then the sentence is left as it
was. Everything outside a kept change comes back byte for byte.

For English, a grammar checker (Harper, :mod:`quill.writing.harper`) reads the text
too: its sure fixes are made before the model reads the sentence, so the model sees
fewer slips and the two never disagree. Each edit says who found it: ``model``,
``checker``, or ``model+checker``. :func:`changes`-based :func:`edits`, :func:`merge`
and :func:`apply` also serve `quill rewrite --review`.

Pure functions and a Streamable over an Engine: nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quill.engine.base import Finish, Message, Result, Sampling
from quill.writing.diffing import Change, Op, changes
from quill.writing.harper import Checker, Fix
from quill.writing.harper import english_like as english_like  # re-exported
from quill.writing.harper import harper_checker as harper_checker  # re-exported
from quill.writing.minimal import Hunk, apply_hunks, hunks, rewritten, verdict

if TYPE_CHECKING:
    from quill.engine.base import Engine
    from quill.engine.generation import Generation

MODEL = "model"
CHECKER = "checker"
BOTH = "model+checker"


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


# -- sentence by sentence, each change gated ----------------------------------------------------

_PREFIX = re.compile(r"[ \t]*(?:(?:#{1,6}|[-*+]|\d{1,9}[.)]|>)[ \t]+(?:\[[ xX]\][ \t]+)?)*")
_SKIP = re.compile(r"[ \t]*(?:\||<|\[[^\]]*\]:|(?:[-*_=][ \t]*){3,}$)")


@dataclass(frozen=True)
class Unit:
    """A sentence of prose at ``start`` in the text (what is sent to the model)."""

    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def units(text: str, by_line: bool = False) -> list[Unit]:
    """The sentences of ``text`` to proofread (with ``by_line``, each line's sentences
    together): fenced code, tables, HTML and rules are left out, and a line's Markdown
    marker (heading, list item, quote) is never sent. Everything between units comes
    back as it is."""
    from quill.writing.diffing import sentences
    from quill.writing.verbs import split_code

    out: list[Unit] = []
    pos = 0
    for is_code, run in split_code(text):
        if is_code:
            pos += len(run)
            continue
        for line in run.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            if body.strip() and not _SKIP.match(body):
                at = _PREFIX.match(body)
                offset = at.end() if at else 0
                rest = body[offset:]
                for sentence in [rest] if by_line else sentences(rest):
                    core = sentence.strip()
                    if core and any(c.isalpha() for c in core):
                        lead = len(sentence) - len(sentence.lstrip())
                        out.append(Unit(pos + offset + lead, core))
                    offset += len(sentence)
            pos += len(line)
    return out


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def unit_messages(prompt: Mapping[str, Any], sentence: str) -> list[Message]:
    """The model's messages for one unit: the system text, the template's examples in
    the unit's script (an input in the user message and its corrected copy as the reply:
    shown rather than described), then the unit."""
    from quill import prompts

    user = str(prompt.get("user", "$text"))
    cjk = bool(_CJK_CHAR.search(sentence))
    out = [Message("system", str(prompt.get("system", "")).strip())]
    for ex in prompt.get("examples", []):
        if bool(ex.get("cjk", False)) == cjk:
            out.append(Message("user", prompts.render(user, text=ex["input"])))
            out.append(Message("assistant", ex["output"]))
    out.append(Message("user", prompts.render(user, text=sentence)))
    return [m for m in out if m.content]


def _tidy(reply: str) -> str:
    text = reply.strip()
    for tag in ("<text>", "</text>"):
        text = text.replace(tag, "")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1]
    return text.strip()


@dataclass
class UnitResult:
    unit: Unit
    sent: str  # what the model read (the sentence, with the checker's sure fixes made)
    reply: str
    kept: list[Hunk]  # the model's changes that passed the gate, in ``sent``'s coordinates
    rejected: list[tuple[Hunk, str]]  # the others, with why
    checked: list[Hunk]  # the checker's fixes made, in the sentence's coordinates
    text: str = ""  # the sentence as it comes back
    tries: int = 1


class Proofreading:
    """Proofread ``text`` sentence by sentence: a Streamable (iterate it, ``stop()``,
    ``close()``) whose result is the corrected text.

    The checker's fixes (``fixes()``, called when the work starts) that are sure ones
    (a single suggestion, passing the gate) are made first and the model reads the
    sentence with them (``checker_first``; else they are added afterwards where the
    model changed nothing). Each reply is compared with what the model read token by
    token and only minimal edits are kept (:func:`quill.writing.minimal.verdict`); a
    reply that is a rewrite is retried once with another seed, then the sentence keeps
    only the checker's fixes. ``edits()`` gives the changes, each credited."""

    def __init__(
        self,
        engine: Engine,
        params: Sampling,
        text: str,
        prompt: Mapping[str, Any],
        *,
        fixes: Callable[[], Sequence[Fix] | None] | None = None,
        checker_first: bool = True,
        retry: bool = True,
        unsure: bool = False,
    ) -> None:
        self.engine, self.params, self.text, self.prompt = engine, params, text, prompt
        self._fixes = fixes
        self.checker_first = checker_first
        self.retry = retry
        self.unsure = unsure  # also make a checker's fix that had several suggestions
        self.units = units(text, by_line=prompt.get("unit", "sentence") == "line")
        self.done_units: list[UnitResult] = []
        self.results: list[Result] = []
        self.current: Generation | None = None
        self.finish: Finish | None = None
        self.result: Result | None = None
        self.fixes: list[Fix] = []

    def _generate(self, sentence: str, params: Sampling) -> Iterator[str]:
        from quill.engine.generation import generate

        budget = int(self.engine.count(sentence) * 1.5) + 24
        p = params.with_(max_tokens=min(params.max_tokens, budget))
        gen = generate(self.engine, unit_messages(self.prompt, sentence), p)
        self.current = gen
        yield from gen
        self.current = None
        r = gen.close()
        self.results.append(r)
        if r.finish == "interrupted":
            self.finish = "interrupted"

    def _checker_hunks(self, unit: Unit) -> tuple[list[Hunk], list[Hunk]]:
        """The checker's fixes inside ``unit`` that pass the gate: (sure, unsure)."""
        sure: list[Hunk] = []
        unsure: list[Hunk] = []
        for f in self.fixes:
            if unit.start <= f.start and f.end <= unit.end:
                h = _hunk(unit, f)
                if not verdict(unit.text, h):
                    (sure if f.sure else unsure).append(h)
        return sure, unsure

    def _one(self, unit: Unit) -> Iterator[str]:
        sure, unsure = self._checker_hunks(unit)
        first = self.checker_first and bool(sure)
        sent = apply_hunks(unit.text, sure) if first else unit.text
        done = UnitResult(unit, sent, "", [], [], sure if first else [])
        for attempt in range(2 if self.retry else 1):
            params = self.params
            if attempt:
                params = self.params.with_(temperature=0.3, seed=(self.params.seed or 0) + 1)
            yield from self._generate(sent, params)
            if self.finish is not None:
                return
            reply = _tidy(self.results[-1].text)
            found = hunks(sent, reply)
            checked = [(h, verdict(sent, h) or _undoes(unit.text, sent, h)) for h in found]
            done.reply, done.tries = reply, attempt + 1
            done.kept = [h for h, why in checked if not why]
            done.rejected = [(h, why) for h, why in checked if why]
            if not rewritten(sent, found, len(done.rejected)):
                break
            done.kept, done.rejected = [], [(h, why or "part of a rewrite") for h, why in checked]
            if "\n" in reply:
                break  # a reply of several lines is not a sentence: no retry
        done.text = apply_hunks(sent, done.kept)
        if not first:  # the checker's fixes where the model changed nothing
            extra = [
                h for h in sure + (unsure if self.unsure else []) if not _touches(h, done.kept)
            ]
            done.checked = extra
            done.text = apply_hunks(sent, done.kept + extra)
        self.done_units.append(done)

    def __iter__(self) -> Iterator[str]:
        if self.finish is not None:
            return
        self.fixes = list((self._fixes() if self._fixes is not None else None) or ())
        pos = 0
        for unit in self.units:
            yield self.text[pos : unit.start]
            yield from self._one(unit)
            if self.finish is not None:
                return
            yield self.done_units[-1].text
            pos = unit.end
        yield self.text[pos:]
        self.finish = "stop"

    def stop(self, reason: str = "interrupted") -> None:
        if self.finish is None:
            self.finish = reason  # type: ignore[assignment]
        if self.current is not None:
            self.current.stop(reason)

    def corrected(self) -> str:
        """The text with every finished sentence as it comes back (the others as
        they were)."""
        out, pos = [], 0
        for u in self.done_units:
            out += [self.text[pos : u.unit.start], u.text]
            pos = u.unit.end
        out.append(self.text[pos:])
        return "".join(out)

    def edits(self) -> list[Edit]:
        """The changes, each credited to the model, the checker or both."""
        model: list[tuple[int, int, str]] = []
        fixes: list[Fix] = []
        for u in self.done_units:
            base = u.unit.start
            shift = _shifts(u.unit.text, u.sent)
            for h in u.kept:
                model.append((base + shift(h.start, False), base + shift(h.end, True), h.new))
            fixes += [Fix(base + h.start, base + h.end, h.new, "checker") for h in u.checked]
        out, pos = [], 0
        for a, b, new in sorted(model):
            if a >= pos:
                out += [self.text[pos:a], new]
                pos = b
        out.append(self.text[pos:])
        found = {(f.start, f.end, f.replacement): f for f in self.fixes}
        fixes = [found.get((f.start, f.end, f.replacement), f) for f in fixes]
        return edits(self.text, self.corrected(), "".join(out), fixes)

    def close(self) -> Result:
        from quill.engine.generation import finish_note
        from quill.writing.chain import sum_stats

        if self.result is not None:
            return self.result
        if self.finish is None:
            self.stop("interrupted")
        if self.current is not None:
            self.results.append(self.current.close())
            self.current = None
        finish: Finish = self.finish or "interrupted"
        note = finish_note(finish, self.params.max_tokens, what="proofread text")
        stats = sum_stats(r.stats for r in self.results)
        self.result = Result(self.corrected(), finish, stats, note)
        return self.result


def _undoes(original: str, sent: str, h: Hunk) -> str:
    """Why ``h`` may not be made: it puts back what a checker's fix changed."""
    if original == sent:
        return ""
    shift = _shifts(original, sent)
    a, b = shift(h.start, False), shift(h.end, True)
    return "undoes the checker's fix" if original[a:b] == h.new else ""


def _touches(h: Hunk, others: Sequence[Hunk]) -> bool:
    return any(_overlaps(h.start, h.end, o.start, o.end) for o in others)


def _hunk(unit: Unit, f: Fix) -> Hunk:
    a, b = f.start - unit.start, f.end - unit.start
    return Hunk(a, b, unit.text[a:b], f.replacement, (unit.text[a:b],), (f.replacement,))


def _shifts(original: str, sent: str) -> Callable[[int, bool], int]:
    """Map a position in ``sent`` (``original`` with some fixes made) back to
    ``original``; inside a changed run, to its start (or its end, with ``end``)."""
    runs = []
    pos_a = pos_b = 0
    for c in changes(original, sent):
        runs.append((pos_b, pos_b + len(c.new), pos_a, pos_a + len(c.old), c.op == "equal"))
        pos_a += len(c.old)
        pos_b += len(c.new)

    def shift(p: int, end: bool) -> int:
        for b0, b1, a0, a1, equal in runs:
            if b0 <= p <= b1:
                if equal:
                    return a0 + (p - b0)
                if p not in (b0, b1) or (end and p == b1) or (not end and p == b0):
                    return a1 if end else a0
        return len(original)

    return shift


def proofread_text(
    engine: Engine,
    params: Sampling,
    text: str,
    prompt: Mapping[str, Any],
    checker: Checker | None = None,
    **kw: Any,
) -> tuple[str, list[Edit], Proofreading]:
    """Proofread ``text`` to the end without a terminal: the corrected text, its edits
    (each credited to the model, the checker or both) and the run."""
    fixes = list(checker(text)) if checker is not None else []
    run = Proofreading(engine, params, text, prompt, fixes=lambda: fixes, **kw)
    for _ in run:
        pass
    final = run.close().text
    return final, run.edits(), run
