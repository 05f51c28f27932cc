"""quill's own evaluation set: long documents with planted facts and reference
abstracts (``docs/NAME.md`` beside ``docs/NAME.toml``) and draft briefs
(``briefs.toml``). Shipped as package data; read with :func:`documents` and
:func:`briefs`.

The documents are written for this set (no outside text) and are longer than a
2,048-token context, so a summary of them must read past one context's worth; the
technical articles and reports are longer than a 4,096-token one. Each document
belongs to a split (``split`` in its TOML, "tune" when absent): tune prompts on one,
report figures on the other.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any


@dataclass(frozen=True)
class Fact:
    id: str
    forms: tuple[str, ...]  # accepted surface strings; any one of them counts
    position: float  # where it sits in the document, 0 (start) to 1 (end)


@dataclass(frozen=True)
class Document:
    name: str  # the file stem, e.g. "quenby-water"
    title: str
    lang: str  # "English", "Chinese"
    abstract: str  # a reference summary of 60-120 words
    text: str
    facts: tuple[Fact, ...]
    split: str = "tune"  # "tune" (develop prompts on it) or "report" (quote figures from it)

    @property
    def file_name(self) -> str:
        return f"{self.name}.md"


@dataclass(frozen=True)
class Brief:
    id: str
    brief: str
    form: str | None = None
    words: int | None = None
    tone: str | None = None
    lang: str = "English"  # the language the brief is written in
    split: str = "tune"  # as for documents: "tune" or "report"


def _root() -> Any:
    return files(__name__)


SPLITS = ("tune", "report")


def documents(names: list[str] | None = None, split: str | None = None) -> list[Document]:
    """The documents, in name order (only ``names`` when given, in that order; only
    those of ``split``, "tune" or "report", when given)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"no split named {split} (have {', '.join(SPLITS)})")
    docs = _root() / "docs"
    stems = sorted(p.name[: -len(".toml")] for p in docs.iterdir() if p.name.endswith(".toml"))
    if names is not None:
        unknown = [n for n in names if n not in stems]
        if unknown:
            raise KeyError(f"no document named {', '.join(unknown)} (have {', '.join(stems)})")
        stems = list(names)
    out = []
    for stem in stems:
        meta = tomllib.loads((docs / f"{stem}.toml").read_text(encoding="utf-8"))
        text = (docs / f"{stem}.md").read_text(encoding="utf-8")
        facts = tuple(
            Fact(f["id"], tuple(f["forms"]), float(f["position"])) for f in meta.get("facts", [])
        )
        doc_split = meta.get("split", "tune")
        if doc_split not in SPLITS:
            raise ValueError(f"{stem}.toml: split must be one of {', '.join(SPLITS)}")
        if split is not None and doc_split != split:
            continue
        out.append(
            Document(
                stem, meta["title"], meta["lang"], meta["abstract"].strip(), text, facts, doc_split
            )
        )
    return out


def briefs(ids: list[str] | None = None, split: str | None = None) -> list[Brief]:
    """The draft briefs, in file order (only ``ids`` when given, in that order; only
    those of ``split`` when given)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"no split named {split} (have {', '.join(SPLITS)})")
    raw = tomllib.loads((_root() / "briefs.toml").read_text(encoding="utf-8"))
    all_ = [
        Brief(
            b["id"],
            b["brief"],
            b.get("form"),
            b.get("words"),
            b.get("tone"),
            b.get("lang", "English"),
            b.get("split", "tune"),
        )
        for b in raw["briefs"]
    ]
    bad = [b.id for b in all_ if b.split not in SPLITS]
    if bad:
        raise ValueError(f"briefs.toml: split must be one of {', '.join(SPLITS)} ({bad[0]})")
    if split is not None:
        all_ = [b for b in all_ if b.split == split]
    if ids is None:
        return all_
    by_id = {b.id: b for b in all_}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise KeyError(f"no brief named {', '.join(unknown)} (have {', '.join(by_id)})")
    return [by_id[i] for i in ids]
