"""How long a text is: words, and the time it takes to read.

Words are counted the way a writer expects in any script: a run of letters or digits
is one word in space-separated scripts (``don't``, ``well-known`` and ``3.5`` count
once; Markdown marks and punctuation not at all), and each Chinese or Japanese
character (Han, kana) counts as a word, as word processors count them. Korean is
written with spaces, so it is counted by words.

Reading time: about 230 words a minute, and 400 Chinese or Japanese characters a
minute, summed for a text that mixes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quill.engine.length import CJK as _CJK
from quill.engine.length import JOINERS

WORDS_PER_MIN = 230
CJK_CHARS_PER_MIN = 400

# Chinese and Japanese characters, and what joins a word's parts: the llama engine's
# count of a reply's words as it is written (quill.engine.length) uses the same
_CJK_CHAR = re.compile(f"[{_CJK}]")
_JOINERS = re.escape(JOINERS)
_WORD = re.compile(rf"[^\W_{_CJK}]+(?:[{_JOINERS}][^\W_{_CJK}]+)*")


@dataclass(frozen=True)
class TextStats:
    words: int  # latin_words + cjk_chars: what "words" means for a text in any script
    latin_words: int  # words of space-separated scripts (Latin, Cyrillic, Greek, Korean…)
    cjk_chars: int  # Chinese and Japanese characters
    reading_s: float

    @property
    def reading(self) -> str:
        return reading_time(self.reading_s)

    @property
    def mostly_cjk(self) -> bool:
        return self.cjk_chars > self.latin_words

    def describe(self) -> str:
        """``"412 words"``, or ``"1,200 characters"`` for Chinese or Japanese text."""
        if self.mostly_cjk:
            n = self.words
            return f"{n:,} character{'s' if n != 1 else ''}"
        return f"{self.words:,} word{'s' if self.words != 1 else ''}"


def count_cjk(text: str) -> int:
    return len(_CJK_CHAR.findall(text))


def count_latin_words(text: str) -> int:
    return len(_WORD.findall(text))


def text_stats(text: str) -> TextStats:
    latin = count_latin_words(text)
    cjk = count_cjk(text)
    seconds = 60.0 * (latin / WORDS_PER_MIN + cjk / CJK_CHARS_PER_MIN)
    return TextStats(words=latin + cjk, latin_words=latin, cjk_chars=cjk, reading_s=seconds)


def count_words(text: str) -> int:
    return text_stats(text).words


def reading_time(seconds: float) -> str:
    """``"20 s"``, ``"3 min"``, ``"1 h 5 min"``: rounded the way a reader thinks of it."""
    if seconds <= 0:
        return "0 s"
    if seconds < 60:
        return f"{max(5, round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
