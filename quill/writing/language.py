"""Which language a text is written in: by script, then by common words for Latin text.

Used to answer in the language of the input (a Chinese document gets a Chinese summary).
Unsure is an answer: :func:`detect_language` returns None ("unknown", :data:`UNKNOWN`
where it is shown) rather than a guess, and a caller then asks for "the same language as
the text" instead of naming one. A Latin-script text is one language only when its common
words say so clearly (enough of them, well ahead of the next language's) and it holds no
letter that language does not write (a Polish ł is never Portuguese).
"""

from __future__ import annotations

import re

from quill.errors import UsageError

UNKNOWN = "unknown"

# The commonest short words of each language (words shared across languages stay in:
# the margin over the second language decides), and the letters beyond ASCII each writes.
_STOPWORDS = {
    "English": "the and of to in is that it for was with as on are be this by not have a an "
    "at from about our your who",
    "French": "le la les et des est une que dans pour pas sur qui avec du au sont il elle "
    "nous vous ce",
    "German": "der die und das ist nicht mit den ein eine sich auf für ich des dem zu im auch wir",
    "Spanish": "el la los las que de y en es por una para con del se no lo muy pero",
    "Italian": "il di che è la per una sono non con del della gli le nel si anche ma",
    "Portuguese": "o a os as de que e é do da em um uma para com não no na mas",
    "Dutch": "de het een en van is dat op te zijn met voor niet aan er ik ook maar",
    "Polish": "i w z na się nie to że jest do o jak ale po co tak już od być przez",
    "Swedish": "och att det som en på är av för med till den inte har de var jag om ett",
    "Danish": "og at det som en på er af for med til den ikke har de var jeg om et",
    "Norwegian": "og at det som en på er av for med til den ikke har de var jeg om et",
    "Czech": "a v se na je že to s z do o jako ale by jsou tak pro",
    "Turkish": "ve bir bu da de için ile çok ne gibi daha olarak ama",
    "Indonesian": "yang dan di ini itu dengan untuk dari tidak ada akan pada juga",
}
_LETTERS = {
    "English": "",
    "French": "àâæçéèêëîïôœùûüÿ",
    "German": "äöüß",
    "Spanish": "áéíñóúü",
    "Italian": "àèéìíîòóù",
    "Portuguese": "áâãàçéêíóôõú",
    "Dutch": "éëïóöü",
    "Polish": "ąćęłńóśźż",
    "Swedish": "åäö",
    "Danish": "æøå",
    "Norwegian": "æøå",
    "Czech": "áčďéěíňóřšťúůýž",
    "Turkish": "çğıöşü",
    "Indonesian": "",
}
_STOPSETS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_ALPHABETS = {lang: frozenset(letters) for lang, letters in _LETTERS.items()}
# the letters only a few languages write (ł, ø, ß, ñ…): each word with one is a point
_RARE = {
    lang: frozenset(ch for ch in letters if sum(ch in x for x in _LETTERS.values()) <= 3)
    for lang, letters in _LETTERS.items()
}
_WORD = re.compile(r"[^\W\d_]+")
_TRADITIONAL = set("們這個來時說過還會對於與從後裡嗎麼為學國實點開關體")
_SIMPLIFIED = set("们这个来时说过还会对于与从后里吗么为学国实点开关体")


def _script(ch: str) -> str | None:
    o = ord(ch)
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
        return "han"
    if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF:
        return "kana"
    if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
        return "hangul"
    if 0x0400 <= o <= 0x04FF:
        return "cyrillic"
    if 0x0370 <= o <= 0x03FF:
        return "greek"
    if 0x0600 <= o <= 0x06FF:
        return "arabic"
    if 0x0590 <= o <= 0x05FF:
        return "hebrew"
    if 0x0E00 <= o <= 0x0E7F:
        return "thai"
    if ch.isalpha() and o < 0x0250:
        return "latin"
    return None


def detect_language(text: str) -> str | None:
    """The language a text is written in, as an English name ("Chinese", "English"), or
    None where the script or the words do not tell it apart with confidence."""
    sample = text[:20000]
    counts: dict[str, int] = {}
    for ch in sample:
        s = _script(ch)
        if s is not None:
            counts[s] = counts.get(s, 0) + 1
    letters = sum(counts.values())
    if letters < 12:
        return None

    def share(s: str) -> float:
        return counts.get(s, 0) / letters

    if share("kana") > 0.05:
        return "Japanese"
    if share("han") > 0.2:
        trad = sum(ch in _TRADITIONAL for ch in sample)
        simp = sum(ch in _SIMPLIFIED for ch in sample)
        return "Chinese (Traditional)" if trad > simp else "Chinese"
    if share("hangul") > 0.2:
        return "Korean"
    simple = {"greek": "Greek", "hebrew": "Hebrew", "thai": "Thai"}
    for script, name in simple.items():
        if share(script) > 0.5:
            return name
    if share("cyrillic") > 0.5:
        if any(ch in "іїєґІЇЄҐ" for ch in sample):
            return "Ukrainian"
        return "Russian" if any(ch in "ыэЫЭ" for ch in sample) else None
    if share("arabic") > 0.5:
        return None if any(ch in "پچژگ" for ch in sample) else "Arabic"
    if share("latin") < 0.5:
        return None
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < 8:
        return None
    return _by_words(words)


def _by_words(words: list[str]) -> str | None:
    """The language whose common words, and the letters beyond ASCII it writes, clearly
    say most for the text; a word holding a letter a language does not write counts
    against that language. None when no language is clearly ahead."""
    scores = []
    for lang, stops in _STOPSETS.items():
        score = 0
        for w in words:
            extra = {ch for ch in w if not ch.isascii()}
            if extra - _ALPHABETS[lang]:
                score -= 2  # a Polish ł in "Portuguese"
            else:
                score += (w in stops) + bool(extra & _RARE[lang])
        scores.append((score, lang))
    scores.sort(reverse=True)
    (best, lang), (second, _) = scores[0], scores[1]
    if best >= max(2, 0.1 * len(words)) and best >= 1.5 * max(second, 0) and best > second:
        return lang
    return None


def is_cjk(lang: str | None) -> bool:
    return lang is not None and lang.split()[0] in ("Chinese", "Japanese")


# -- language names, as a writer gives them (--to, --lang) ---------------------------

NAMES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
    "zh-cn": "Chinese",
    "zh-hans": "Chinese",
    "zh-tw": "Chinese (Traditional)",
    "zh-hant": "Chinese (Traditional)",
    "cn": "Chinese",
    "中文": "Chinese",
    "简体中文": "Chinese",
    "繁體中文": "Chinese (Traditional)",
    "english": "English",
    "chinese": "Chinese",
}


def language_name(spec: str) -> str:
    """ "zh", "ZH-cn", "chinese" -> "Chinese"; any other name as written (capitalized)."""
    s = spec.strip()
    if not s:
        raise UsageError("the language is empty", hint="e.g. --to Chinese, --to fr")
    key = s.lower().replace("_", "-")
    if key in NAMES:
        return NAMES[key]
    return s[:1].upper() + s[1:]
