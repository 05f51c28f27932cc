"""The verb texts of quill's evaluation set (``verbs.toml``): team messages to rewrite
with the facts they carry, Markdown texts to translate with the names that may stay as
written, and articles to title. Each text is in the "tune" or the "report" half.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files

SPLITS = ("tune", "report")


@dataclass(frozen=True)
class RewriteText:
    id: str
    split: str
    lang: str
    tone: str
    text: str
    facts: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class TranslateText:
    id: str
    split: str
    to: str
    text: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class TitlesText:
    id: str
    split: str
    lang: str
    n: int
    text: str


@dataclass(frozen=True)
class VerbTexts:
    rewrite: tuple[RewriteText, ...]
    translate: tuple[TranslateText, ...]
    titles: tuple[TitlesText, ...]

    def __len__(self) -> int:
        return len(self.rewrite) + len(self.translate) + len(self.titles)


def _split(entry: dict[str, object]) -> str:
    split = str(entry["split"])
    if split not in SPLITS:
        raise ValueError(f"verb text {entry.get('id')}: split must be tune or report, not {split}")
    return split


def verb_texts(split: str | None = None) -> VerbTexts:
    """The verb texts in file order; only those of ``split`` ("tune" or "report") when
    given."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split}")
    raw = tomllib.loads((files("quill.evalset") / "verbs.toml").read_text(encoding="utf-8"))
    rewrite = tuple(
        RewriteText(
            r["id"],
            _split(r),
            r["lang"],
            r["tone"],
            r["text"].strip(),
            tuple(tuple(f) for f in r["facts"]),
        )
        for r in raw.get("rewrite", [])
    )
    translate = tuple(
        TranslateText(t["id"], _split(t), t["to"], t["text"], tuple(t.get("names", [])))
        for t in raw.get("translate", [])
    )
    titles = tuple(
        TitlesText(t["id"], _split(t), t["lang"], int(t["n"]), t["text"].strip())
        for t in raw.get("titles", [])
    )
    if split is not None:
        rewrite = tuple(x for x in rewrite if x.split == split)
        translate = tuple(x for x in translate if x.split == split)
        titles = tuple(x for x in titles if x.split == split)
    return VerbTexts(rewrite, translate, titles)
