"""The proofreading set: short paragraphs with planted errors (``proofread.toml``),
each error recorded with its correct form, split into a tune half and a report half.
Read with :func:`paragraphs`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files

SPLITS = ("tune", "report", "all")


@dataclass(frozen=True)
class Planted:
    """An error: ``wrong`` at ``start`` in the text should read ``right``."""

    wrong: str
    right: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.wrong)


@dataclass(frozen=True)
class Paragraph:
    id: str
    split: str  # "tune" or "report"
    lang: str  # "English", "Chinese"
    text: str
    errors: tuple[Planted, ...]

    @property
    def reference(self) -> str:
        """The text with every planted error corrected."""
        out, pos = [], 0
        for e in sorted(self.errors, key=lambda e: e.start):
            out += [self.text[pos : e.start], e.right]
            pos = e.end
        out.append(self.text[pos:])
        return "".join(out)


def _planted(pid: str, text: str, wrong: str, right: str) -> Planted:
    start = text.find(wrong)
    if start < 0 or text.find(wrong, start + 1) >= 0:
        raise ValueError(f"{pid}: `{wrong}` must occur exactly once in the text")
    return Planted(wrong, right, start)


def paragraphs(split: str = "all", lang: str | None = None) -> list[Paragraph]:
    """The paragraphs of one split ("tune", "report" or "all"), in file order; only
    those in ``lang`` when given."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    data = tomllib.loads((files("quill.evalset") / "proofread.toml").read_text("utf-8"))
    out = []
    for p in data["paragraph"]:
        errors = tuple(_planted(p["id"], p["text"], e["wrong"], e["right"]) for e in p["errors"])
        para = Paragraph(p["id"], p["split"], p["lang"], p["text"], errors)
        if (split in ("all", para.split)) and (lang is None or para.lang == lang):
            out.append(para)
    return out
