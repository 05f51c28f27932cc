"""What a small model says about its writing instead of writing: the patterns that
:func:`quill.writing.cleanup.strip_commentary` drops from a draft.

A preamble line ("Sure! Here is a product page for a linen shirt:") where the reply was not
begun for the model (a draft in a form of its own, a verb's answer: a draft in a known
form starts with its opening, written for the model, and has no room for one), a closing
paragraph about the writing ("This piece is written in the same language as the brief. It follows
the structure provided…", "I hope this helps!") and labels naming the parts of the shape
asked for ("**Headline:**"). The patterns are narrow on purpose: a closing paragraph is
talk only when every sentence in it is, so a call to action, a poem's last stanza, an
email's sign-off or a "Note: machine wash cold" stays.
"""

from __future__ import annotations

import re

HEAD_CHARS = 160  # a first line longer than this is content, not a preamble
_PREAMBLE = [
    re.compile(p, re.I)
    for p in (
        r"^(?:sure|certainly|of course|absolutely|okay|ok|alright|great|got it|no problem)"
        r"[!.,]*(?:\s+(?:here(?:'s| is| are)|below is|i(?:'ve| have)) .*)?$",
        r"^(?:here(?:'s| is| are)|below is|below you(?:'ll| will) find|the following is|"
        r"i(?:'ve| have) (?:written|drafted|created|prepared|put together))\b.*[:：]$",
        r"^(?:here(?:'s| is| are)|below is) (?:a|an|the|your|my)\b.{0,100}\b(?:draft|piece|"
        r"version|page|post|email|poem|story|script|article|copy|description|letter|"
        r"announcement|news story)\b[^.!?]{0,60}[.!]?$",
        r"^(?:好的|当然|没问题)[！!，,。.]*$",
        r"^(?:好的|当然|没问题)[！!，,。.]*\s*(?:以下是|下面是|这是).*$",
        r"^(?:以下是|下面是|这是)(?:一篇|一份|一首|一封|一个|为您|为你|根据|您要的|你要的)?"
        r"[^。！？\n]{0,60}(?:文章|诗|邮件|草稿|页面|文案|故事|剧本|博客|新闻|介绍)"
        r"[^。！？\n]{0,20}[:：。]?$",
    )
]
_COMMENT = [
    re.compile(p, re.I)
    for p in (
        r"^(?:i )?hope (?:this|that|it) (?:helps|meets|works|fits|suits|is (?:helpful|useful"
        r"|what))",
        r"^(?:i )?hope you (?:find|like|enjoy) (?:this|the|my) (?:piece|draft|post|poem|story|"
        r"article|email|version|page|copy|script)\b",
        r"^(?:please )?(?:feel free|don't hesitate|do not hesitate) to\b.*\b(?:adjust|change|"
        r"tweak|modify|edit|customi[sz]e|adapt|let me know)",
        r"^(?:please )?feel free to (?:add|include|expand|use|personali[sz]e)\b.*\b(?:this|the)"
        r" (?:piece|draft|post|page|product page|description|email|text|copy|template)\b",
        r"^(?:please )?let me know if\b.*\b(?:change|adjust|modif|revis|edit|tweak|version|"
        r"further)",
        r"^(?:so,? )?if you\b.{0,80}\bfeel free to (?:ask|reach out)(?: me)?[!.]*$",
        r"^(?:this|the above|my) (?:piece|draft|text|post|blog post|article|page|product page|"
        r"product description|description|email|poem|story|short story|script|copy|"
        r"marketing copy|version|response|news story|(?:job )?posting|listing|ad|"
        r"advertisement|announcement|(?:cover )?letter|speech|toast|invitation|notice|"
        r"newsletter|review|caption|(?:welcome )?message|memo|proposal|essay|"
        r"press release|faq|template|haiku|limerick|(?:job )?description)\s+"
        r"(?:is (?:written|crafted|designed|composed|structured|intended|meant|tailored|"
        r"aimed|formatted|concise|approximately|about|around)|"
        r"was (?:written|crafted|designed|composed)|follows|uses|captures|"
        r"highlights|adheres|meets|keeps|should|can be|provides|aims|includes|emphasizes|"
        r"emphasises|combines|effectively|reflects|showcases|maintains|stays|conveys|"
        r"has been|stays)\b",
        r"^(?:it|this) (?:adheres to|has been written|uses markdown|is written in (?:english|"
        r"chinese|the same|a \w+ tone|markdown|plain))\b",
        r"\b(?:as per|per|follows?|following|meets?|matches|language as) (?:the|your) brief\b",
        r"\b(?:the|your) brief(?:'s)? (?:asked|requested|required|called)\b",
        r"\bsame language as\b",
        r"\b(?:follows?|following|meets?|adheres? to|as per|according to|in line with|"
        r"fulfil+s?|satisfies) (?:the|your|all the|all) (?:instructions|requirements|prompt|"
        r"guidelines|specifications|structure)\b",
        r"\bthe structure (?:provided|requested|given|outlined)\b",
        r"\b(?:using|uses|with|in) markdown (?:where|when|for|to)\b",
        r"\bmarkdown (?:where|when|as) (?:necessary|needed|helpful|appropriate|required)\b",
        r"\b(?:wrapped?|not) in a code block\b",
        r"^\(?\s*word count\b",
        r"\b(?:approximately|about|around|roughly|exactly) \d+ words\b|\b\d+ words (?:long|in "
        r"length)\b",
        r"^length\s*:\s*(?:about|approximately|around|~)?\s*\d+\s*(?:words|字)",
        r"^希望(?:这|以上|本)(?:篇|首|份|个|封|段)?(?:文章|诗歌?|内容|草稿|文案|邮件|作品|稿件|"
        r"故事|页面)",
        r"^希望(?:对您|对你|能对您|能对你|能帮到|能帮助|有所帮助)",
        r"^(?:如果|如)(?:您|你)?(?:需要|有|想).*(?:修改|调整|改动|进一步|其他版本)",
        r"^(?:这|此|以上)(?:篇|首|份|个|段|则|封)?(?:文章|诗歌|诗|邮件|电子邮件|故事|产品页面|"
        r"产品页|页面|文案|草稿|内容|作品|剧本|博客文章|博客|新闻稿|新闻|稿件).{0,12}"
        r"(?:遵循|符合|使用了?|采用了?|按照|根据|旨在|满足)",
        r"简报|字数|markdown格式|与.{0,4}相同的语言",
        r"^(?:这|此|以上)是一(?:篇|首|份|封|段|则)(?:关于.{0,24}的)?(?:文章|诗歌|诗|邮件|故事|文案|"
        r"介绍|博客|新闻稿?)[，,].{0,24}(?:描绘|描写|表达|展现|展示|体现|突出|用了?|采用了?)",
        r"^(?:请注意[，,]?\s*)?(?:这|上述|以上|本)(?:文字|内容|文案|介绍|文章)?(?:仅为|仅供|只是)"
        r"(?:一[个篇份则段])?.{0,12}(?:示例|参考|样例|范例)",
        r"^(?:请(?:根据|按照|结合)(?:实际|具体)(?:情况|需要|需求)|(?:实际|具体)(?:撰写|使用|发布)时)"
        r".{0,16}(?:调整|修改|替换)",
        r"^(?:(?:please )?note:? )?(?:this|the above) is (?:just |only |merely )?an? "
        r"(?:[\w-]+ ){0,3}(?:example|sample|template)\b",
    )
]
SEPARATOR = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
FENCE_LINE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*$")
BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_WRAPPERS = re.compile(
    r"^[\s>*_(（\[]*(?:[-+]\s+|\d{1,3}[.)]\s+)?[*_]*(?:p\.?s\.?|notes?|注|备注|说明)?[*_]*"
    r"\s*[:：]?\s*[*_]*"
)


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# After a sentence about the piece, one that goes on about it ("It covers the main
# benefits…", "The headline highlights…") is about the piece too.
FOLLOW = re.compile(
    r"^(?:it|they|this|these|the (?:headline|title|tone|structure|language|format|length|"
    r"call[- ]to[- ]action|ending|opening|closing|sign-off|piece|draft|text|copy|content|"
    r"post|email|poem|story|page|description)s?)\b|^(?:它|这|此|标题|语气|结构|全文|文章)"
    r"|^(?:good luck|happy (?:writing|reading|blogging)|enjoy|cheers)\b[^.!?]{0,20}[.!]*$"
    r"|^(?:祝你|祝您)",
    re.I,
)


def is_preamble(line: str) -> bool:
    s = line.strip().strip("*_").strip().translate(_QUOTES)
    return bool(s) and len(s) <= HEAD_CHARS and any(rx.match(s) for rx in _PREAMBLE)


def sentences(line: str) -> list[str]:
    s = _WRAPPERS.sub("", line.strip().translate(_QUOTES), count=1).rstrip(" *_)）]")
    return [t for t in (t.strip(" *_") for t in _SENTENCE_SPLIT.split(s)) if t]


def all_comment(sentences: list[str]) -> bool:
    """Every sentence talks about the writing: the first by a pattern of its own, each
    later one by its own pattern or by going on about what the one before was about."""
    if not sentences:
        return False
    for k, t in enumerate(sentences):
        if not (any(rx.search(t) for rx in _COMMENT) or (k > 0 and FOLLOW.match(t))):
            return False
    return True


def comment_line(line: str) -> bool:
    return all_comment(sentences(line))


def opens_with_comment(paragraph: str) -> bool:
    """Whether the first sentence of ``paragraph`` talks about the writing (by a pattern
    of its own): after a rule at a draft's end, the model's note on its piece ("This job
    posting is designed to be clear… The requirements are detailed yet accessible…"),
    whatever its later sentences say."""
    for line in paragraph.splitlines():
        found = sentences(line)
        if found:
            return any(rx.search(found[0]) for rx in _COMMENT)
    return False


def is_commentary(paragraph: str) -> bool:
    """Whether every sentence of ``paragraph`` talks about the writing rather than being
    the writing."""
    lines = [ln for ln in paragraph.splitlines() if ln.strip()]
    return bool(lines) and all_comment([t for ln in lines for t in sentences(ln)])


# Labels that name the parts of the requested shape instead of writing them
# ("**Headline:** Linen for summer", "Call to action: order now"). A headline or title
# label becomes a heading; the others are dropped, and a line that is only a label goes.
_LABEL_LINE = re.compile(
    r"^(?P<lead>[ \t]*(?:#{1,6}[ \t]+)?(?:[-*+][ \t]+)?)(?P<open>[*_]{0,2})"
    r"(?P<label>(?:sub-?)?headline|(?:product |page |post |blog |article )?title|subject line|"
    r"short (?:persuasive )?description|"
    r"persuasive description|product description|lead paragraph|call[- ]to[- ]action|"
    r"sign-off|greeting|副?标题|导语|行动号召|简短描述)"
    r"[ \t]*(?:[*_]{2}[ \t]*)?[:：](?:[ \t]*[*_]{2})?[ \t]*(?P<rest>.*)$",
    re.I,
)


def _unlabel_line(line: str) -> str | None:
    """The line without a label naming its part; None for a line that was only one."""
    m = _LABEL_LINE.match(line)
    if m is None:
        return line
    rest, opened = m.group("rest").strip(), m.group("open")
    if opened and rest.endswith(opened):
        rest = rest[: -len(opened)].rstrip()
    rest = rest.strip("*_ ").strip() if rest.strip("*_ ") == "" else rest
    if not rest:
        return None
    label, lead = m.group("label").lower(), m.group("lead")
    if label in ("headline", "标题") or label.endswith("title"):
        return (lead if "#" in lead else "# ") + rest
    if label in ("subheadline", "sub-headline", "副标题"):
        return (lead if "#" in lead else "## ") + rest
    if label == "subject line":
        return lead + "Subject: " + rest
    return lead + rest


def unlabel_from(text: str, midline: bool) -> str:
    """``unlabel`` for text that may begin inside a line already released."""
    if not midline:
        return unlabel(text)
    nl = text.find("\n")
    if nl < 0:
        return text
    return text[: nl + 1] + unlabel(text[nl + 1 :])


def unlabel(text: str) -> str:
    out: list[str] = []
    for line in text.split("\n"):
        kept = _unlabel_line(line)
        if kept is not None:
            out.append(kept)
            continue
        while out and not out[-1].strip():  # the blank lines before a dropped label go
            out.pop()
    return "\n".join(out)
