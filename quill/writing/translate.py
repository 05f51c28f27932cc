"""`quill translate`: a text into another language, its Markdown kept.

Fenced code blocks pass through untouched and are never sent to the model. The rest is
translated block by block (:func:`blocks`): each paragraph, heading, list item and
quote line on its own, a heading's ``##`` or an item's ``-``/``1.`` kept by quill and
not sent, a paragraph too long for the context cut along its sentences; each block is
put back between the source's own blank lines, so the structure survives whatever the
model does with whitespace. Each block's translation is checked
(:func:`check_block`: no announcement before it, no word of the source language left
outside code and names, its numbers, inline code and links kept, a sane length) and retried with
another seed, or trimmed, when it fails (:mod:`quill.writing.retry`).

Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quill import prompts
from quill.engine.base import Engine, Message, Sampling
from quill.engine.generation import Generation, generate
from quill.writing import metrics
from quill.writing import verbcheck as vc
from quill.writing.chain import Step, trim, untag
from quill.writing.chunk import chunk_text
from quill.writing.language import is_cjk
from quill.writing.retry import RETRIES, CheckedChain, Tally, Verdict, checked
from quill.writing.verbs import Part, messages, part_budget, plan_parts, split_code


def translate_messages(
    text: str, to: str, source: str | None, user_dir: Path | None = None
) -> list[Message]:
    """The system prompt, the template's example for ``to`` (if it has one) as an
    earlier turn, and the request for ``text``."""
    p = prompts.load("translate", user_dir)

    def ask(t: str, origin: str | None) -> str:
        return prompts.render(p["user"], text=t, to=to, **{"from": origin or "the source language"})

    out = messages(p["system"], ask(text, source))
    for ex in p.get("examples", []):
        if str(ex.get("to", "")).split()[0] == to.split()[0] and ex.get("from") != to:
            shown = [
                Message("user", ask(ex["text"], ex.get("from"))),
                Message("assistant", ex["translation"]),
            ]
            return [*out[:-1], *shown, out[-1]]
    return out


def expansion(to: str, source: str | None) -> float:
    """About how many tokens of translation one token of source becomes (generous:
    the budget must not cut a part short)."""
    if is_cjk(to) and not is_cjk(source):
        return 2.0
    return 1.6


def plan(
    text: str, engine: Engine, to: str, source: str | None, user_dir: Path | None = None
) -> list[Part]:
    overhead = engine.count_messages(translate_messages("", to, source, user_dir))
    budget = part_budget(engine, overhead, expansion(to, source))
    return plan_parts(text, engine.count, budget, keep_code=True)


def max_tokens_for(part: Part, to: str, source: str | None) -> int:
    """The token budget for one part's translation (the engine also stops at the end of
    its context)."""
    return max(64, int(part.tokens * expansion(to, source)) + 64)


# -- block by block ------------------------------------------------------------------------

_HEADING = re.compile(r"^( {0,3}#{1,6}[ \t]+)(.*?)([ \t]+#+)?[ \t]*$")
_ITEM = re.compile(r"^([ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?)(.*)$")
_QUOTE = re.compile(r"^([ \t]*>[ \t]?)(.*)$")
_TABLE = re.compile(r"^[ \t]*\|")
_RULE = re.compile(r"^ {0,3}(?:[-*_][ \t]*){3,}$")


@dataclass(frozen=True)
class Block:
    """One unit of the text: ``core`` is translated (``kind`` "code" or "space": passed
    through); ``lead`` (a heading's or an item's marks) and ``trail`` (the line end and
    blank lines) are kept as they are."""

    lead: str
    core: str
    trail: str
    kind: str  # para, heading, item, quote, table, code, space

    @property
    def text(self) -> str:
        return self.lead + self.core + self.trail

    @property
    def literal(self) -> bool:
        return self.kind in ("code", "space") or not self.core.strip()


def _line_block(line: str) -> Block | None:
    body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
    for kind, rx in (("heading", _HEADING), ("item", _ITEM), ("quote", _QUOTE)):
        m = rx.match(body)
        if m and m.group(2).strip():
            closing = m.group(3) or "" if kind == "heading" else ""
            return Block(m.group(1), m.group(2), closing + end, kind)
    return None


def blocks(text: str, count: Callable[[str], int], budget: int) -> list[Block]:
    """The text as blocks (joined, they give it back): code blocks and blank lines as
    they are; each heading, list item (with its indented continuation lines), quote
    line and table as one block; each paragraph as one block, or cut along its
    sentences where it is longer than ``budget`` tokens."""
    out: list[Block] = []
    for is_code, run in split_code(text):
        if is_code:
            out.append(Block("", run, "", "code"))
            continue
        para: list[str] = []
        table: list[str] = []
        for line in run.splitlines(keepends=True):
            if not line.strip():
                _flush(out, para, table, count, budget)
                out.append(Block("", line, "", "space"))
                continue
            if _TABLE.match(line):
                if para:
                    _flush(out, para, table, count, budget)
                table.append(line)
                continue
            if table:
                _flush(out, para, table, count, budget)
            if _RULE.match(line):
                _flush(out, para, table, count, budget)
                out.append(Block("", line, "", "space"))
                continue
            b = _line_block(line)
            if b is not None:
                _flush(out, para, table, count, budget)
                out.append(b)
                continue
            prev = out[-1] if out else None
            if prev is not None and prev.kind == "item" and not para and line[:1] in " \t":
                core = prev.core + prev.trail + line.rstrip("\n")
                out[-1] = Block(prev.lead, core, "\n" if line.endswith("\n") else "", "item")
                continue
            para.append(line)
        _flush(out, para, table, count, budget)
    return out


def _flush(
    out: list[Block], para: list[str], table: list[str], count: Callable[[str], int], budget: int
) -> None:
    if para:
        out.extend(_paragraph("".join(para), count, budget))
        para.clear()
    if table:
        out.append(Block("", "".join(table), "", "table"))
        table.clear()


def _paragraph(text: str, count: Callable[[str], int], budget: int) -> list[Block]:
    out = []
    for chunk in chunk_text(text, budget, count) if count(text) > budget else [text]:
        piece = chunk if isinstance(chunk, str) else chunk.text
        core = piece.strip()
        lead = piece[: len(piece) - len(piece.lstrip())]
        trail = piece[len(piece.rstrip()) :]
        out.append(Block(lead, core, trail, "para"))
    return out


def _expected_units(core: str, to: str, source: str | None) -> float:
    n = metrics.count_units(core)
    if is_cjk(to) and not is_cjk(source):
        return n * 1.8
    if is_cjk(source) and not is_cjk(to):
        return n / 1.8
    return float(n)


_NUMBER = re.compile(r"\d+(?:[.:]\d+)*")  # 7:40, 2.5, 250: a translation keeps them
# "** Harbor Pier**": emphasis a space inside its marks breaks (closed up again)
_OPEN_EMPHASIS = re.compile(r"(\*\*|__)[ \t]+([^*_\n]+?)[ \t]*\1")
_EMPHASIS = re.compile(r"\*\*|__|(?<![*\w])\*(?=\S)")
_LEAD_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s?)")


# Quotes a translation put where its source has italics: the 1.5B wrote "the small
# ferry *Wren*" as 小船“绿鸟” on every try (Chinese marks a name with quotes), and the
# report half's "Choose *Night*" as 选择“夜”.
_QUOTED = re.compile(r"“([^“”\n]{1,60})”|「([^「」\n]{1,60})」|\"([^\"\n]{1,60})\"")
_QUOTE_MARKS = re.compile(r"[\"“”「」]")


def italics_back(text: str, source: str) -> str:
    """``text`` with its quoted spans made the source's italics again, where the source
    has italics and no quotes of its own, and the text has no italics and as many
    quoted spans as the source has italic ones; else ``text`` as it is."""
    want = vc.italic_spans(vc.code_free(source))
    if not want or _QUOTE_MARKS.search(source) or vc.italic_spans(vc.code_free(text)):
        return text
    if len(_QUOTED.findall(text)) != len(want):
        return text
    mark = want[0][0]
    return _QUOTED.sub(lambda m: mark + next(g for g in m.groups() if g) + mark, text)


def tidy_block(block: Block) -> Callable[[str], str]:
    """Shape a block's translation: a heading or an item loses marks of its own (quill
    puts the source's back); quotes that stand for the source's italics become italics
    again (:func:`italics_back`); the text is stripped."""

    def tidy(text: str) -> str:
        t = italics_back(_OPEN_EMPHASIS.sub(r"\1\2\1", text.strip()), block.core)
        if block.kind in ("heading", "item", "quote") and not _LEAD_MARKS.match(block.core):
            t = _LEAD_MARKS.sub("", t, count=1).strip()
        if block.kind == "heading" and block.core.rstrip()[-1:] not in ".。!！?？:：":
            t = t.rstrip(".。")
        return t

    return tidy


def check_block(block: Block, to: str, source: str | None) -> Callable[[str], Verdict]:
    """The check of one block's translation (see the module's docstring)."""
    one_line = block.kind in ("heading", "item", "quote") and "\n" not in block.core
    paragraphs = len(re.split(r"\n\s*\n", block.core.strip()))
    numbers = _NUMBER.findall(vc.code_free(block.core))

    def check(text: str) -> Verdict:
        problems: list[str] = []
        penalty = 0.0
        said = vc.refusal(text, block.core)
        if said:
            problems.append(f'refuses ("{said}")')
        if vc.preamble_lines(text, block.core):
            problems.append("opens with an announcement of the translation")
        if one_line and "\n" in text.strip():
            problems.append("is more than one line")
        elif block.kind == "para" and len(re.split(r"\n\s*\n", text.strip())) > paragraphs:
            problems.append("adds a paragraph")
        lost_numbers = [x for x in numbers if x not in _NUMBER.findall(vc.code_free(text))]
        if lost_numbers:
            problems.append("drops " + ", ".join(lost_numbers[:4]))
        left = vc.leftover_words(text, block.core, to)
        if left:
            problems.append("leaves words untranslated: " + ", ".join(left[:5]))
            penalty += len(left)
        if len(_EMPHASIS.findall(text)) > len(_EMPHASIS.findall(block.core)):
            problems.append("adds emphasis the text does not have")
        lost = vc.markdown_lost(text, block.core) if block.kind != "table" else []
        problems += [x for x in lost if x != vc.SHAPE_CHANGED]
        if block.kind == "table" and [ln.count("|") for ln in text.strip().splitlines()] != [
            ln.count("|") for ln in block.core.strip().splitlines()
        ]:
            problems.append("the table lost its columns")
        problems += vc.metric_problems(
            text,
            source=block.core,
            lang=to,
            length=(0.3, 3.0),
            expected_units=_expected_units(block.core, to, source),
        )
        return Verdict(tuple(problems), penalty + len(problems))

    return check


def repair_block(block: Block) -> Callable[[str], str]:
    """Trim what is not the translation: an announcement before it, lines after a
    heading's or an item's one line, paragraphs after a one-paragraph block."""

    def repair(text: str) -> str:
        t = vc.drop_preamble(text, block.core).strip()
        if block.kind in ("heading", "item", "quote") and "\n" not in block.core:
            t = t.split("\n", 1)[0].strip()
        elif block.kind == "para" and not re.search(r"\n\s*\n", block.core.strip()):
            t = re.split(r"\n\s*\n", t, maxsplit=1)[0].strip()
        return t

    return repair


def translation(
    engine: Engine,
    params: Sampling,
    text: str,
    to: str,
    source: str | None,
    *,
    user_dir: Path | None = None,
    max_tokens: int | None = None,
    n: int = 1,
    retries: int = RETRIES,
) -> CheckedChain:
    """The translation of ``text`` as one stream: its blocks in order, each checked and
    retried or trimmed where it fails; the closing note says what the checks did."""
    overhead = engine.count_messages(translate_messages("", to, source, user_dir))
    budget = part_budget(engine, overhead, expansion(to, source))
    tally = Tally()
    steps: list[Step] = []
    for block in blocks(text, engine.count, budget):
        if block.literal:
            steps.append(block.text)
            continue
        steps.append(block.lead)
        steps.append(
            _start(engine, params, block, to, source, user_dir, max_tokens, n, retries, tally)
        )
        steps.append(block.trail)
    return CheckedChain(steps, params, what="translation", tally=tally)


def _start(
    engine: Engine,
    params: Sampling,
    block: Block,
    to: str,
    source: str | None,
    user_dir: Path | None,
    max_tokens: int | None,
    n: int,
    retries: int,
    tally: Tally,
) -> Callable[[], Generation]:
    tokens = engine.count(block.core)
    limit = max_tokens or max(32, int(tokens * expansion(to, source)) + 32)
    msgs = translate_messages(block.core, to, source, user_dir)
    if is_cjk(to) and not is_cjk(source):
        # a word in small Latin letters begins after a CJK character only where the
        # source keeps it (a name, code, a URL): the prompt has every word of the source
        params = params.with_(native=True, native_words=" ".join(sorted(vc.kept_words(block.core))))

    def once(p: Sampling) -> Generation:
        return generate(
            engine, msgs, p.with_(max_tokens=limit), transforms=[untag("text", block.core), trim]
        )

    def start() -> Generation:
        return checked(
            once,
            check_block(block, to, source),
            params,
            n=n,
            retries=retries,
            repair=repair_block(block),
            tidy=tidy_block(block),
            tally=tally,
            what="translation",
        )

    return start
