"""What keeps a line from being a title, and a line made into one: hashtags, emoji,
list numbering, a "Title:" label, quotes, a trailing explanation, talk about the
titles. Pure functions over strings; nothing here prints.
"""

from __future__ import annotations

import re

from quill.writing import metrics
from quill.writing.verbcheck import emoji_in

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# -- titles --------------------------------------------------------------------------------

_HASHTAG = re.compile(r"(?<![\w&])#[^\s#]+")
_NUMBERED = re.compile(
    r"^\s*(?:[-*+•]\s+|\(?\d{1,2}[.):）]\s*|#{1,6}\s+|第[一二三四五六七八九十\d]+[个条]?[：:、])"
)
_EXPLAIN = re.compile(
    r"\s+(?:[-–—:|]|\()\s*(?:this|it|which|a title|the title|these|perfect|great|ideal|"
    r"captures|highlights|emphasi[sz]es|focuses|suggests|conveys|reflects|evokes|"
    r"这个标题|该标题|标题|突出|强调|体现)\b.*$"
    r"|\s*[（(](?:this|it|a|the|突出|强调|体现|点明)[^)）]*[)）]\s*$",
    re.I,
)
# A Latin word with a letter outside ASCII ("quà", "café"): in a Chinese or Japanese title,
# a word of a third language the model drifted into (the 1.5B: "孩子们高高兴兴 quà异样异样"),
# where a name or a term from the text would be plain ASCII ("Python", "GPU").
_ACCENTED_WORD = re.compile(r"[A-Za-z]*[À-ÖØ-öø-ɏḀ-ỿ][A-Za-zÀ-ÖØ-öø-ɏḀ-ỿ]*")
_TITLE_LABEL = re.compile(r"^\s*(?:title|headline|标题|题目)\s*\d*\s*[:：]\s*", re.I)
_QUOTES = "\"'“”‘’「」『』《》*_`"
# A title's closing full stop (the 1.5B: "Keeping the Standup in the Afternoon: What We
# Learned."), but not an abbreviation's ("Smith & Co.", "U.S.") nor an ellipsis
_FULL_STOP = re.compile(r"(?:(?<=[A-Za-z]{4})|(?<=\d{2}))(?<!\.)\.$|(?<=[^\s。])。$")
_TALK = re.compile(
    r"^(?:here (?:are|is)|sure|certainly|these titles|i hope|以下是|这些标题|希望)", re.I
)


def title_faults(title: str) -> list[str]:
    """What keeps a line from being a title: a hashtag, an emoji, list numbering, a
    trailing explanation, talk about the titles, an accented Latin word in a CJK title
    (another language), or more than 16 words (32 CJK characters)."""
    out = []
    if _HASHTAG.search(title):
        out.append("a hashtag")
    if emoji_in(title):
        out.append("an emoji")
    if _NUMBERED.match(title):
        out.append("numbering")
    if _EXPLAIN.search(title):
        out.append("an explanation")
    if _TALK.match(title.strip()):
        out.append("talk about the titles")
    if re.search(r"[.!?。！？]\s*\S", title.rstrip(_QUOTES + " ")):
        out.append("more than one sentence")
    if _CJK.search(title) and _ACCENTED_WORD.search(title):
        out.append("a word in another language")
    units = metrics.count_units(title)
    if units > (32 if _CJK.search(title) else 16) or len(title) >= 86:
        out.append("too long for a title")
    return out


def strip_numbering(line: str) -> str:
    """A line without its list mark or number ("1. ", "- ", "2) ")."""
    return _NUMBERED.sub("", line.strip())


def clean_title(line: str) -> str:
    """A line as a title: list marks, numbering, a "Title:" label, hashtags, emoji, a
    trailing explanation, quotes around it and a closing full stop removed ("" for a
    line that is talk)."""
    s = line.strip()
    if _TALK.match(s):
        return ""
    s = _NUMBERED.sub("", s).strip(_QUOTES).strip()
    s = _TITLE_LABEL.sub("", s)
    s = _EXPLAIN.sub("", s)
    s = _HASHTAG.sub("", s)
    s = "".join(c for c in s if c not in emoji_in(s) and c not in "\ufe0f\u200d")
    s = " ".join(s.split()).strip(" -–—:|")
    s = _FULL_STOP.sub("", s.strip(_QUOTES).strip())
    if s.endswith(("：", ":")):
        return ""
    return s


def title_key(title: str) -> str:
    """Two titles with the same key are the same title (case, punctuation, spacing)."""
    return " ".join(metrics.units(title))


def clean_titles(text: str) -> list[str]:
    """The distinct titles in a reply, one a line, each cleaned."""
    out: list[str] = []
    keys: set[str] = set()
    for line in text.splitlines():
        title = clean_title(line)
        key = title_key(title)
        if not title or not key or key in keys or title_faults(title):
            continue
        keys.add(key)
        out.append(title)
    return out
