"""A voice measured with code: the figures of a text (sentence and paragraph length,
person, tense, contractions, questions, dialogue, headings and lists, vocabulary,
punctuation habits), the same figures for Chinese in characters, and how far a text is
from a writer's figures, figure by figure and overall.

Everything here is counting: no model, nothing printed. English and Chinese have their
own figures (:data:`FIGURES`); a text is measured by the one its script is mostly in.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from quill.writing.stylewords import (
    _NOT_PAST,
    _PAST,
    _STOP,
    _ZH_FUNCTION,
    COMMON,
    COMMON_ADVERBS,
    IDIOMS,
)
from quill.writing.textstats import text_stats

EN, ZH = "en", "zh"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def script_of(text: str) -> str:
    """``"zh"`` for a text mostly in Chinese characters, else ``"en"``."""
    return ZH if text_stats(text).mostly_cjk else EN


# -- blocks: paragraphs, headings, list items ---------------------------------------------

_HEADING = re.compile(r"^\s{0,3}(?:#{1,6}\s+\S|\*\*[^*].*\*\*:?\s*$|__[^_].*__\s*$)")
_RULE = re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$")
_LIST = re.compile(r"^\s*(?:[-*+•]\s+|\d{1,3}[.)、]\s*|[（(]?[一二三四五六七八九十]+[)）、.]\s*)\S")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_TABLE = re.compile(r"^\s*\|")
_ENDS = tuple(".!?…。！？\"'”’)）」』")


@dataclass
class Blocks:
    paragraphs: list[str]  # prose, lines joined
    headings: int  # headings, bold title lines and rules
    items: int  # list items


def blocks(text: str) -> Blocks:
    """The prose paragraphs of a Markdown or plain text, and its headings and list items
    (code and tables are left out). Lines that each end a sentence are paragraphs of
    their own, as plain text and Chinese often write them; else a blank line ends one."""
    paras: list[str] = []
    headings = items = 0
    run: list[str] = []
    in_code = False

    def flush() -> None:
        if not run:
            return
        lines = [ln.strip() for ln in run]
        cjk = script_of("".join(lines)) == ZH
        if len(lines) > 1 and all(ln.endswith(_ENDS) for ln in lines):
            paras.extend(lines)
        else:
            paras.append(("" if cjk else " ").join(lines))
        run.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            flush()
            in_code = not in_code
            continue
        if in_code:
            continue
        if not line.strip():
            flush()
        elif _RULE.match(line) or _HEADING.match(line):
            flush()
            headings += 1
        elif _LIST.match(line):
            flush()
            items += 1
        elif _TABLE.match(line):
            flush()
        else:
            run.append(line.lstrip("> ").strip() if line.lstrip().startswith(">") else line)
    flush()
    return Blocks([p for p in paras if p.strip()], headings, items)


# -- sentences and words -------------------------------------------------------------------

_ABBREV = _words(
    "mr mrs ms dr prof st jr sr vs etc e.g i.e cf no fig approx dept est inc ltd co mt "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_EN_END = re.compile(r"(?:[.!?]+|…|\.\.\.)[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9]|\s*$)")
_ZH_END = re.compile(r"(?:[。！？!?]+|……)[”’」』）)]*")
WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*(?:-[A-Za-z]+)*|\d+(?:[.,]\d+)*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def sentences(paragraph: str, lang: str | None = None) -> list[str]:
    """The sentences of one paragraph. English ends a sentence at . ! ? or an ellipsis
    before a capital (not after Mr., e.g., a decimal or an initial); Chinese at 。！？."""
    lang = lang or script_of(paragraph)
    if lang == ZH:
        out, start = [], 0
        for m in _ZH_END.finditer(paragraph):
            out.append(paragraph[start : m.end()])
            start = m.end()
        out.append(paragraph[start:])
        return [s.strip() for s in out if _HAN.search(s) or WORD.search(s)]
    out, start = [], 0
    for m in _EN_END.finditer(paragraph):
        before = paragraph[start : m.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        single = m.group().startswith(".") and not m.group().startswith("...")
        if single and (last in _ABBREV or (len(last) == 1 and last.isalpha())):
            continue
        out.append(paragraph[start : m.end()])
        start = m.end()
    out.append(paragraph[start:])
    return [s.strip() for s in out if WORD.search(s)]


def words(text: str) -> list[str]:
    return WORD.findall(text)


# -- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: float  # a difference of this size counts as 1 …
    rel: float = 0.0  # … plus this share of the writer's own figure
    weight: float = 1.0


def _shared(unit: str) -> tuple[Figure, ...]:
    return (
        Figure("paragraph_sentences", "sentences per paragraph", 1.0, 0.3, 1.5),
        Figure("questions_per_100", "questions per 100 sentences", 8.0, 0.3, 0.5),
        Figure("exclamations_per_100", "exclamations per 100 sentences", 5.0, 0.3, 1.0),
        Figure("dialogue_per_100", "paragraphs with dialogue, per 100", 15.0, 0.3, 0.5),
        Figure("headings_per_100", "headings and rules per 100 paragraphs", 5.0, 0.3, 2.0),
        Figure("list_items_per_100", "list items per 100 blocks", 5.0, 0.3, 1.5),
        Figure("first_singular", f"first person (I) per 1000 {unit}", 10.0, 0.3, 1.5),
        Figure("first_plural", f"first person plural (we) per 1000 {unit}", 8.0, 0.3, 1.0),
        Figure("second_person", f"second person (you) per 1000 {unit}", 8.0, 0.3, 1.5),
        Figure("third_person", f"third person (he, she, they) per 1000 {unit}", 10.0, 0.3, 0.5),
        Figure("dashes", f"dashes per 1000 {unit}", 3.0, 0.3, 0.5),
        Figure("semicolons", f"semicolons per 1000 {unit}", 2.0, 0.3, 0.5),
        Figure("ellipses", f"ellipses per 1000 {unit}", 2.0, 0.3, 0.3),
    )


FIGURES: dict[str, tuple[Figure, ...]] = {
    EN: (
        Figure("sentence_words", "words per sentence", 2.0, 0.25, 3.0),
        Figure("sentence_words_sd", "spread of sentence length (sd)", 2.0, 0.3, 1.0),
        *_shared("words"),
        Figure("contractions", "contractions per 1000 words", 8.0, 0.3, 1.5),
        Figure("past_tense", "past tense, % of verbs after a subject", 20.0, 0.0, 1.0),
        Figure("commas_per_sentence", "commas per sentence", 0.4, 0.3, 0.7),
        Figure("word_letters", "letters per word", 0.25, 0.0, 1.0),
        Figure("rare_words", "uncommon words per 100", 6.0, 0.2, 1.0),
    ),
    ZH: (
        Figure("sentence_chars", "characters per sentence", 4.0, 0.25, 3.0),
        Figure("sentence_chars_sd", "spread of sentence length (sd)", 4.0, 0.3, 1.0),
        *_shared("characters"),
        Figure("de_per_100", "的 per 100 characters", 1.0, 0.3, 1.0),
        Figure("le_per_100", "了 per 100 characters", 0.6, 0.3, 1.0),
        Figure("idioms_per_1000", "four-character idioms per 1000 characters", 2.0, 0.3, 1.0),
        Figure("commas_per_sentence", "commas per sentence", 0.6, 0.3, 0.7),
        Figure("enum_commas", "、 per 1000 characters", 3.0, 0.3, 0.3),
    ),
}
_SUBJECTS = _words("i we you they he she it")
_PRESENT = _words("am is are has have do does")
_PAST_AUX = _words("was were had did")
_S_IS = _words("that there here what who where how everything nothing")
_PRONOUNS = {
    "first_singular": _words("i me my mine myself"),
    "first_plural": _words("we us our ours ourselves"),
    "second_person": _words("you your yours yourself yourselves"),
    "third_person": _words(
        "he him his himself she her hers herself they them their theirs themselves"
    ),
}
_ZH_PRONOUNS = {
    "first_singular": re.compile(r"我(?!们)"),
    "first_plural": re.compile(r"我们|咱们|咱"),
    "second_person": re.compile(r"你们|你|您"),
    "third_person": re.compile(r"他们|她们|他|她"),
}
_CONTRACTION = re.compile(
    r"\b[A-Za-z]+(?:n['’]t|['’](?:re|ve|ll|d|m))\b|"
    r"\b(?:it|that|there|here|what|who|he|she|let|where|how|everything|nothing)['’]s\b",
    re.I,
)
_DIALOGUE_EN = re.compile(r"[\"“][^\"”]*\b\w+\W+\w+[^\"”]*[\"”]")
_DIALOGUE_ZH = re.compile(r"[“「][^”」]{2,}[”」]")


def _rate(n: float, per: float, scale: float) -> float:
    return round(scale * n / per, 2) if per else 0.0


def measure(texts: str | Sequence[str], lang: str | None = None) -> dict[str, float]:
    """The figures of one text, or of several samples taken together (English or Chinese
    figures by the script they are mostly in, unless ``lang`` says)."""
    items = [texts] if isinstance(texts, str) else list(texts)
    lang = lang or script_of("\n".join(items))
    paras: list[str] = []
    headings = list_items = 0
    for t in items:
        b = blocks(t)
        paras += b.paragraphs
        headings += b.headings
        list_items += b.items
    sents = [s for p in paras for s in sentences(p, lang)]
    n_sent = max(len(sents), 1)
    n_para = max(len(paras), 1)
    prose = ("\n" if lang == ZH else " ").join(paras)
    tokens = words(prose)
    if lang == ZH:
        unit = max(len(_HAN.findall(prose)), 1)
        lengths = [len(_HAN.findall(s)) + len(words(s)) for s in sents] or [0]
        key = "sentence_chars"
    else:
        unit = max(len(tokens), 1)
        lengths = [len(words(s)) for s in sents] or [0]
        key = "sentence_words"
    ends = [s.rstrip("\"'”’)）」』 ") for s in sents]
    dialogue = _DIALOGUE_ZH if lang == ZH else _DIALOGUE_EN
    out: dict[str, float] = {
        key: round(statistics.mean(lengths), 2),
        f"{key}_sd": round(statistics.pstdev(lengths), 2),
        "paragraph_sentences": round(len(sents) / n_para, 2) if paras else 0.0,
        "questions_per_100": _rate(sum(e.endswith(("?", "？")) for e in ends), n_sent, 100),
        "exclamations_per_100": _rate(sum(e.endswith(("!", "！")) for e in ends), n_sent, 100),
        "dialogue_per_100": _rate(sum(bool(dialogue.search(p)) for p in paras), n_para, 100),
        "headings_per_100": _rate(headings, n_para, 100),
        "list_items_per_100": _rate(list_items, n_para + list_items, 100),
        "dashes": _rate(len(re.findall(r"—+|–|\s-{1,2}\s|(?<=\w)--(?=\w)", prose)), unit, 1000),
        "semicolons": _rate(prose.count(";") + prose.count("；"), unit, 1000),
        "ellipses": _rate(len(re.findall(r"\.\.\.|…+", prose)), unit, 1000),
    }
    commas = prose.count(",") + prose.count("，")
    out["commas_per_sentence"] = round(commas / n_sent, 2)
    if lang == ZH:
        for name, rx in _ZH_PRONOUNS.items():
            out[name] = _rate(len(rx.findall(prose)), unit, 1000)
        out["de_per_100"] = _rate(prose.count("的"), unit, 100)
        out["le_per_100"] = _rate(prose.count("了"), unit, 100)
        out["idioms_per_1000"] = _rate(count_idioms(prose), unit, 1000)
        out["enum_commas"] = _rate(prose.count("、"), unit, 1000)
        return out
    lower = [w.lower().replace("’", "'") for w in tokens]
    heads = [w.split("'")[0] for w in lower]  # "I'm", "we'll", "you've": the pronoun
    for name, group in _PRONOUNS.items():
        out[name] = _rate(sum(w in group for w in heads), unit, 1000)
    out["contractions"] = _rate(len(_CONTRACTION.findall(prose)), unit, 1000)
    out["past_tense"] = past_share(lower)
    letters = [len(w) for w in tokens if w[0].isalpha()]
    out["word_letters"] = round(statistics.mean(letters), 2) if letters else 0.0
    alpha = [w for w in lower if w[0].isalpha()]
    rare = sum(w not in COMMON and w.split("'")[0] not in COMMON for w in alpha)
    out["rare_words"] = _rate(rare, max(len(alpha), 1), 100)
    return out


def past_share(lower: Sequence[str]) -> float:
    """The share of finite verbs in the past tense, as a percentage (50 when there are
    none): auxiliaries anywhere ("was", "didn't", "is", "I'm"), and the verb right after
    a subject pronoun ("I walked", "she walks")."""
    past = present = 0
    for a, b in itertools.pairwise(["", *lower]):
        head, _, tail = b.partition("'")
        if b in _PAST_AUX or (tail == "t" and head[:-1] in _PAST_AUX):
            past += 1
        elif (
            b in _PRESENT
            or (tail == "t" and head[:-1] in _PRESENT)  # "don't", "isn't"
            or tail in ("m", "re", "ve")
            or (tail == "s" and head in _SUBJECTS | _S_IS)  # "it's", "that's"
        ):
            present += 1
        elif a in _SUBJECTS and "'" not in b:
            if b in _PAST or (b.endswith("ed") and len(b) > 3 and b not in _NOT_PAST):
                past += 1
            elif b not in _STOP and b not in COMMON_ADVERBS and not b.endswith(("ing", "ly")):
                present += 1  # "I walk", "she walks"
    total = past + present
    return round(100 * past / total, 1) if total else 50.0


def count_idioms(text: str) -> int:
    """Four-character idioms: those of a list of common ones, and the doubled patterns
    AABB and ABAC ("平平淡淡", "无忧无虑", "一心一意")."""
    n = sum(text.count(i) for i in IDIOMS)
    for run in re.findall(r"[\u4e00-\u9fff]{4,}", text):
        for i in range(len(run) - 3):
            a, b, c, d = run[i : i + 4]
            if run[i : i + 4] not in IDIOMS and ((a == b and c == d != a) or (a == c != b != d)):
                n += 1
    return n


# -- characteristic words and phrases ------------------------------------------------------


def characteristic(samples: Sequence[str], lang: str | None = None, k: int = 10) -> list[str]:
    """Words and phrases the writer comes back to: used in more than one sample (or often
    in one), not among the most common words, most frequent first."""
    lang = lang or script_of("\n".join(samples))
    seen: Counter[str] = Counter()
    spread: Counter[str] = Counter()
    for sample in samples:
        prose = "\n".join(blocks(sample).paragraphs)
        grams = _grams_zh(prose) if lang == ZH else _grams_en(prose)
        seen.update(grams)
        spread.update(set(grams))
    need = 2 if len(samples) > 1 else 1
    ranked = [
        g
        for g, c in seen.most_common()
        if spread[g] >= need and c >= 2 and (" " in g or len(g) > 2 or lang == ZH)
    ]
    out: list[str] = []
    for g in ranked:  # a phrase covers the words in it
        if any(g in o for o in out):
            continue
        out = [o for o in out if o not in g]
        out.append(g)
        if len(out) >= k:
            break
    return out


def _grams_en(text: str) -> list[str]:
    toks = [w.lower().replace("’", "'") for w in words(text) if w[0].isalpha()]
    out = [w for w in toks if w not in COMMON and w not in _STOP and len(w) > 3]
    for n in (2, 3):
        for i in range(len(toks) - n + 1):
            g = toks[i : i + n]
            if sum(w not in _STOP for w in g) >= 1 and g[0] not in ("and", "the", "a"):
                out.append(" ".join(g))
    return out


def _grams_zh(text: str) -> list[str]:
    out = []
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        for n in (2, 3, 4):
            for i in range(len(run) - n + 1):
                g = run[i : i + n]
                if not (set(g) & _ZH_FUNCTION):
                    out.append(g)
    return out


# -- closeness -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Closeness:
    figure: Figure
    writer: float
    text: float

    @property
    def distance(self) -> float:
        """0 when the text matches, 1 for a difference of one unit; capped at 3."""
        f = self.figure
        return min(abs(self.text - self.writer) / (f.unit + f.rel * abs(self.writer)), 3.0)


def compare(writer: dict[str, float], text: dict[str, float], lang: str) -> list[Closeness]:
    """The text's figures beside the writer's, each with its distance."""
    return [
        Closeness(f, float(writer[f.key]), float(text.get(f.key, 0.0)))
        for f in FIGURES[lang]
        if f.key in writer
    ]


def overall(rows: Iterable[Closeness]) -> float:
    """One number for how far a text is from a voice: the weighted mean of the figures'
    distances (0 is the writer's own figures; 1 is one unit off on average)."""
    rows = list(rows)
    total = sum(r.figure.weight for r in rows)
    if not total:
        return 0.0
    return round(sum(r.figure.weight * r.distance for r in rows) / total, 3)


def distance(writer: dict[str, float], text: str, lang: str) -> float:
    return overall(compare(writer, measure(text, lang), lang))


def dominant_person(fig: dict[str, float]) -> str | None:
    """first_singular, first_plural, second_person or third_person, whichever the text
    mostly uses (None when it uses few pronouns)."""
    rates = {k: fig.get(k, 0.0) for k in _PRONOUNS}
    best = max(rates, key=lambda k: rates[k])
    return best if rates[best] >= 8 else None


def strays(writer: dict[str, float], text: dict[str, float], lang: str) -> list[str]:
    """How a text strays far from a voice: sentence length, person, headings or lists
    where the writer uses none (empty when it does not)."""
    out = []
    key = "sentence_chars" if lang == ZH else "sentence_words"
    w, t = writer.get(key, 0.0), text.get(key, 0.0)
    if w and t and not 0.67 <= t / w <= 1.5:
        unit = "characters" if lang == ZH else "words"
        out.append(f"sentences of {t:.0f} {unit} (the writer's: {w:.0f})")
    wp, tp = dominant_person(writer), dominant_person(text)
    if wp and tp and wp != tp and text.get(wp, 0.0) < writer[wp] / 3:
        out.append(f"{_PERSON_NAMES[tp]} (the writer's: {_PERSON_NAMES[wp]})")
    if writer.get("headings_per_100", 0.0) < 1 and text.get("headings_per_100", 0.0) > 0:
        out.append("headings (the writer uses none)")
    if writer.get("list_items_per_100", 0.0) < 1 and text.get("list_items_per_100", 0.0) > 10:
        out.append("lists (the writer uses none)")
    return out


_PERSON_NAMES = {
    "first_singular": "first person (I)",
    "first_plural": "first person plural (we)",
    "second_person": "second person (you)",
    "third_person": "third person",
}


def copy_share(text: str, sources: Sequence[str], lang: str) -> float:
    """The share of the text's 6-word runs (8 characters in Chinese) found in
    ``sources``: 0 for a text in its own words."""

    def runs(t: str) -> set[str]:
        if lang == ZH:
            han = "".join(_HAN.findall(t))
            return {han[i : i + 8] for i in range(len(han) - 7)}
        w = [x.lower() for x in words(t)]
        return {" ".join(w[i : i + 6]) for i in range(len(w) - 5)}

    mine = runs(text)
    theirs: set[str] = set().union(*(runs(s) for s in sources)) if sources else set()
    return round(len(mine & theirs) / len(mine), 3) if mine else 0.0


def spread_range(mean: float, sd: float) -> tuple[int, int]:
    """A range of lengths around ``mean`` that a typical sentence falls in."""
    half = max(min(sd * 0.6, mean * 0.45), mean * 0.2, 1.0)
    return max(1, math.floor(mean - half)), math.ceil(mean + half)
