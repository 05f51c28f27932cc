"""`quill drafts revise`: a new version of a draft, made from an instruction."""

from __future__ import annotations

from pathlib import Path

from quill import prompts
from quill.engine.base import Message
from quill.errors import InputError

MIN_MAX_TOKENS = 256


def build_messages(text: str, instruction: str, *, user_dir: Path | None = None) -> list[Message]:
    """The prompt: the piece to revise and the writer's instruction."""
    instruction = instruction.strip()
    if not instruction:
        raise InputError(
            "the instruction is empty",
            hint='say what to change: quill drafts revise 12 "make it shorter"',
        )
    if not text.strip():
        raise InputError("the draft is empty: there is nothing to revise")
    p = prompts.load("revise", user_dir)
    user = prompts.render(
        p["user"], text=text.strip("\n"), instruction=instruction.rstrip(" .。!！")
    )
    return [Message("system", p["system"].strip()), Message("user", user.strip())]


def max_tokens_for(text_tokens: int) -> int:
    """Room for a revision that grows the text by half (a rewrite may lengthen it)."""
    return max(MIN_MAX_TOKENS, int(text_tokens * 1.5) + 128)
