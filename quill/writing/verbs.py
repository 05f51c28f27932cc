"""The writing verbs as plain functions over an Engine: their prompts, and how a long
text is cut into parts (streamed as one text by :class:`quill.writing.chain.Chain`).

Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quill import prompts
from quill.engine.base import Engine, Message, Piece, Sampling
from quill.engine.generation import Generation
from quill.errors import UsageError
from quill.writing.chain import Chain, Step, Transform, sum_stats, trim, untag
from quill.writing.chunk import chunk_text
from quill.writing.language import detect_language, is_cjk
from quill.writing.presets import sampling

__all__ = ["Chain", "sum_stats", "trim", "untag"]  # the chain, where the verbs are

PART_TOKENS = 700  # the largest part of a long text sent at once (small models do
# better on shorter parts; a part is cut on headings, paragraphs and sentences)


# -- parts of a long text ------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Part:
    """A piece of the source: ``code`` passes through untouched; otherwise ``core`` is
    sent to the model and ``lead``/``trail`` (its surrounding whitespace) are kept."""

    lead: str
    core: str
    trail: str
    code: bool = False
    tokens: int = 0

    @property
    def text(self) -> str:
        return self.lead + self.core + self.trail


def split_code(text: str) -> list[tuple[bool, str]]:
    """(is_code, text) runs: fenced code blocks (``` or ~~~, to their closing fence or
    the end) and the prose between them; joined they give ``text`` back."""
    out: list[tuple[bool, str]] = []
    prose: list[str] = []
    code: list[str] = []
    fence = ""
    for line in text.splitlines(keepends=True):
        if fence:
            code.append(line)
            m = _FENCE.match(line)
            closes = m is not None and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)
            if closes and not line.strip().strip(fence[0]):
                out.append((True, "".join(code)))
                code, fence = [], ""
            continue
        m = _FENCE.match(line)
        if m:
            if prose:
                out.append((False, "".join(prose)))
                prose = []
            fence = m.group(1)
            code = [line]
            continue
        prose.append(line)
    if code:
        out.append((True, "".join(code)))
    if prose:
        out.append((False, "".join(prose)))
    return out


def plan_parts(
    text: str, count: Callable[[str], int], budget: int, *, keep_code: bool = False
) -> list[Part]:
    """Cut ``text`` into parts of at most ``budget`` tokens along its structure (never
    dropping anything: the parts joined give the text back). With ``keep_code``, fenced
    code blocks are parts of their own that are not sent to the model."""
    runs = split_code(text) if keep_code else [(False, text)]
    parts: list[Part] = []
    for is_code, run in runs:
        if is_code:
            parts.append(Part("", run, "", code=True))
            continue
        for chunk in chunk_text(run, budget, count):
            core = chunk.text.strip()
            if not core:
                parts.append(Part(chunk.text, "", "", code=True))
                continue
            lead = chunk.text[: len(chunk.text) - len(chunk.text.lstrip())]
            trail = chunk.text[len(chunk.text.rstrip()) :]
            parts.append(Part(lead, core, trail, tokens=chunk.tokens))
    return parts


def part_budget(engine: Engine, prompt_tokens: int, expansion: float) -> int:
    """The largest part that leaves room in the context for its prompt and its output
    (``expansion`` × its size)."""
    room = engine.info.n_ctx - prompt_tokens - 32
    return max(32, min(PART_TOKENS, int(room / (1 + expansion))))


def chained(
    parts: list[Part],
    start: Callable[[Part], Generation],
) -> list[Step]:
    """The chain's steps for parts: code and whitespace as literal text, each other part
    a generation between its own leading and trailing whitespace."""
    steps: list[Step] = []
    for part in parts:
        if part.code:
            steps.append(part.text)
            continue
        steps.append(part.lead)
        steps.append(lambda p=part: start(p))  # type: ignore[misc]
        steps.append(part.trail)
    return steps


# -- sampling from a template ------------------------------------------------------------


def template_sampling(
    spec: Mapping[str, Any],
    *,
    preset: str | None,
    default_preset: str,
    max_tokens: int | None,
    default_max: int,
    **flags: object,
) -> Sampling:
    """Sampling for a template run: flags win; then, unless ``--preset`` was given, the
    template's own [sampling] values; then the preset."""
    name = preset or str(spec.get("preset") or default_preset)
    over: dict[str, object] = {}
    if preset is None:
        keys = ("temperature", "top_p", "min_p", "repeat_penalty")
        over = {k: spec[k] for k in keys if k in spec}
    over.update({k: v for k, v in flags.items() if v is not None})
    limit = max_tokens if max_tokens is not None else int(spec.get("max_tokens", default_max))
    return sampling(name, limit, **over)


def with_style(messages: list[Message], style: str | None) -> list[Message]:
    """Add a voice (see :mod:`quill.writing.style`): to the system prompt, and as
    earlier turns where it has them; a heading begun for the model ("# ") is taken
    back when the voice has no headings."""
    if not style:
        return messages
    last = messages[-1] if messages else None
    if not getattr(style, "headings", True) and last and last.role == "assistant":
        messages = messages[:-1] if last.content.lstrip().startswith("#") else messages
    turns = list(getattr(style, "turns", ()))  # the writer's passages as earlier replies
    text = str(getattr(style, "system", "") or style) if turns else str(style)
    if messages and messages[0].role == "system":
        return [Message("system", messages[0].content + "\n\n" + text), *turns, *messages[1:]]
    return [Message("system", text), *turns, *messages]


def messages(system: str, user: str) -> list[Message]:
    out = [Message("system", system.strip())] if system.strip() else []
    return [*out, Message("user", user.strip())]


# -- rewrite ----------------------------------------------------------------------------

LENGTHS = ("shorter", "longer")


@dataclass(frozen=True)
class RewriteOptions:
    tone: str | None = None
    length: str | None = None  # "shorter", "longer" or None
    audience: str | None = None
    instruction: str | None = None
    lang: str | None = None

    def requirements(self, p: Mapping[str, Any]) -> str:
        rules = p["rules"]
        lines = []
        if self.tone:
            tone = p.get("tones", {}).get(self.tone.lower(), self.tone)
            lines.append(prompts.render(rules["tone"], tone=tone))
        if self.length:
            if self.length not in LENGTHS:
                raise UsageError(f"unknown length `{self.length}`", hint="shorter or longer")
            lines.append("- " + p["lengths"][self.length])
        if self.audience:
            lines.append(prompts.render(rules["audience"], audience=self.audience))
        if self.instruction:
            lines.append(prompts.render(rules["instruction"], instruction=self.instruction))
        if not lines:
            lines.append(rules["improve"])
        lang = prompts.render(rules["lang"], lang=self.lang) if self.lang else rules["same_lang"]
        lines.append(lang)
        return "\n".join(lines)


def rewrite_messages(
    text: str, opts: RewriteOptions, user_dir: Path | None = None
) -> list[Message]:
    """The system prompt, the template's example for the tone and the text's script
    (if it has one) as an earlier turn, and the request for ``text``."""
    p = prompts.load("rewrite", user_dir)
    req = opts.requirements(p)
    out = messages(p["system"], prompts.render(p["user"], text=text, requirements=req))
    ex = _example(p, opts, text)
    if ex is None:
        return out
    shown = prompts.render(p["user"], text=ex["text"], requirements=req)
    return [*out[:-1], Message("user", shown), Message("assistant", ex["rewrite"]), out[-1]]


def _example(p: Mapping[str, Any], opts: RewriteOptions, text: str) -> Mapping[str, Any] | None:
    """The example for a plain change of tone (none with a length, an audience, an
    instruction or another language asked for: the example would not show those)."""
    if not opts.tone or opts.length or opts.audience or opts.instruction or opts.lang:
        return None
    script = "zh" if is_cjk(detect_language(text)) else "en"
    for ex in p.get("examples", []):
        if str(ex.get("tone", "")).lower() == opts.tone.lower() and ex.get("lang") == script:
            return dict(ex)
    return None


def rewrite_expansion(opts: RewriteOptions) -> float:
    return {"shorter": 0.8, "longer": 2.5}.get(opts.length or "", 1.4)


# -- outline, titles, continue, run --------------------------------------------------------


def outline_messages(
    text: str, lang: str | None = None, user_dir: Path | None = None
) -> list[Message]:
    p = prompts.load("outline", user_dir)
    # the text's language, named: told "the same language as the text", the 1.5B
    # outlined a Chinese article in English
    lang = lang or detect_language(text)
    req = f"Write in {lang}." if lang else "Write in the same language as the text."
    return messages(p["system"], prompts.render(p["user"], text=text, requirements=req))


def titles_messages(
    text: str, n: int, lang: str | None = None, user_dir: Path | None = None
) -> list[Message]:
    p = prompts.load("titles", user_dir)
    lang = lang or detect_language(text)
    req = f"Write them in {lang}." if lang else "Write them in the same language as the text."
    return messages(p["system"], prompts.render(p["user"], text=text, n=str(n), requirements=req))


_NO_MARK = r"\n#\U0001F000-\U0001FAFF\u2600-\u27BF"  # no line break, hashtag or emoji
_TITLE_START = rf"[^{_NO_MARK}*\"“”‘’'`\-•( \t]"  # no emphasis, quote or bullet first


def titles_grammar(n: int) -> str:
    """GBNF for exactly ``n`` lines numbered "1. " to "n. " (the shape a small model
    writes a list of titles in, so it need not fight it; quill takes the numbers off),
    each a title of 2 to 90 characters that does not start with emphasis or a quotation
    mark and holds no hashtag or emoji."""
    lines = " ".join(f'"{i}. " title "\\n"' for i in range(1, n + 1))
    return f"root ::= {lines}\ntitle ::= {_TITLE_START} [^{_NO_MARK}]{{1,89}}\n"


def clean_title(line: str) -> str:
    """A title without list marks, numbering, a "Title:" label, hashtags, emoji, a
    trailing explanation, quotes or Markdown emphasis around it."""
    from quill.writing.titlecheck import clean_title as clean

    return clean(line)


def title_lines(n: int) -> Transform:
    """A stream filter that emits at most ``n`` cleaned, distinct, non-empty lines (the
    streaming form; `quill titles` uses :func:`quill.writing.verbruns.titles_generation`)."""

    def lines(pieces: Iterator[Piece]) -> Iterator[Piece]:
        buf = ""
        seen: set[str] = set()

        def take(line: str) -> str:
            title = clean_title(line)
            if not title or title.lower() in seen or len(seen) >= n:
                return ""
            seen.add(title.lower())
            return title + "\n"

        for piece in pieces:
            buf += piece.text
            out = ""
            while "\n" in buf:
                line, buf = buf.split("\n", 1)
                out += take(line)
            if piece.finish is not None:
                out += take(buf)
                note = piece.note
                if len(seen) < n and piece.finish == "stop":
                    note = f"the model gave {len(seen)} titles, not {n}"
                yield Piece(out, piece.finish, piece.stats, note)
                return
            if out:
                yield Piece(out)

    return lines


def continue_messages(
    text: str, words: int, lang: str | None = None, user_dir: Path | None = None
) -> list[Message]:
    p = prompts.load("continue", user_dir)
    req = f"Write in {lang}." if lang else ""
    user = prompts.render(p["user"], text=text, words=str(words), requirements=req)
    return messages(p["system"], user)


def tail_within(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The end of ``text`` that fits ``budget`` tokens, starting on a paragraph or
    sentence boundary (the whole text when it fits)."""
    chunks = chunk_text(text, budget, count)
    kept: list[str] = []
    used = 0
    for c in reversed(chunks):
        if kept and used + c.tokens > budget:
            break
        kept.append(c.text)
        used += c.tokens
    return "".join(reversed(kept))


def head_within(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The start of ``text`` that fits ``budget`` tokens, ending on a paragraph or
    sentence boundary (the whole text when it fits)."""
    chunks = chunk_text(text, budget, count)
    return chunks[0].text if chunks else ""


def run_messages(
    prompt: prompts.Prompt, text: str | None, variables: Mapping[str, str]
) -> list[Message]:
    """A template's messages with its variables (``$text`` is the input)."""
    values = dict(variables)
    if text is not None:
        values.setdefault("text", text)
    what = f"the prompt template `{prompt.name}`"
    system = prompts.fill(prompt.system, values, what) if prompt.system else ""
    return messages(system, prompts.fill(prompt.user, values, what))
