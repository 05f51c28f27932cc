"""A session as Markdown (for /save --all, `quill sessions export|show`)."""

from __future__ import annotations

from datetime import datetime

from quill.store.db import Session, Turn

ROLE_TITLES = {"user": "You", "assistant": "Assistant", "system": "System"}


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def status_mark(turn: Turn) -> str:
    if turn.status == "interrupted":
        return "*(interrupted)*"
    if turn.status == "streaming":
        return "*(still being written)*"
    if turn.finish == "length":
        return "*(stopped at the token limit)*"
    if turn.finish == "context":
        return "*(stopped: the context window was full)*"
    if turn.finish == "loop":
        return "*(stopped: the model was repeating itself)*"
    return ""


def reply_markdown(turn: Turn) -> str:
    text = turn.content.rstrip("\n")
    return text + "\n"


def session_markdown(session: Session, turns: list[Turn]) -> str:
    """The whole conversation: a title, the system prompt, then each turn under a heading."""
    lines = [f"# {session.name}", ""]
    meta = [f"started {when(session.created_at)}"]
    if session.model:
        meta.append(f"model {session.model}")
    lines += ["*" + " · ".join(meta) + "*", ""]
    if session.system:
        quoted = "\n".join("> " + ln if ln else ">" for ln in session.system.splitlines())
        lines += ["> **System:**", ">", quoted, ""]
    for t in turns:
        if t.role not in ROLE_TITLES:
            continue
        lines += [f"## {ROLE_TITLES[t.role]}", ""]
        body = t.content.rstrip("\n")
        if body:
            lines += [body, ""]
        mark = status_mark(t)
        if mark:
            lines += [mark, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def first_line(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
