"""`quill translate`: a text into another language, its Markdown kept.

Fenced code blocks pass through untouched and are never sent to the model. The rest is
cut into parts that fit the context with room for the translation (along headings,
paragraphs and sentences, never dropping anything); each part is translated on its own
and put back between the source's own blank lines, so the structure survives even when
the model trims whitespace.

Nothing here prints.
"""

from __future__ import annotations

from pathlib import Path

from quill import prompts
from quill.engine.base import Engine, Message
from quill.errors import UsageError
from quill.writing.language import is_cjk
from quill.writing.verbs import Part, messages, part_budget, plan_parts

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


def translate_messages(
    text: str, to: str, source: str | None, user_dir: Path | None = None
) -> list[Message]:
    p = prompts.load("translate", user_dir)
    user = prompts.render(p["user"], text=text, to=to, **{"from": source or "the source language"})
    return messages(p["system"], user)


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
