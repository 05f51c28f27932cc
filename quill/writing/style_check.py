"""A styled draft checked against the writer's figures: :class:`CheckedDraft` measures a
draft with :mod:`quill.writing.stylometry` before it is shown and writes it once more,
with another seed, when it strays far; :func:`check_report` is `quill style check`.

Nothing here prints.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quill.engine.base import Result, Sampling
from quill.signals import ABORT
from quill.writing import stylometry as sm
from quill.writing.style import SHOWN, Profile, instructions


@dataclass
class Attempt:
    seed: int | None
    result: Result
    distance: float
    strays: list[str]


COPY_LIMIT = 0.2  # a draft with more of its word runs taken from the passages copies them


def check(profile: Profile, text: str) -> tuple[float, list[str]]:
    """How far ``text`` is from the voice (one number: the figures' distance, plus the
    share of the draft copied from the writer's passages) and how it strays far."""
    fig = sm.measure(text, profile.script)
    why = sm.strays(profile.figures, fig, profile.script)
    copied = sm.copy_share(text, profile.passages, profile.script)
    if copied > COPY_LIMIT:
        why.append(f"copies the passages it was shown ({copied:.0%} of its word runs)")
    return round(sm.overall(sm.compare(profile.figures, fig, profile.script)) + copied, 3), why


class CheckedDraft:
    """A styled draft, measured before it is shown: one that strays far from the voice
    (:func:`stylometry.strays`) is written once more with another seed, and the closer
    of the two is streamed; with ``best_of`` N above 1, N drafts are written (seeds
    counting up) and the closest kept. ``notes`` says what happened (empty when the
    first was kept without a retry)."""

    def __init__(
        self,
        start: Callable[[Sampling], Any],
        params: Sampling,
        profile: Profile,
        best_of: int = 1,
    ) -> None:
        self.start = start
        self.params = params
        self.profile = profile
        self.best_of = max(best_of, 1)
        self.listeners: list[Any] = []
        self.attempts: list[Attempt] = []
        self.current: Any = None
        self.stopped = False
        self.chosen: Attempt | None = None
        self.result: Result | None = None
        self.notes: list[str] = []
        self._shown = ""

    def add_listener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def _run(self, params: Sampling) -> Attempt:
        gen = self.start(params)
        self.current = gen
        for _ in gen:
            if self.stopped or ABORT.raised:  # Ctrl-C: nothing is shown yet to notice it
                self.stopped = True
                gen.stop("interrupted")
                break
        result = gen.close()
        d, why = check(self.profile, result.text)
        attempt = Attempt(params.seed, result, d, why)
        self.attempts.append(attempt)
        return attempt

    def __iter__(self) -> Iterator[str]:
        if self.chosen is not None or self.stopped:
            return
        first = self._run(self.params)
        chosen = first
        if self.best_of > 1:
            for i in range(1, self.best_of):
                if self.stopped:
                    break
                self._run(self.params.with_(seed=(self.params.seed or 0) + i))
            done = [a for a in self.attempts if a.result.finish != "interrupted"] or [first]
            chosen = min(done, key=lambda a: a.distance)
            others = ", ".join(f"{a.distance:.2f}" for a in self.attempts if a is not chosen)
            self.notes.append(
                f"style: wrote {len(self.attempts)} drafts, kept the closest to "
                f"`{self.profile.name}` (seed {chosen.seed}, distance {chosen.distance:.2f}; "
                f"the others {others or '-'})"
            )
        elif first.strays and not self.stopped and first.result.finish != "interrupted":
            seed = (self.params.seed or 0) + 1
            second = self._run(self.params.with_(seed=seed))
            if second.result.finish != "interrupted" and second.distance < first.distance:
                chosen = second
            self.notes.append(
                f"style: the first draft strayed from `{self.profile.name}` "
                f"({'; '.join(first.strays)}), so it was written again with seed {seed}; "
                f"kept the {'second' if chosen is second else 'first'} "
                f"(distance {chosen.distance:.2f}, the other {_other(chosen, first, second):.2f})"
            )
        self.chosen = chosen
        yield from self._show(chosen.result.text)

    def _show(self, text: str) -> Iterator[str]:
        for piece in re.split(r"(?<=\n)", text):
            if piece:
                self._shown += piece
                for listener in self.listeners:
                    listener.on_text(piece)
                yield piece

    def stop(self, reason: str = "interrupted") -> None:
        self.stopped = True
        if self.current is not None:
            self.current.stop(reason)

    def close(self) -> Result:
        if self.result is not None:
            return self.result
        if self.chosen is None:  # stopped while a draft was being written: keep it
            if self.current is not None:
                last = self.current.close()
                self.attempts.append(Attempt(None, last, 0.0, []))
            best = self.attempts[0] if self.attempts else None
            text = best.result.text if best else ""
            if text and not self._shown:
                for listener in self.listeners:
                    listener.on_text(text)
            base = best.result if best else Result("", "interrupted")
            self.result = Result(text, "interrupted", base.stats, base.note, base.signal)
        else:
            self.result = self.chosen.result
            if self._shown != self.result.text:  # stopped while it was being shown
                r = self.result
                self.result = Result(self._shown, "interrupted", r.stats, r.note, r.signal)
        for listener in self.listeners:
            meta = getattr(listener, "done_meta", None)
            if isinstance(meta, dict) and self.chosen is not None:
                meta["style_check"] = {
                    "distance": self.chosen.distance,
                    "seed": self.chosen.seed,
                    "attempts": len(self.attempts),
                }
            listener.on_done(self.result)
        return self.result


def _other(chosen: Attempt, a: Attempt, b: Attempt) -> float:
    return (b if chosen is a else a).distance


def check_report(profile: Profile, text: str) -> dict[str, Any]:
    """How close ``text`` is to the voice: each figure (the writer's, the text's, the
    distance), the overall distance, and how it strays far (if it does)."""
    fig = sm.measure(text, profile.script)
    rows = sm.compare(profile.figures, fig, profile.script)
    return {
        "style": profile.name,
        "figures": [
            {
                "figure": r.figure.key,
                "label": r.figure.label,
                "writer": r.writer,
                "text": r.text,
                "distance": round(r.distance, 2),
            }
            for r in rows
        ],
        "distance": sm.overall(rows),
        "strays": sm.strays(profile.figures, fig, profile.script),
    }


def check_lines(data: dict[str, Any]) -> list[str]:
    rows = data["figures"]
    width = max((cells(r["label"]) for r in rows), default=10)
    lines = [f"  {pad('figure', width)}  {'writer':>7}  {'text':>7}  distance"]
    for r in rows:
        bar = "#" * round(r["distance"] * 4)
        lines.append(
            f"  {pad(r['label'], width)}  {num(r['writer']):>7}  {num(r['text']):>7}  "
            f"{r['distance']:.2f} {bar}".rstrip()
        )
    lines += ["", f"distance from `{data['style']}`: {data['distance']:.2f} (0 is a match)"]
    if data["strays"]:
        lines.append("strays far: " + "; ".join(data["strays"]))
    return lines


# -- what `style show` and `style check` print -----------------------------------------


def describe(profile: Profile, user_dir: Path | None = None) -> list[str]:
    """The profile as a writer reads it: what it was learned from, the figures, the
    habits drafts are told, the characteristic words, the tone and the passages kept."""
    unit = "characters" if profile.script == sm.ZH else "words"
    lines = [
        f"style {profile.name}: {profile.language or profile.script}, learned from "
        f"{profile.samples} samples ({profile.words:,} {unit})"
        + (f" on {profile.created[:10]}" if profile.created else ""),
        "",
    ]
    rows = [(f.label, f.key) for f in sm.FIGURES[profile.script] if f.key in profile.figures]
    width = max((cells(label) for label, _ in rows), default=10)
    lines += [f"  {pad(label, width)}  {num(profile.figures[key])}" for label, key in rows]
    lines.append("")
    habits = instructions(profile, user_dir)
    lines.append("drafts are told: " + ("; ".join(habits) if habits else "(nothing)"))
    if profile.habits:
        lines.append("words and phrases you come back to: " + ", ".join(profile.habits))
    lines.append("tone (named by the model): " + (profile.tone or "(none)"))
    lines.append(
        f"passages kept: {len(profile.passages)} (a draft sees the {SHOWN} closest to its brief)"
    )
    return lines


def cells(text: str) -> int:
    """Columns ``text`` takes in a terminal (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(width - cells(text), 0)


def num(v: float) -> str:
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
