"""Notes between the steps of a summary, tidied before the next step reads them.

A small model copies from its source into its notes (code blocks, headings, HTML) and
echoes its own prompt ("Part 3 of 4 of a document…", "This part of the document
discusses…"); the next step would copy all of it again into the summary. ``tidy_notes``
takes it out, conservatively: whole lines and labels only, never words inside a
sentence.
"""

from __future__ import annotations

import itertools
import re

from quill.writing.chunk import sentence_ends

_CODE_BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[ \t]*$\n?|\Z)", re.M | re.S)
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}(?:[ \t][^\n]*)?$\n?", re.M)
_HTML_LINE = re.compile(r"^[ \t]*(?:<[^>\n]+>[ \t]*)+$\n?", re.M)
_BOLD_LINE = re.compile(r"^[ \t]*(?:\*\*|__)[^*_\n]{1,60}(?:\*\*|__)[ \t]*[:：]?[ \t]*$\n?", re.M)
_PART_LINE = re.compile(
    r"^[ \t]*[*_]*parts? \d+(?:[ \t]*(?:-|–|to)[ \t]*\d+)?(?: of \d+)?[*_]*[ \t]*$\n?", re.I | re.M
)
_LABEL_WORDS = (
    r"parts? \d+(?:[ \t]*(?:-|–|to|and)[ \t]*\d+)?(?: of \d+)?",
    r"notes?|summary|main points|key points",
    r"第[ \t]*[\d一二三四五六七八九十]+[ \t]*部分|笔记|摘要|要点|总结",
)
_LABEL = re.compile(
    r"^([ \t]*(?:[-*+][ \t]+)?)[*_]{0,2}(?:" + "|".join(_LABEL_WORDS) + r")"
    r"(?:[ \t]*[(（][^)）\n]*[)）])?[*_]{0,2}[ \t]*[:：][*_]{0,2}[ \t]*",
    re.I | re.M,
)


# "This part of the document discusses…": notes that name the part they come from, which
# the final step would paste into the summary. The document is what they are about.
_PART_SUBJECT = re.compile(
    r"(?:(?<=^)|(?<=[.!?]\s)|(?<=\n))(?:this|the) (?:part|section|passage|excerpt|chunk)"
    r"(?: of the (?:document|report|text|article))?(?=\s)",
    re.I,
)
_ZH_PART_SUBJECT = re.compile(r"(?:(?<=^)|(?<=[。！？\n]))(?:这一部分|这部分|本部分|该部分)")


# The notes prompt's own header, echoed: "Part 3 of 4 of a document "x.md" (section: …):",
# "这是一篇文档……的第 2 部分，共 4 部分。"
_HEADER_LINE = re.compile(
    r"^[ \t]*[*_]*parts? \d+ of \d+ of (?:a|the) document\b.*$\n?", re.I | re.M
)
_ZH_HEADER = re.compile(
    r"[^。！？\n]*第\s*[\d一二三四五六七八九十]+\s*部分[，,（(]\s*共\s*[\d一二三四五六七八九十]+\s*"
    r"(?:部分|章|节)[)）]?[^。！？\n]*[。！？：:]?"
)


def _heading_key(line: str) -> str:
    return re.sub(r"[\s*_#>:：.。,，、\-–—\d()（）]+", "", line).casefold()


def tidy_notes(text: str, headings: tuple[str, ...] = ()) -> str:
    """Notes on a part, made fit to be read by the next step: code blocks, heading
    lines, HTML tags, bold lines standing as headings and "Part 2:" / "Notes:" labels
    are dropped (a small model copies them from its source, and the final step would
    copy them again), and so are lines that only echo one of ``headings`` (the part's
    heading path) or the path itself; "This part of the document discusses…" becomes
    "The document discusses…"; blank lines are collapsed."""
    text = _LABEL.sub(r"\1", _CODE_BLOCK.sub("", text))
    for rx in (_HEADING_LINE, _HTML_LINE, _BOLD_LINE, _PART_LINE, _HEADER_LINE, _ZH_HEADER):
        text = rx.sub("", text)
    text = _ZH_PART_SUBJECT.sub("文档", _PART_SUBJECT.sub("The document", text))
    if headings:  # a line that only echoes a heading of the part, or its heading path
        keys = {_heading_key(h) for h in headings if _heading_key(h)}
        last = headings[-1].strip()
        text = "\n".join(
            ln
            for ln in text.split("\n")
            if _heading_key(ln) not in keys
            and not (last and " > " in ln and ln.rstrip(" :：.。").endswith(last))
        )
    lines = [ln.rstrip() for ln in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_WORD = re.compile(r"[^\W\d_]{4,}")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff\u3040-\u30ff]+")
ECHO_SHARE = 0.5  # a sentence whose terms are this much the prompt's own is an echo
ECHO_MIN = 3


def _terms(text: str) -> set[str]:
    """Words of four letters or more (lower-cased), and CJK character pairs."""
    terms = {w.casefold() for w in _WORD.findall(text) if not _CJK_RUN.fullmatch(w)}
    for run in _CJK_RUN.findall(text):
        terms.update(run[i : i + 2] for i in range(len(run) - 1))
    return terms


def drop_prompt_echo(text: str, prompt: str, source: str) -> str:
    """``text`` without the sentences that repeat the step's instructions rather than
    its ``source``: "The report states that no invent is made, no opinions are
    added…" echoes a system prompt, not the report. A sentence goes when at least
    ECHO_MIN of its terms, and ECHO_SHARE of them, are found in ``prompt`` (the
    instructions, without the source) and nowhere in ``source``."""
    own = _terms(prompt) - _terms(source)
    if not own:
        return text
    out: list[str] = []
    for para in text.split("\n"):
        cuts = [0, *sentence_ends(para), len(para)]
        kept = []
        for a, b in itertools.pairwise(cuts):
            sentence = para[a:b]
            terms = _terms(sentence)
            hits = len(terms & own)
            if terms and hits >= ECHO_MIN and hits >= ECHO_SHARE * len(terms):
                continue
            kept.append(sentence)
        if kept or not para.strip():
            out.append("".join(kept).rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
