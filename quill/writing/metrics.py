"""Measures of written text: pure functions over strings, no model, nothing printed.

They score what quill writes (summaries, drafts) on its words, for the writing
benchmark (``benchmarks/writing_eval.py``) and ``quill bench --writing``.

Units: a word for Latin-script text (letters and digits between separators, case
folded), a character for CJK text (Han, kana, hangul); a mixed text counts both, in
order. Text is compared after NFKC normalisation, so full-width digits and letters
count as their half-width forms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from quill.engine.length import CJK_CHARS_PER_WORD
from quill.writing.chunk import heading_paths
from quill.writing.language import detect_language, is_cjk

_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_UNIT = re.compile(rf"[{_CJK_RANGES}]|[^\W_{_CJK_RANGES}]+")
_CJK_CHAR = re.compile(rf"[{_CJK_RANGES}]")

# Copying is counted on spans of about eight words. Chinese words average about 1.5
# characters, so twelve characters span about as many words as eight English words do;
# a shorter span would count names, dates and set phrases that any faithful summary
# repeats ("二〇一九年十二月" alone is eight characters) as copying.
COPY_N = 8
COPY_N_CJK = 12


# -- units --------------------------------------------------------------------------


def normalize(text: str) -> str:
    """NFKC, case folded, typographic quotes and dashes made plain, and thousands
    separators between digits removed ("1,250" and "１２５０" both read "1250")."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = t.translate(_PLAIN)
    t = _THOUSANDS.sub("", t)
    return t


_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u3000": " ",
    }
)
# A comma (or a thin or narrow space) between a digit and a group of exactly three.
_THOUSANDS = re.compile(r"(?<=\d)[,\u2009\u202f](?=\d{3}(?!\d))")


def units(text: str) -> list[str]:
    """The text's units in order: case-folded words and single CJK characters."""
    return _UNIT.findall(normalize(text))


def count_units(text: str) -> int:
    return len(units(text))


def _cjk_share(us: Sequence[str]) -> float:
    if not us:
        return 0.0
    return sum(1 for u in us if len(u) == 1 and _CJK_CHAR.match(u)) / len(us)


def ngrams(us: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(us[i : i + n]) for i in range(len(us) - n + 1)]


# -- diversity and repetition -----------------------------------------------------------


def distinct_n(samples: Iterable[str], n: int = 2) -> float:
    """Distinct n-grams over all n-grams, across several samples (n-grams do not cross
    from one sample into the next). 1.0: no n-gram is ever repeated; 0.0: no n-grams."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for s in samples:
        grams = ngrams(units(s), n)
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def repeated_ngram_rate(text: str, n: int = 4) -> float:
    """The share of the text's n-grams that already occurred earlier in the same text.
    Low for prose; a model stuck repeating itself pushes it towards 1."""
    grams = ngrams(units(text), n)
    if not grams:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for g in grams:
        if g in seen:
            repeats += 1
        else:
            seen.add(g)
    return repeats / len(grams)


def copy_rate(summary: str, source: str, n: int = COPY_N, cjk_n: int = COPY_N_CJK) -> float:
    """The share of the summary's n-grams found verbatim in the source: 0 for a summary
    in its own words, 1 for one stitched from the source's sentences. Mostly CJK text is
    counted in ``cjk_n``-character spans (see COPY_N_CJK)."""
    su = units(summary)
    size = cjk_n if _cjk_share(su) > 0.5 else n
    grams = ngrams(su, size)
    if not grams:
        return 0.0
    source_grams = set(ngrams(units(source), size))
    return sum(g in source_grams for g in grams) / len(grams)


# -- facts --------------------------------------------------------------------------

_ALNUM = re.compile(r"[0-9a-z]")


def _contains(haystack: str, needle: str) -> bool:
    """``needle`` in ``haystack`` (both normalized), not inside a longer word or
    number: "42%" is not found in "142%", "4.2" not in "4.25", "Quenby" not in
    "Quenbyshire"; next to CJK characters anything goes ("增长42%")."""
    if not needle:
        return False
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = haystack[start - 1] if start > 0 else " "
        after = haystack[end] if end < len(haystack) else " "
        ok_before = not (_ALNUM.match(needle[0]) and _ALNUM.match(before))
        ok_after = not (_ALNUM.match(needle[-1]) and _ALNUM.match(after))
        if ok_after and needle[-1].isdigit() and after in ".," and end + 1 < len(haystack):
            ok_after = not haystack[end + 1].isdigit()  # "4" is not "4.5"
        if ok_before and ok_after:
            return True
        start = haystack.find(needle, start + 1)
    return False


# A date's day written as speech has it: "5月8号" is "5月8日".
_ZH_DAY = re.compile(r"(月\s*\d{1,2})\s*号")


def _collapse(text: str) -> str:
    return _ZH_DAY.sub(r"\1日", re.sub(r"\s+", " ", normalize(text)))


def facts_found(text: str, facts: Iterable[Sequence[str]]) -> list[bool]:
    """For each fact (its accepted surface forms), whether any form is in the text."""
    hay = _collapse(text)
    return [any(_contains(hay, _collapse(f).strip()) for f in forms) for forms in facts]


def facts_carried(text: str, facts: Iterable[Sequence[str]]) -> float:
    """The share of facts with any of their forms present in the text (case, full- and
    half-width digits and thousands separators do not matter)."""
    found = facts_found(text, facts)
    return sum(found) / len(found) if found else 0.0


# -- length -------------------------------------------------------------------------


def target_units(target_words: int, lang: str | None) -> float:
    """The length asked for, in the text's units: words, or about 1.7 characters per
    word for Chinese and Japanese (quill's own rule, CJK_CHARS_PER_WORD)."""
    return target_words * CJK_CHARS_PER_WORD if is_cjk(lang) else float(target_words)


def length_ratio(text: str, target_words: int, lang: str | None = None) -> float:
    """Length over the length asked for: 1.0 is on target. ``lang`` is the language the
    text was asked in (None: detected from the text)."""
    if target_words < 1:
        raise ValueError("target_words must be at least 1")
    lang = lang if lang is not None else detect_language(text)
    return count_units(text) / target_units(target_words, lang)


def at_asked_length(share: float, ratio: float) -> float:
    """A share of facts carried, made fair to length: divided by the length over the
    length asked (``ratio``) where the text runs over it, so a summary twice as long
    as asked gets half the credit for the facts it carries. A short text is not
    rewarded for its shortness."""
    return share / max(ratio, 1.0)


def length_ok(
    text: str, target_words: int, lang: str | None = None, tolerance: float = 0.35
) -> bool:
    """Within ``tolerance`` of the length asked for (0.35: 65% to 135%)."""
    return abs(length_ratio(text, target_words, lang) - 1.0) <= tolerance


# -- endings ------------------------------------------------------------------------

_END_MARKS = ".!?。！？…"
_CLOSERS = "\"'”’」』）)]】》*_`~"
_LIST_LINE = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\S|^\s*\|.*\|\s*$|^\s{0,3}#{1,6}\s+\S")
_DANGLING = ",;:-–—(/&+、，；：（《「『"
_FUNCTION_WORDS = frozenset(
    re.findall(
        r"\S+",
        "a an the and or but nor of to in on at by for with from as into onto than that "
        "which who whose whom while because if when where so our your their its his her my "
        "is are was were be been being has have had will would can could should may might "
        "must very more most such this these those",
    )
)
_SIGN_OFF = re.compile(
    r"(regards|wishes|sincerely|cheers|thanks|thank you|best|yours|warmly|love|"
    r"此致|敬礼|祝好|谢谢|顺祝|商祺|敬上|问候|的朋友)[,，!！]?$",
    re.I,
)


SIGNATURE_LINES = 3


def _strip_symbols(text: str) -> str:
    """The text without trailing whitespace, emoji and other pictographs ("Shop now! 🌿")."""
    s = text.rstrip()
    while s and (unicodedata.category(s[-1]) == "So" or s[-1] in "\ufe0f\u200d"):
        s = s[:-1].rstrip()
    return s


def _line_complete(line: str) -> bool:
    s = _strip_symbols(line).rstrip(_CLOSERS).rstrip()
    if not s or s[-1] in _DANGLING:
        return False
    last = re.findall(r"[^\W_]+", s.casefold())
    return not (last and last[-1] in _FUNCTION_WORDS)


# A line that is a date alone: "2027年3月1日", "2023年XX月XX日", "March 1, 2027", "1 March 2027".
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE_LINE = re.compile(
    r"^\s*(?:(?:\d{4}|[X×*]{2,4})\s*年\s*(?:\d{1,2}|[X×*]{1,2})\s*月\s*(?:\d{1,2}|[X×*]{1,2})\s*日"
    rf"|(?:{_MONTHS})\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2})\s*$",
    re.I,
)
# A line that is only blanks to fill in: "[Your Name]", "[City, State, ZIP Code]", "【日期】".
_PLACEHOLDER_LINE = re.compile(r"^\s*(?:(?:\[[^\]\n]*\]|【[^】\n]*】)[\s,，|:：-]*)+$")


# a post's closing hashtags, after a space or, in Chinese, right after the last sentence
_HASHTAGS = re.compile(r"(?:(?:\s+|(?<=[.!?。！？…]))#[^\s#]+)+\s*$")


def ends_complete(text: str) -> bool:
    """Whether the text ends where a text can end: a sentence end (. ! ? 。！？ …),
    possibly followed by closing quotes, brackets or emphasis marks; a closed code
    block; a list item, table row or heading that does not stop on a dangling word or
    mark; or up to three short lines (a name, a title, a team) under a sign-off such as
    "Best regards," or "此致 / 敬礼". Trailing whitespace is ignored, and so are the
    lines of blanks to fill in that a letter ends with ("[Your Name]", "[日期]"), after a
    text that ends, or after its sign-off, and a post's closing hashtags."""
    s = _strip_symbols(text)
    # a post's hashtags come after its last sentence (and its emoji before them)
    s = _strip_symbols(_HASHTAGS.sub("", s)) or s
    if not s:
        return False
    lines = s.splitlines()
    k = len(lines)
    while k and (not lines[k - 1].strip() or _PLACEHOLDER_LINE.match(lines[k - 1])):
        k -= 1
    if 0 < k < len(lines):  # blanks to fill in: what comes before them must end
        rest = "\n".join(lines[:k])
        last = lines[k - 1].strip().rstrip("*_").strip()
        return bool(_SIGN_OFF.search(last)) or ends_complete(rest)
    if _DATE_LINE.match(lines[-1]):  # a notice's issuer and date, under its last sentence
        body = [ln for ln in lines[:-1] if ln.strip()]
        for j in range(min(2, len(body) - 1) + 1):
            under = body[len(body) - j :]
            if all(count_units(ln) <= 12 and _line_complete(ln) for ln in under) and (
                ends_complete("\n".join(body[: len(body) - j]))
            ):
                return True
        return False
    bare = s.rstrip(_CLOSERS).rstrip()
    if bare and bare[-1] in _END_MARKS:
        return True
    lines = [ln for ln in s.splitlines() if ln.strip()]
    last = lines[-1]
    if last.strip().startswith(("```", "~~~")):
        return s.count("```") % 2 == 0 and s.count("```") > 0
    if _LIST_LINE.match(last):
        return _line_complete(last)
    # a sign-off, then up to SIGNATURE_LINES short lines: a name, a title, a team
    for k in range(1, min(SIGNATURE_LINES, len(lines) - 1) + 1):
        sign = lines[-k - 1].strip().rstrip("*_").strip()
        under = lines[-k:]
        if _SIGN_OFF.search(sign) and all(
            count_units(ln) <= 8 and _line_complete(ln) for ln in under
        ):
            return True
    # a last line that signs off itself ("李明 敬上", "Best regards,") after an ending
    sign = lines[-1].strip().rstrip("*_").strip()
    return (
        len(lines) > 1
        and count_units(sign) <= 8
        and bool(_SIGN_OFF.search(sign))
        and (ends_complete("\n".join(lines[:-1])))
    )


# -- leaked instructions ------------------------------------------------------------

# Anywhere in the text: phrases that only a text talking about its brief would use.
_LEAK_ANYWHERE = [
    r"\bthis (?:piece|draft|post|article|text|page|poem|email|story|script|copy|summary)"
    r" (?:is|was) (?:written|crafted|designed|composed|structured)\b[^.\n]*",
    r"\bin the same language as the (?:brief|document|request|prompt)\b",
    r"\bfollows? the (?:requested |required |given )?(?:structure|format|requirements)\b",
    r"\b(?:i )?hope (?:this|that|it) helps\b",
    r"\bword count\b",
    r"\bas per (?:your|the) (?:request|instructions|requirements)\b",
    r"(?m)^\s*(?:brief|requirements)\s*:",
    # the parts of the requested structure, named as labels instead of being written
    r"(?m)^[\s*_#>-]*(?:short (?:persuasive )?description|persuasive description|product title|"
    r"(?:the )?headline|subject line|lead paragraph|call to action|sign-off|greeting)[*_\s]*:",
    r"\blength\s*:\s*(?:about|approximately|around|~)?\s*\d+\s*(?:words|字)",
    r"希望(?:这|这篇|以上内容|以上)?(?:对你|对您)?有(?:所)?帮助",
    r"希望(?:这个|这篇|这份|这首|这封|以上)[^。！？\n]{0,6}(?:能够|能)(?:帮助到?|帮到)(?:您|你)",
    r"(?:根据|按照)(?:您|你)的(?:要求|需求|简报)",
    r"符合(?:您|你)?的?(?:要求|简报)",
    r"与简报(?:相同|一致)的语言",
]
# The opening (first two lines) only: a preamble before the piece.
_LEAK_OPENING = [
    r"^(?:sure|certainly|of course|absolutely)\b[!,.][^\n]*",
    r"^here(?: is|'s| are) (?:a|an|the|your|my|some)\b[^\n]*?(?:draft|post|page|poem|email|"
    r"article|story|script|copy|summary|version|piece|description|news|text|blog|letter|"
    r"announcement|outline)\b[^\n]*",
    r"^here(?: is|'s| are)\b[^\n]*:\s*$",
    r"^below (?:is|are) (?:a|an|the|your|my|some)\b[^\n]*",
    # a refusal or a disclaimer talks about the request instead of answering it
    r"^(?:i'm|i am)? ?sorry,? (?:but )?i (?:can't|cannot|can not|am unable to|won't)\b[^\n]*",
    r"^as an? (?:ai|(?:large )?language model|ai language model)\b[^\n]*",
    # a question back instead of the piece: "Please provide me with the details of…"
    r"^(?:(?:sure|certainly|of course|okay|ok)[!,.]*\s*)?(?:please|could you|can you|would you)"
    r"\b[^\n]*\b(?:provide|give|share|tell|specify|send)\b[^\n]*\b(?:details|information|"
    r"specifics)\b[^\n]*",
    r"^[^\n]*\bi (?:need|would need|will need|require) (?:more|some|additional|further) "
    r"(?:details|information|context)\b[^\n]*",
    r"^(?:(?:好的|当然|没问题)[，,！!。]*)?(?:请提供|请告诉我|能否提供|可以提供)[^\n]*",
    r"^(?:抱歉|对不起|很抱歉)[，,]?\s*我(?:无法|不能|没法)[^\n]*",
    r"^作为(?:一个)?(?:ai|人工智能|语言模型)[^\n]*",
    r"^(?:以下是|下面是|这是(?:一篇|一份|一首|一封|为您|为你))[^\n]*",
    r"^as requested\b[^\n]*",
]
# The closing (last two lines) only: comments after the piece.
_LEAK_CLOSING = [
    r"^[(*_\s]*note\s*:.*\b(?:piece|draft|brief|tone|style|word count|\d+ words|written|"
    r"placeholders?|customi[sz]e (?:it|this|the))\b.*",
    r"\b(?:the|your) brief\b[^\n]*",
    r"^(?:tone|word count)\s*:[^\n]*",
    r"\bas requested\b[^\n]*",
    # an offer to change the piece, not a reader's invitation to ask ("Feel free to reach
    # out if you have any questions" ends many a real post or email)
    r"\b(?:let me know|feel free to)\b[^\n]*?\b(?:adjust|chang|tweak|modif|edit|revis|"
    r"tailor|customi[sz]|personali[sz]|(?:the )?tone\b|anything else|(?:further|more) "
    r"(?:help|assistance)|(?:this|the) (?:piece|draft|version|template|post|page|email|poem|"
    r"story|article|copy|text|guide)\b)[^\n]*",
    # a last line about the piece: "This product page is designed to…"
    r"^(?:this|the above) (?:piece|draft|post|page|product page|email|poem|story|article|"
    r"description|text|copy) (?:is|was) (?:written|designed|crafted|intended|meant|tailored)"
    r"\b[^\n]*",
    r"\b(?:approximately|about|around|roughly)? ?\d+ words\b[^\n]*",
    r"(?:字数|共计?\s*\d+\s*字|约\s*\d+\s*字)[^\n]*",
    r"(?:如需|如果您需要|如果你需要|如有需要)[^\n]*(?:修改|调整|帮助)[^\n]*",
    r"^这是一(?:篇|首|份|封)(?:关于[^\n]{0,24}的)?(?:文章|诗歌|诗|邮件|故事|文案)[，,][^\n]*"
    r"(?:描绘|描写|表达|展现|体现)[^\n]*",
    r"^[(（*_\s]*(?:注|备注|说明)\s*[:：][^\n]*(?:\d+\s*字|字数|语气|风格|简报|要求|修改|替换|调整)[^\n]*",
]
_COMPILED = {
    "anywhere": [re.compile(p, re.I) for p in _LEAK_ANYWHERE],
    "opening": [re.compile(p, re.I) for p in _LEAK_OPENING],
    "closing": [re.compile(p, re.I) for p in _LEAK_CLOSING],
}
EDGE_LINES = 2


def _plain_line(line: str) -> str:
    """A line without Markdown heading, quote, list and emphasis marks."""
    s = re.sub(r"^\s{0,3}(?:#{1,6}\s+|>\s*|[-*+]\s+|\d{1,3}[.)]\s+)", "", line.strip())
    return s.strip("*_ ").strip()


def leaked_phrases(text: str) -> list[str]:
    """Phrases where a draft talks about its brief or its instructions instead of being
    the piece: a preamble ("Here is a product page…", "以下是…"), comments at the end
    ("I hope this helps", "Note: the tone is…", "字数：…"), or the brief's own words
    ("in the same language as the brief"). Openers and closers are looked for in the
    first and last two lines only, so "Here is why you'll love it" in the middle of a
    product page is not a leak. Returns the phrases found, in order."""
    text = text.translate(_PLAIN)  # one character for one: offsets stay put
    found: list[tuple[int, str]] = []
    for rx in _COMPILED["anywhere"]:
        found += [(m.start(), m.group(0)) for m in rx.finditer(text)]
    offsets: dict[int, int] = {}
    pos = 0
    for i, ln in enumerate(text.splitlines(keepends=True)):
        offsets.setdefault(i, pos)
        pos += len(ln)
    numbered = [(i, ln) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    edges = [("opening", numbered[:EDGE_LINES]), ("closing", numbered[-EDGE_LINES:])]
    for kind, picked in edges:
        for i, ln in picked:
            plain = _plain_line(ln)
            for rx in _COMPILED[kind]:
                m = rx.search(plain)
                if m is not None:
                    found.append((offsets[i], m.group(0)))
    out: list[str] = []
    taken: list[tuple[int, str]] = []
    for at, phrase in sorted(found):
        phrase = phrase.strip()
        if any(a == at and (phrase in p or p in phrase) for a, p in taken):
            continue
        if any(phrase in p for _, p in taken):
            continue
        taken.append((at, phrase))
        out.append(phrase)
    return out


# -- structure ----------------------------------------------------------------------


def _heading_key(text: str) -> str:
    s = _plain_line(text).rstrip(":：").strip()
    return re.sub(r"\s+", " ", normalize(s))


def heading_echo(summary: str, source: str) -> float:
    """The share of the source's headings that come back as whole lines of the summary
    (as headings, list items or bold lines): a summary that lists the document's
    headings instead of saying what is under them scores high."""
    heads = {_heading_key(p[-1]) for p in heading_paths(source) if p and p[-1]}
    heads.discard("")
    if not heads:
        return 0.0
    lines = {_heading_key(ln) for ln in summary.splitlines() if ln.strip()}
    return len(heads & lines) / len(heads)


# -- shape labels -----------------------------------------------------------------------

# Names of the parts of a piece ("headline", "first paragraph", "正文"): written as a label
# at the start of a line ("**Details:**", "Headline: …", "正文：") they name the shape the
# piece was asked in instead of being it. "Subject:" opens an email and is not one.
_PART_EN = (
    r"(?:sub-?)?headline|(?:sub)?title|lead(?: paragraph)?|lede|hook|tagline|slogan|"
    r"(?:(?:first|second|third|fourth|fifth|final|last|opening|closing|main|body) )?"
    r"paragraph(?: \d+)?|paragraph (?:one|two|three|four|five)|intro(?:duction)?|body|"
    r"(?:main )?body text|details|(?:the )?summary|conclusion|closing|ending|opening|"
    r"beginning|middle|end|call[- ]to[- ]action|cta|sign-?off|signature|greeting|"
    r"salutation|subject line|short (?:persuasive )?description|persuasive description|"
    r"product (?:title|name|description)|(?:page|post|blog|article) title|next steps?|"
    r"stanza(?: \d+| one| two| three)?|verse(?: \d+)?"
)
_PART_ZH = (
    r"副?标题|导语|正文|主体|开头|开篇|结尾|结语|总结|摘要|引言|简介|下一步|行动号召|称呼|"
    r"落款|签名|第[一二三四五六七八九十\d]+(?:段|节|部分)|段落[一二三四五\d]*|产品名称|产品描述"
)
_SHAPE_LABEL = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]+)?(?:>[ \t]*)?(?:[-*+][ \t]+|\d{1,2}[.)][ \t]+)?[*_]{0,3}"
    rf"(?P<label>(?:{_PART_EN})|(?:{_PART_ZH}))"
    r"[ \t]*(?:\([^)\n]{0,20}\))?[*_]{0,3}[ \t]*[:：]",
    re.I | re.M,
)
# A line that is a part's name alone, as a bold line or a heading ("**Headline**",
# "## Call to Action"): only names that no piece uses as a heading of its own.
_BARE_PART = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]+|[*_]{2})(?P<label>headline|sub-?headline|lead paragraph|"
    r"(?:first|second|third|final|closing|opening) paragraph|body(?: text)?|"
    r"call[- ]to[- ]action|sign-?off|greeting|subject line|标题|副标题|导语|正文|结尾|落款)"
    r"[*_]{0,2}[ \t]*$",
    re.I | re.M,
)


def shape_labels(text: str) -> list[str]:
    """Lines that name a part of the piece instead of writing it: a label with a colon
    at the start of a line ("**Details:**", "Headline: Night ferry", "正文：", "下一步：",
    "**First Paragraph:**"), or a bold line or heading that is only a part's name
    ("**Headline**", "## Call to Action"). An email's "Subject:" is its form, not a
    label. Returns the labels found, in order."""
    text = text.translate(_PLAIN)
    found = [(m.start(), m.group("label")) for m in _SHAPE_LABEL.finditer(text)]
    found += [(m.start(), m.group("label")) for m in _BARE_PART.finditer(text)]
    return [label for _, label in sorted(found)]


# A sentence about what a part of the piece does ("This headline captures the essence of
# the story", "The first paragraph says who, what, when…"): talk about the shape.
_SHAPE_TALK = re.compile(
    r"\b(?:this|the|that|our) (?:headline|title|first paragraph|opening paragraph|"
    r"lead paragraph|opening line|closing line|closing paragraph|call[- ]to[- ]action|"
    r"structure|format)s? (?:captures?|says|summari[sz]es|introduces|highlights|sets|"
    r"grabs|answers|covers|gives|provides|tells|explains|follows|is designed|serves)\b"
    r"|(?:通过|以)(?:标题|导语|正文|开头|结尾|好处)[^。！？\n]{0,20}(?:格式|结构|这样)"
    # how such a piece is made, instead of the piece
    r"|\b(?:can|should|could) (?:be (?:divided|broken down|structured|organi[sz]ed) "
    r"(?:into|as)|(?:include|contain) the following)\b"
    r"|(?:可以|应该|一般)?(?:分为|包括|包含)以下几个(?:部分|方面|要点)"
    r"|^(?:a|the|this) (?:news story|news article|product page|email|blog post|poem|story|"
    r"article|marketing copy) (?:indicates|reports that|says that|is about|would|should)\b",
    re.I | re.M,
)


def shape_talk(text: str) -> list[str]:
    """Sentences that explain the piece's own shape instead of being the piece ("This
    headline captures the essence of the news story", "通过标题、好处和结尾这样的格式…"),
    or how such a piece is made ("产品介绍页面可以分为以下几个部分", "A news story
    indicates that…")."""
    return [m.group(0) for m in _SHAPE_TALK.finditer(text.translate(_PLAIN))]


def ends_complete_verse(text: str) -> bool:
    """Whether a poem ends where a poem can end: as :func:`ends_complete`, or on a last
    line that stops on no dangling word or mark (a verse line needs no full stop)."""
    if ends_complete(text):
        return True
    lines = [ln for ln in _strip_symbols(text).splitlines() if ln.strip()]
    return bool(lines) and _line_complete(lines[-1])
