"""Checks for what the writing verbs return: pure functions over strings.

- Everyone: :func:`metric_problems`, the project's own metrics (talk about the request,
  a complete ending, the language asked for, a sane length, no repetition loop).
- rewrite: :func:`refusal` (a benign text refused), :func:`source_facts` and
  :func:`missing_facts` (the names, numbers and dates of the input), the register
  markers of a tone (:func:`informal_markers`, :func:`friendly_markers`).
- translate: :func:`preamble_lines` (an announcement before the translation),
  :func:`leftover_words` (words still in the source language), :func:`markdown_lost`
  (code, links, headings and list items that did not come back).
- titles: see :mod:`quill.writing.titlecheck`.

Each returns what it found, so a check can say why a result failed. Nothing here prints.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from quill.writing import metrics
from quill.writing.language import detect_language, is_cjk


def _split(words: str) -> list[str]:
    return re.findall(r"\S+", words)


# -- the shared metrics -----------------------------------------------------------------


def metric_problems(
    text: str,
    *,
    source: str = "",
    lang: str | None = None,
    length: tuple[float, float] | None = None,
    expected_units: float | None = None,
) -> list[str]:
    """Problems by quill's metrics: talk about the request (a preamble, "I hope this
    helps"), an ending cut mid-sentence (where the source ends complete), the wrong
    language, a length outside ``length`` × ``expected_units`` (the source's units when
    not given), and a passage repeated over and over."""
    out: list[str] = []
    if not text.strip():
        return ["is empty"]
    leaks = [p for p in metrics.leaked_phrases(text) if p not in metrics.leaked_phrases(source)]
    if leaks:
        out.append(f'talks about the request ("{_short(leaks[0])}")')
    if source and metrics.ends_complete(source) and not ends_complete(text):
        out.append("ends mid-sentence")
    if lang is not None:
        found = detect_language(text)
        if found is not None and found.split()[0] != lang.split()[0]:
            out.append(f"is in {found}, not {lang}")
    if length is not None:
        want = expected_units if expected_units is not None else metrics.count_units(source)
        have = metrics.count_units(text)
        if want >= 4 and not length[0] * want <= have <= length[1] * want:
            out.append(f"is {have / want:.1f} times the expected length")
    rep = metrics.repeated_ngram_rate(text)
    if rep > 0.3 and rep > metrics.repeated_ngram_rate(source) + 0.15:
        out.append("repeats itself")
    return out


_SIGN_OFF = re.compile(
    r"^\W*(?:(?:best|kind|warm)(?:est)? (?:regards|wishes)|regards|sincerely|yours(?: \w+)?|"
    r"cheers|thanks(?: \w+)?|thank you|many thanks|best|谢谢|此致|敬礼|祝好)[,，!！.。]?\W*$",
    re.I,
)


def is_cut_opening(text: str, source: str) -> bool:
    """Whether ``text`` is ``source``'s opening copied out and cut short: mostly copied
    (:func:`quill.writing.metrics.copy_rate` 0.8 or more), and its last words are the
    source's from well before its end (the first 85% of its words, or characters in
    CJK). A shortened text that does so has left the rest out, not condensed it: the
    1.5B's "shortened" 257-word article was its first two and a half paragraphs, word
    for word, and dropped the vote that ended it."""
    a, b = metrics.units(text), metrics.units(source)
    n = 6
    if len(a) < 2 * n or len(a) >= len(b) or metrics.copy_rate(text, source) < 0.8:
        return False
    tail = a[-n:]
    end = next((i + n for i in range(len(b) - n + 1) if b[i : i + n] == tail), None)
    return end is not None and end <= 0.85 * len(b)


def ends_complete(text: str) -> bool:
    """:func:`quill.writing.metrics.ends_complete`, or a last line that is a sign-off
    ("Best regards", "谢谢") under a complete text."""
    if metrics.ends_complete(text):
        return True
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return (
        len(lines) >= 2
        and bool(_SIGN_OFF.match(lines[-1].strip()))
        and ends_complete("\n".join(lines[:-1]))
    )


def _short(text: str, n: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# -- refusals ---------------------------------------------------------------------------

_REFUSAL = re.compile(
    r"\b(?:i'm|i am|i)\s+(?:really\s+|so\s+|very\s+)?(?:sorry|afraid)\b[^.!?\n]{0,80}?"
    r"\b(?:can(?:no|')t|can not|cannot|unable|not able|won't)\b"
    r"|\bi\s+(?:can(?:no|')t|cannot|can not|am unable to|am not able to|won't)\s+"
    r"(?:assist|help|comply|do that|fulfil|fulfill|provide|rewrite|translate|complete)"
    r"|\bas an ai\b"
    r"|(?:抱歉|对不起|很遗憾)[^。！？\n]{0,24}(?:无法|不能|没法)"
    r"|我(?:无法|不能)(?:协助|帮助|提供|完成|满足)"
    r"|作为(?:一个)?(?:ai|人工智能|语言模型)",
    re.I,
)


def refusal(text: str, source: str = "") -> str | None:
    """The sentence where the model refuses or disclaims ("I'm sorry, but I can't
    assist with that."), unless the source says it too; None when there is none."""
    plain = text.replace("\u2019", "'")
    for m in _REFUSAL.finditer(plain):
        if m.group(0).casefold() not in source.replace("\u2019", "'").casefold():
            return m.group(0)
    return None


# -- facts: names, numbers, dates ---------------------------------------------------------

_DAYS = {
    "mon": "monday",
    "tue": "tuesday",
    "tues": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "thur": "thursday",
    "thurs": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}
_MONTHS = _split(
    "january february march april may june july august september october november december"
)
_NUMBER_WORDS = _split(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_ZH_DIGITS = "零一二三四五六七八九十"
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,:]\d+)*(?:\s?(?:am|pm|a\.m\.|p\.m\.))?", re.I)
_WORD = re.compile(r"(?<![0-9])[A-Za-z][A-Za-z'’-]*[A-Za-z]|(?<![0-9])[A-Za-z]")
_CODE_NUMBER = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{1,3}\d+(?:\.\d+)*(?![\w.])")
_NOT_NAMES = frozenset(
    _split(
        "i i'm i've i'll i'd ok okay hey hi hiya yo dear thanks thx please pls lol omg btw asap "
        "fyi ur ppl tbh imo"
    )
)
_ABBREV = re.compile(r"\b(?:Mr|Ms|Mrs|Dr|St|Prof|Jr|Sr|vs|etc|e\.g|i\.e)\.", re.I)


def _sentence_starts(text: str) -> set[int]:
    """Offsets where a sentence (or a line) starts."""
    t = _ABBREV.sub(lambda m: m.group(0).replace(".", "_"), text)
    starts = {0}
    for m in re.finditer(
        r"(?:[.!?。！？:]+[\"')\]]*[ \t]+|(?:^|\n)\s*(?:#{1,6}\s+|[-*+>]\s+|\d{1,3}[.)]\s+)?"
        r"|\s[-–—]\s+)",
        t,
    ):
        starts.add(m.end())
    return starts


def source_facts(text: str) -> list[tuple[str, ...]]:
    """The facts a rewrite must keep, each as its accepted forms: numbers (times with
    their 24-hour and plain forms, small numbers also as words), names (capitalized
    words inside a sentence, acronyms), weekdays and months (an abbreviation also in
    full)."""
    facts: list[tuple[str, ...]] = []
    seen: set[str] = set()

    def add(*forms: str) -> None:
        key = forms[0].casefold()
        if key not in seen:
            seen.add(key)
            facts.append(tuple(dict.fromkeys(forms)))

    for m in _NUMBER.finditer(text):
        tok = m.group(0)
        digits = re.match(r"\d+(?:[.,:]\d+)*", tok)
        assert digits is not None
        num = digits.group(0).rstrip(".,:")
        forms = [num]
        ampm = tok[len(digits.group(0)) :].strip().lower().replace(".", "")
        if ampm and num.isdigit() and 1 <= int(num) <= 12:
            hour = int(num) % 12 + (12 if ampm == "pm" else 0)
            forms += [f"{num}{ampm}", f"{num} {ampm}", f"{num} {ampm[0]}.m.", f"{num}:00"]
            forms += [f"{hour}:00", f"{hour}点", f"{int(num)}点"]
        if num.isdigit() and 1 <= int(num) <= 31:
            forms += [num + s for s in ("st", "nd", "rd", "th")]
        if num.isdigit() and int(num) < len(_NUMBER_WORDS):
            forms.append(_NUMBER_WORDS[int(num)])
            if int(num) <= 10:
                forms.append(_ZH_DIGITS[int(num)])
        if num.isdigit() and 1 <= int(num) <= 12:
            forms.append(f"{int(num) + 12}")  # 3 (pm) -> 15
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", num):
            forms.append(num.replace(",", ""))
        add(*forms)
    for m in _CODE_NUMBER.finditer(text):  # v2.3, Q3, N29: the token, or its number
        add(m.group(0), re.sub(r"^[A-Za-z]+", "", m.group(0)))
    starts = _sentence_starts(text)
    for m in _WORD.finditer(text):
        word = re.sub(r"['’]s?$", "", m.group(0)) or m.group(0)
        low = word.casefold()
        if low in _NOT_NAMES:
            continue
        if low in _DAYS or low in _DAYS.values():
            full = _DAYS.get(low, low)
            add(full, word)
            continue
        if low in _MONTHS or (len(low) == 3 and any(x.startswith(low) for x in _MONTHS)):
            full = next(x for x in _MONTHS if x.startswith(low))
            add(full, word)
            continue
        if word[0].isupper() and (m.start() not in starts or word.isupper()) and len(word) > 1:
            add(word)
    return facts


def missing_facts(text: str, facts: Sequence[Sequence[str]]) -> list[str]:
    """The first form of each fact none of whose forms is in ``text``."""
    found = metrics.facts_found(text, facts)
    return [f[0] for f, ok in zip(facts, found, strict=True) if not ok]


# -- register -----------------------------------------------------------------------------

_SLANG = _split(
    "gonna wanna gotta lol lmao omg btw thx pls plz ppl ur u ya yeah yep nope guys folks "
    "y'all kinda sorta dunno tmrw tmr cuz coz gimme lemme ain't awesome reckons reckon "
    "hiya yo sup bro dude hey ok okay haha hehe stuff c'mon lmk idk tbh imo totally "
    "heads-up"
)
_SLANG_RX = re.compile(
    r"(?<![\w'])(?:" + "|".join(map(re.escape, _SLANG)) + r"|heads up)(?![\w'])", re.I
)
_GREETING = re.compile(r"(?m)^\W*(?:hey|hi|hiya|yo|sup|howdy|hello there)\b", re.I)
_CONTRACTION = re.compile(
    r"\b\w+(?:'|’)(?:s|re|ll|ve|d|m|t)\b(?<!\blet's)|\bcan't\b|\bwon't\b", re.I
)
_EXCLAIM_RUN = re.compile(r"[!！][!！?？]+|[?？][!！]")
_ZH_PARTICLE = re.compile(
    r"[呀啦哈哦嘛咯哟噢嘞呗](?=[\s，。！？,.!?~～]|$)"
    # a statement's softening particle ("有点恶心呢。", "先去二楼吧！"); in a question it is
    # not casual ("您呢？", "是否可以吧？" aside)
    r"|[呢吧啊](?=[。！!~～]|$)"
)
_ZH_SLANG = re.compile(
    r"兄弟们|家人们|小伙伴|亲们|宝子们|老铁|搞个|啥|咋|俺|木有|酱紫|[0-9]+块(?!钱)|～|~"
)
_ZH_FRIENDLY = re.compile(r"[呀啦哈哦嘛吧咯哟噢嘞呗](?=[\s，。！？,.!?~～]|$)|大家|！|～|~|😊|🙂")
_FRIENDLY_EN = re.compile(
    r"\b(?:hi|hello|hey|thanks|thank you|please|glad|happy|hope|appreciate|sorry|"
    r"just|quick|friendly|cheers|great|let us know|let me know|feel free)\b|!",
    re.I,
)


def emoji_in(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) == "So" and ord(c) > 0x2100]


def informal_markers(text: str) -> list[str]:
    """What marks a text as casual: slang, a greeting like "hey", runs of "!!", emoji,
    Chinese sentence particles and chatty words. A formal text has none of these."""
    found = [m.group(0) for m in _SLANG_RX.finditer(text)]
    found += [m.group(0).strip() for m in _GREETING.finditer(text)]
    found += [m.group(0) for m in _EXCLAIM_RUN.finditer(text)]
    found += emoji_in(text)
    found += [m.group(0) for m in _ZH_PARTICLE.finditer(text)]
    found += [m.group(0) for m in _ZH_SLANG.finditer(text)]
    return list(dict.fromkeys(found))


def contractions(text: str) -> list[str]:
    return [m.group(0) for m in _CONTRACTION.finditer(text.replace("’", "'"))]


def casual_score(text: str) -> int:
    """How casual a text reads: its informal markers, contractions and exclamation
    marks (0 for a formal notice)."""
    bangs = text.count("!") + text.count("！")
    return len(informal_markers(text)) + len(contractions(text)) + bangs


def friendly_markers(text: str) -> list[str]:
    """Warm words, greetings, thanks, "please", exclamation marks (and their Chinese
    counterparts)."""
    found = [m.group(0).lower() for m in _FRIENDLY_EN.finditer(text)]
    found += [m.group(0) for m in _ZH_FRIENDLY.finditer(text)]
    return found + emoji_in(text)


FORMAL_TONES = frozenset({"formal", "academic", "neutral", "professional", "business"})
CASUAL_TONES = frozenset({"casual", "playful", "relaxed", "informal", "chatty"})
FRIENDLY_TONES = frozenset({"friendly", "warm", "empathetic"})


def register_problems(text: str, source: str, tone: str | None) -> tuple[list[str], float]:
    """Whether ``text`` reads in ``tone`` (judged only for tones with markers: formal,
    casual and friendly and their kin); problems, and a penalty (a formal text's
    informal markers, contractions and exclamation marks)."""
    t = (tone or "").lower()
    if t in FORMAL_TONES:
        marks = informal_markers(text)
        soft = 0.1 * len(contractions(text)) + 0.1 * (text.count("!") + text.count("！"))
        if marks:  # each counts: a try with fewer ranks better, when none is formal
            return [f"is not {t}: {', '.join(repr(m) for m in marks[:4])}"], soft + len(marks)
        return [], soft
    if t in CASUAL_TONES:
        before, after = casual_score(source), casual_score(text)
        if after <= before and after < 2:
            return [f"does not read {t} (no contraction, greeting or exclamation)"], 0.0
        return [], 0.0
    if t in FRIENDLY_TONES:
        before, after = len(friendly_markers(source)), len(friendly_markers(text))
        if after <= before:
            return [f"does not read {t} (no greeting, thanks or warm word added)"], 0.0
        return [], 0.0
    return [], 0.0


# -- translation ---------------------------------------------------------------------------

_PREAMBLE = [
    r"^(?:#{1,6}\s*)?(?:说明|注意|注|备注|翻译|译文|中文翻译|英文翻译|translation|"
    r"translated text|note|output)\s*[:：]?\s*$",
    r"^(?:以下是|下面是|这是|这段)[^\n]*(?:翻译|译文|译成|翻成)[^\n]*$",
    r"^[^\n]{0,30}(?:翻译成|翻译为|译成|译为)[^\n]{0,20}(?:如下|[:：])\s*$",
    r"^(?:#{1,6}\s*)?(?:说明|注意)\s+[^\n]*(?:翻译|译)[^\n]*$",
    r"^(?:sure|certainly|of course|okay|ok)\b[^\n]*$",
    r"^here(?:'s| is| are)\b[^\n]*\b(?:translat|version|text)\w*\b[^\n]*$",
    r"^(?:the |in )?(?:[a-z]+ )?translation(?: in(?:to)? [a-z]+)?(?: is)?\s*[:：]?\s*$",
    r"^(?:[a-z]+ )?translation of [^\n]*[:：]\s*$",
]
_PREAMBLE_RX = [re.compile(p, re.I) for p in _PREAMBLE]


def _is_preamble(line: str) -> bool:
    s = line.strip().strip("*_").strip()
    return bool(s) and any(rx.search(s) for rx in _PREAMBLE_RX)


def preamble_lines(text: str, source: str = "") -> int:
    """How many lines at the start of ``text`` announce the translation instead of
    being it ("以下是翻译：", "### 说明", "Here is the translation:"), blank lines after
    them included; 0 when the source itself starts that way."""
    src_first = next((ln for ln in source.splitlines() if ln.strip()), "")
    if src_first and _is_preamble(src_first):
        return 0
    lines = text.splitlines(keepends=True)
    cut = 0
    i = 0
    while i < len(lines) and i < 4:
        if not lines[i].strip():
            i += 1
            continue
        if _is_preamble(lines[i]):
            i += 1
            cut = i
            while cut < len(lines) and not lines[cut].strip():
                cut += 1
            continue
        break
    return cut


def drop_preamble(text: str, source: str = "") -> str:
    n = preamble_lines(text, source)
    return "".join(text.splitlines(keepends=True)[n:]) if n else text


_FENCED = re.compile(r"(?ms)^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?^ {0,3}\1[ \t]*$\n?|^ {0,3}`{3,}.*\Z")
_INLINE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_LINK_URL = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+\.[\w.]+")
_PATHLIKE = re.compile(r"\S*[/\\~]\S*|\S+\.(?:md|txt|toml|json|yaml|yml|py|sh|sql|csv|html)\b")
_LATIN_WORD = re.compile(r"(?<![0-9])[A-Za-z][A-Za-z'’-]*[A-Za-z]|(?<![0-9])[A-Za-z]")
_CODE_NUMBER = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{1,3}\d+(?:\.\d+)*(?![\w.])")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
_UNITS = frozenset(
    _split(
        "am pm kg g mg km m cm mm ml l lb oz ft in mph kmh °c c f gb mb kb tb ghz mhz px "
        "qr url api id ok pdf usb wifi cpu gpu app ai"
    )
)


def code_free(text: str) -> str:
    """``text`` without code blocks, inline code, link targets and bare URLs, paths and
    e-mail addresses: what is left is the prose a translation must translate."""
    t = _FENCED.sub(" ", text)
    t = _INLINE.sub(" ", t)
    t = _LINK_URL.sub("]", t)
    t = _BARE_URL.sub(" ", t)
    return _PATHLIKE.sub(" ", t)


def names_in(source: str) -> set[str]:
    """Words of the source that are names or terms a translation may keep as written:
    capitalized inside a sentence, all capitals, mixed with digits or capitals
    (CityGo, N29), and the words of its code spans."""
    prose = code_free(source)
    starts = _sentence_starts(prose)
    out: set[str] = set()
    for m in _LATIN_WORD.finditer(prose):
        w = m.group(0)
        inner_caps = any(c.isupper() for c in w[1:])
        low = w.casefold()
        if low in _DAYS or low.rstrip("s") in _DAYS.values() or low in _MONTHS:
            continue  # a weekday or a month is translated
        if (w[0].isupper() and m.start() not in starts) or inner_caps:
            out.add(low)
    for m in re.finditer(r"[A-Za-z0-9_]*\d[A-Za-z0-9_]*", prose):
        out.add(m.group(0).casefold())
    for m in _INLINE.finditer(source):
        out.update(w.casefold() for w in _LATIN_WORD.findall(m.group(2)))
    return out


def kept_words(source: str) -> set[str]:
    """The words a translation of ``source`` may write as they are: its names and terms
    (:func:`names_in`) and the words of its code, link targets, URLs and paths."""
    prose = {w.casefold() for w in _LATIN_WORD.findall(code_free(source))}
    rest = {w.casefold() for w in _LATIN_WORD.findall(source)} - prose
    return names_in(source) | rest


def leftover_words(
    text: str, source: str, target: str, names: Sequence[str] | None = None
) -> list[str]:
    """Words of the source language left in a translation into ``target``, outside
    code, URLs and names: Latin words in a Chinese or Japanese translation of a Latin
    text, CJK characters in a translation of a CJK text into a Latin language.
    ``names`` are the words that may stay (default: :func:`names_in` the source). A
    translation between two Latin-script languages is not judged here ([])."""
    prose = code_free(text)
    src_cjk = bool(_CJK_RUN.search(code_free(source)))
    if is_cjk(target) and not src_cjk:
        allowed = (
            {n.casefold() for n in names} if names is not None else names_in(source)
        ) | _UNITS
        out = []
        for w in _LATIN_WORD.findall(prose):
            k = re.sub(r"['’]s?$", "", w.casefold()) or w.casefold()
            if w.casefold() in allowed or k in allowed or len(w) < 2:
                continue
            if any(k in a.split() or a in k.split("-") for a in allowed):
                continue
            out.append(w)
        return out
    if not is_cjk(target) and src_cjk:
        allowed_cjk = set(names or ())
        return [r for r in _CJK_RUN.findall(prose) if r not in allowed_cjk]
    return []


def inline_code(text: str) -> list[str]:
    return [m.group(0) for m in _INLINE.finditer(_FENCED.sub("", text))]


def link_urls(text: str) -> list[str]:
    return _LINK_URL.findall(text)


def _spans(prose: str, mark: str) -> int:
    """How many spans ``prose`` (text outside code: :func:`code_free`) wraps in
    ``mark`` ("**bold**")."""
    m = re.escape(mark)
    return len(re.findall(rf"{m}(?=\S)(?:(?!{m}).)+?(?<=\S){m}", prose))


# "*Wren*" or "_Wren_": one mark each side, not bold's two, not a list's "* " and not
# snake_case (a letter or digit next to the mark; a CJK character may be). The 1.5B
# translated "the small ferry *Wren*" as "小船“绿鸟”".
_ITALIC = re.compile(
    r"(?<![*A-Za-z0-9])\*(?=[^\s*])[^*\n]+?(?<=[^\s*])\*(?![*A-Za-z0-9])"
    r"|(?<![_A-Za-z0-9])_(?=[^\s_])[^_\n]+?(?<=[^\s_])_(?![_A-Za-z0-9])"
)


def italic_spans(prose: str) -> list[str]:
    """The italic spans of ``prose`` (text outside code: :func:`code_free`), marks
    included ("*Wren*")."""
    return _ITALIC.findall(prose)


def _skeleton(text: str) -> list[str]:
    """The Markdown shape, line by line: heading levels, list and quote marks."""
    out = []
    for line in _FENCED.sub("", text).splitlines():
        m = re.match(r"^\s*(#{1,6}\s|[-*+]\s|\d{1,3}[.)]\s|>\s?)", line)
        if m:
            mark = m.group(1).strip()
            out.append("1." if mark[:-1].isdigit() else mark)
    return out


SHAPE_CHANGED = "changes the headings or list items"


def markdown_lost(text: str, source: str) -> list[str]:
    """What of the source's Markdown did not come back in ``text``: fenced code blocks
    and inline code byte for byte, links (as links: "[text](url)", not the address
    alone), bold, italic and strikethrough spans, and the sequence of heading, list-item and
    quote marks, each as what the text does ("drops the link to URL"), read after "it".
    [] when all of it is kept."""
    out: list[str] = []
    for block in (m.group(0) for m in _FENCED.finditer(source)):
        if block.rstrip("\n") not in text:
            out.append("changes a code block")
    have = inline_code(text)
    for span in inline_code(source):
        if span in have:
            have.remove(span)
        else:
            out.append(f"changes or drops inline code {span}")
    kept = link_urls(text)
    for url in link_urls(source):
        if url in kept:  # still a link: "[text](url)", not the address alone
            kept.remove(url)
        else:
            gone = url not in text
            out.append(f"drops the link to {url}" if gone else f"unlinks {url}")
    source_prose, prose = code_free(source), code_free(text)
    for mark, name in (("**", "bold"), ("__", "bold"), ("~~", "strikethrough")):
        want, got = _spans(source_prose, mark), _spans(prose, mark)
        if got < want:
            out.append(f"drops {name} ({want - got} of {want})")
    want, got = len(italic_spans(source_prose)), len(italic_spans(prose))
    if got < want:
        out.append(f"drops italics ({want - got} of {want})")
    if _skeleton(source) != _skeleton(text):
        out.append(SHAPE_CHANGED)
    return out
