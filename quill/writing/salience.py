"""Select, then write: the passages of a long document worth reading, within one context.

A small model summarizes best what it reads in one go, and the passages an author's
own abstract is written from are not spread evenly: the opening states what the piece
is about, the conclusion what came of it, and the paragraphs most central to the whole
carry its argument. Install steps, requirement lists, configuration, code and tables
are what a long technical article is made of and what its abstract leaves out.

:func:`select` splits a document into passages (:func:`passages`), scores each
(:func:`score`) and keeps the best of them that fit a token budget, in document order,
with the headings of the sections they come from. Nothing here calls a model; the
summarizer writes once from the selection and says what it left out.

Scores, each 0-1, weighed in :data:`WEIGHTS`:

- lead: the first paragraphs of the document (they say what it is about);
- section: a section whose heading names an abstract, introduction, overview, results
  or conclusion (摘要, 引言, 总结, 结论…) scores high; one that names setup, install,
  configuration, requirements, references or an appendix scores low;
- central: how close the passage's terms are to the whole document's (cosine of tf-idf
  vectors over words, or character pairs for Chinese and Japanese);
- topic: the first paragraph of a section (where its point is stated).

The kind of passage multiplies the score: prose 1, lists and quotes lower, tables and
commands near zero; code blocks and author/date lines are never selected. A short
passage, and one that ends with a colon (it leads into a list, a command or code),
count for half.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from quill.engine.length import CJK
from quill.writing.chunk import blocks

Count = Callable[[str], int]

WEIGHTS = {"lead": 0.30, "section": 0.25, "central": 0.35, "topic": 0.10}
KIND_FACTOR = {"prose": 1.0, "quote": 0.6, "list": 0.3, "table": 0.05, "command": 0.0}
LEAD_PASSAGES = 4  # the lead score falls from 1 to 0 over this many prose passages
MIN_CHARS = 24  # a shorter passage (a caption, a stray line) counts for less
KEEP_LEAD = 2  # the first prose passages always kept, where they fit
MIN_SCORE = 0.15  # below this a passage is left out even where there is room for it

_GOOD = re.compile(
    r"摘要|概要|概述|简介|介绍|引言|前言|背景|动机|目标|总结|小结|结论|结语|结果|发现|"
    r"讨论|展望|效果|评估|对比|成果|意义|"
    r"\b(?:abstract|summary|overview|introduction|intro|background|motivation|goals?|"
    r"conclusions?|concluding|results?|findings|discussion|outcomes?|evaluation|"
    r"takeaways?|lessons|impact|what we learned|why)\b",
    re.I,
)
_BEST = re.compile(
    r"摘要|概要|概述|引言|总结|结论|结语|\b(?:abstract|summary|conclusions?|introduction)\b",
    re.I,
)
_POOR = re.compile(
    r"安装|部署步骤|环境|依赖|配置|准备|要求|步骤|命令|代码|示例|附录|参考|致谢|许可|版权|"
    r"目录|常见问题|FAQ|"
    r"\b(?:install(?:ation|ing)?|setup|set-up|requirements?|prerequisites?|config(?:uration)?|"
    r"dependencies|usage|commands?|code|examples?|appendix|references?|bibliography|"
    r"acknowledg(?:e)?ments?|licen[cs]e|table of contents|contents|faq|changelog|"
    r"further reading|see also)\b",
    re.I,
)
_META = re.compile(
    r"^\s*(?:[*_>]*\s*)(?:作者|日期|时间|发布|发表|来源|原文|转载|标签|分类|阅读|关键词|"
    r"author|by|date|published|updated|posted|tags?|categories|keywords|source|"
    r"reading time)\s*[:：]",
    re.I,
)
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)、]|[（(]\d{1,3}[)）])\s+")
_TABLE = re.compile(r"^\s*\|.*\|\s*$")
_COMMAND = re.compile(r"^\s*(?:\$|#|>>>|PS>|C:\\)\s|^\s{4,}\S|^\s*(?:sudo|pip|npm|git|docker)\s")
_LINKS = re.compile(r"!?\[[^\]]*\]\([^)]*\)|https?://\S+")
_CJK = re.compile(f"[{CJK}]")
_CJK_RUN = re.compile(f"[{CJK}]+")
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "the and for that this with from are was were have has had not but you your our their "
        "they them its which will would can could should into than then also been being about "
        "there these those such more most other some any all each one two when where what who "
        "how why use used using very just only over under between after before while",
    )
)
_CJK_STOP_CHARS = frozenset("的了是在和与及或也就都而且这那个我们你他它之其着被把")


@dataclass(frozen=True)
class Passage:
    index: int
    text: str
    kind: str  # prose, list, quote, table, command, code, heading, meta
    path: tuple[str, ...]  # the heading path it sits under
    level: int = 0  # a heading's level


@dataclass
class Selection:
    """What :func:`select` kept: ``text`` (the passages, with their section headings,
    in document order) and an account of what was left out."""

    text: str
    tokens: int  # count(text)
    total_tokens: int  # the document's
    kept: list[Passage] = field(default_factory=list)
    prose: int = 0  # prose passages in the document
    prose_kept: int = 0
    left_kinds: Counter[str] = field(default_factory=Counter)  # passages left out, by kind

    @property
    def whole(self) -> bool:
        return self.tokens >= self.total_tokens

    def describe(self) -> str:
        """One line for the report: what was read to write the summary."""
        parts = [f"wrote from {self.tokens:,} of {self.total_tokens:,} tokens"]
        parts.append(
            f"the opening, the conclusion and the most central passages "
            f"({self.prose_kept} of {self.prose} paragraphs)"
        )
        names = (("code", "code block"), ("table", "table"), ("list", "list"))
        left = [
            f"{n} {name}{'' if n == 1 else 's'}"
            for kind, name in names
            if (n := self.left_kinds.get(kind, 0))
        ]
        if left:
            parts.append("left out " + ", ".join(left))
        return "; ".join(parts)


def _kind(text: str, block_kind: str) -> str:
    if block_kind in ("code", "heading"):
        return block_kind
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "meta"
    if all(_TABLE.match(ln) for ln in lines):
        return "table"
    if _META.match(lines[0]) and len(text.strip()) < 200:
        return "meta"
    if not _LINKS.sub("", text).strip(" \n\t*_-|>·•"):
        return "meta"  # only links or images
    items = sum(1 for ln in lines if _ITEM.match(ln))
    if items and items * 2 >= len(lines):
        return "list"
    if sum(1 for ln in lines if _COMMAND.match(ln)) * 2 >= len(lines):
        return "command"
    if all(ln.lstrip().startswith(">") for ln in lines):
        return "quote"
    return "prose"


def passages(text: str) -> list[Passage]:
    """The document's headings, paragraphs, lists, tables and code blocks, in order."""
    out: list[Passage] = []
    for b in blocks(text):
        if not b.text.strip():
            continue
        out.append(Passage(len(out), b.text, _kind(b.text, b.kind), b.path, b.level))
    return out


def terms(text: str) -> Counter[str]:
    """Words (3+ letters, no stopwords) and pairs of CJK characters in ``text``."""
    text = _LINKS.sub(" ", text)
    found: Counter[str] = Counter(
        w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP
    )
    for run in _CJK_RUN.findall(text):
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if pair[0] not in _CJK_STOP_CHARS and pair[1] not in _CJK_STOP_CHARS:
                found[pair] += 1
    return found


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def _section_score(path: tuple[str, ...]) -> float:
    if not path:
        return 0.5
    inner = path[-1]
    whole = " ".join(path)
    if _BEST.search(inner):
        return 1.0
    if _POOR.search(inner):
        return 0.0
    if _GOOD.search(inner):
        return 0.8
    if _POOR.search(whole):
        return 0.15
    return 0.4


def score(items: Sequence[Passage]) -> dict[int, float]:
    """A score for every selectable passage (by index); code, headings and meta get none."""
    candidates = [p for p in items if p.kind in KIND_FACTOR]
    if not candidates:
        return {}
    counts = [terms(p.text) for p in candidates]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    n = len(candidates)
    idf = {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}
    vectors = [{t: (1 + math.log(v)) * idf[t] for t, v in c.items()} for c in counts]
    whole: dict[str, float] = {}
    for c in counts:
        for t, v in c.items():
            whole[t] = whole.get(t, 0.0) + v
    centroid = {t: (1 + math.log(v)) * idf[t] for t, v in whole.items()}
    central = [_cosine(v, centroid) for v in vectors]
    top = max(central) or 1.0
    prose_rank = 0
    previous_path: tuple[str, ...] | None = None
    scores: dict[int, float] = {}
    for p, closeness in zip(candidates, central, strict=True):
        lead = 0.0
        if p.kind == "prose":
            lead = max(0.0, 1.0 - prose_rank / LEAD_PASSAGES)
            prose_rank += 1
        topic = 1.0 if p.path != previous_path else 0.0
        previous_path = p.path
        s = (
            WEIGHTS["lead"] * lead
            + WEIGHTS["section"] * _section_score(p.path)
            + WEIGHTS["central"] * (closeness / top)
            + WEIGHTS["topic"] * topic
        )
        size = len(_CJK.findall(p.text)) * 2 + len(p.text.split())
        if size < MIN_CHARS:
            s *= 0.5
        if p.text.rstrip().endswith((":", "：")):
            s *= 0.5  # it leads into what follows (a list, a command, code)
        scores[p.index] = s * KIND_FACTOR[p.kind]
    return scores


@functools.lru_cache(maxsize=2)
def scored(text: str) -> tuple[tuple[Passage, ...], Mapping[int, float]]:
    """:func:`passages` of ``text`` and their :func:`score`, read only. Kept for the
    last texts asked: a summary's plan looks for the key figures
    (:mod:`quill.writing.figures`) and selects from the same document, and both rank
    its passages alike."""
    items = passages(text)
    return tuple(items), MappingProxyType(score(items))


def _heading_line(p: Passage) -> str:
    return p.text.strip().splitlines()[0] if p.text.strip() else ""


def select(text: str, budget: int, count: Count) -> Selection:
    """The best passages of ``text`` within ``budget`` tokens (``count`` counts them),
    in document order, each under the headings of its section (a heading is shown once,
    and only above a passage that was kept)."""
    items, scores = scored(text)
    total = count(text)
    prose = [p for p in items if p.kind == "prose"]
    sizes = {i: count(items[i].text) for i in scores}
    title = next((p for p in items if p.kind == "heading" and p.level == 1), None)
    used = count(_heading_line(title)) + 1 if title is not None else 0
    chosen: set[int] = set()
    # The opening first, then the rest by score; a passage that does not fit is skipped
    # for a smaller one further down the list.
    order = [p.index for p in prose[:KEEP_LEAD]]
    order += sorted((i for i in scores if scores[i] >= MIN_SCORE), key=lambda i: (-scores[i], i))
    headings_cost = 12  # room kept for the section headings shown above kept passages
    for i in order:
        if i in chosen:
            continue
        if used + sizes[i] + headings_cost <= budget:
            chosen.add(i)
            used += sizes[i] + 2
    out: list[str] = []
    if title is not None:
        out.append(_heading_line(title))
    shown: tuple[str, ...] = (title.path if title is not None else ())[:1]
    by_text = {p.path: p for p in items if p.kind == "heading"}
    for p in items:
        if p.index not in chosen:
            continue
        # The headings of this passage's section that are not shown yet.
        for depth in range(1, len(p.path) + 1):
            sub = p.path[:depth]
            if shown[:depth] != sub and sub in by_text:
                h = by_text[sub]
                if h is not title:
                    out.append(_heading_line(h))
        shown = p.path
        out.append(p.text.strip())
    body = "\n\n".join(out)
    # The headings may have pushed it over: drop the lowest-scored passages until it fits.
    while count(body) > budget and chosen:
        worst = min(chosen, key=lambda i: (scores.get(i, 0.0), -i))
        chosen.discard(worst)
        kept = [p for p in items if p.index in chosen]
        body = "\n\n".join(
            ([_heading_line(title)] if title is not None else []) + [p.text.strip() for p in kept]
        )
    kept_items = [p for p in items if p.index in chosen]
    left = Counter(p.kind for p in items if p.index not in chosen and p.kind not in ("heading",))
    return Selection(
        text=body,
        tokens=count(body),
        total_tokens=total,
        kept=kept_items,
        prose=len(prose),
        prose_kept=sum(1 for p in kept_items if p.kind == "prose"),
        left_kinds=left,
    )
