"""`quill draft`: a first draft from a brief."""

from __future__ import annotations

from pathlib import Path

from quill import prompts
from quill.engine.base import Message
from quill.errors import InputError, UsageError

DEFAULT_MAX_TOKENS = 1024


def forms(user_dir: Path | None = None) -> dict[str, str]:
    return dict(prompts.load("draft", user_dir)["forms"])


def max_tokens_for(words: int | None) -> int:
    """A finite budget that leaves room for the requested length (CJK runs ~1.5 tok/char)."""
    if words is None:
        return DEFAULT_MAX_TOKENS
    return max(128, int(words * 2.2) + 64)


def build_messages(
    brief: str | None,
    material: str | None = None,
    *,
    form: str | None = None,
    tone: str | None = None,
    words: int | None = None,
    lang: str | None = None,
    user_dir: Path | None = None,
) -> list[Message]:
    """The prompt for a draft. ``brief`` is the instruction, ``material`` what it works on."""
    brief = (brief or "").strip()
    material = (material or "").strip()
    if not brief and not material:
        raise InputError(
            "nothing to draft: the brief is empty",
            hint='pass a brief: quill draft "a product page for a linen shirt"',
        )
    if not brief:  # only stdin: it is the brief
        brief, material = material, ""
    p = prompts.load("draft", user_dir)
    known = p["forms"]
    if form is not None and form not in known:
        raise UsageError(f"unknown form `{form}`", hint="choose one of: " + ", ".join(known))
    if words is not None and words < 1:
        raise UsageError("--words must be at least 1")
    form_text = known[form] if form else "the piece the brief asks for"
    reqs = []
    if tone:
        reqs.append(f"- Tone: {tone}.")
    if words:
        reqs.append(f"- Length: about {words} words.")
    if lang:
        reqs.append(f"- Write in {lang}.")
    else:
        reqs.append("- Write in the same language as the brief.")
    reqs.append(
        "- Output only the piece itself, in Markdown where structure helps; "
        "never wrap it in a code block."
    )
    mat = prompts.render(p["material"], text=material) if material else ""
    user = prompts.render(
        p["user"], form=form_text, brief=brief, material=mat, requirements="\n".join(reqs)
    )
    return [Message("system", p["system"].strip()), Message("user", user.strip())]
