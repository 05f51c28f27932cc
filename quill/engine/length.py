"""How long a text is in the unit a writer asks for: words, with Chinese and Japanese
characters counted at CJK_CHARS_PER_WORD to the word. The llama engine counts a reply
this way as it is written (:class:`WordCount`), so "about 150 words" means the same
for every model's tokenizer and every language, and the writing layer sizes its
lengths with the same rule (:func:`words`).
"""

from __future__ import annotations

import codecs
import re

# Han (with extension A and compatibility ideographs) and kana, plus the prolonged sound
# mark and the iteration marks, which read as characters of their own.
CJK = "\u3005\u3006\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
CJK_CHARS_PER_WORD = 1.7  # N words of English read like ~1.7·N Chinese characters
JOINERS = "'’-.,:/"  # inside a word ("don't", "well-known", "3.5"), not between words
_CJK_CHAR = re.compile(f"[{CJK}]")


def words(text: str) -> float:
    """The length of ``text`` in words: its words in space-separated scripts, plus its
    Chinese and Japanese characters divided by CJK_CHARS_PER_WORD."""
    count = WordCount()
    count.add_text(text)
    return count.words


class WordCount:
    """A reply's length in words, counted piece by piece as its tokens arrive (a piece
    may end inside a UTF-8 character). A word is a run of letters or digits, joined
    across one of JOINERS ("don't" and "3.5" count once), as
    :mod:`quill.writing.textstats` counts them."""

    def __init__(self) -> None:
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self.latin = 0  # words of space-separated scripts
        self.cjk = 0  # Chinese and Japanese characters
        self._in_word = False
        self._joined = False  # a joiner right after a word: a letter next continues it

    @property
    def words(self) -> float:
        return self.latin + self.cjk / CJK_CHARS_PER_WORD

    def add(self, piece: bytes) -> None:
        self.add_text(self._decode(piece))

    def add_text(self, text: str) -> None:
        for ch in text:
            if _CJK_CHAR.match(ch):
                self.cjk += 1
                self._in_word = self._joined = False
            elif ch.isalnum():
                if not (self._in_word or self._joined):
                    self.latin += 1
                self._in_word, self._joined = True, False
            else:
                self._joined = self._in_word and ch in JOINERS
                self._in_word = False
