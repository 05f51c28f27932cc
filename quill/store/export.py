"""A draft version as a Markdown file with YAML front matter, and back.

The front matter is written by hand, without a YAML library: each key is a plain YAML
key and each value is JSON on one line. JSON is valid YAML 1.2 flow syntax, so any YAML
reader (Jekyll, Hugo, Pandoc, PyYAML) reads the file, and quill reads it back exactly:
the title, the text and the provenance (``meta``) survive the round trip unchanged.

    ---
    title: "A linen shirt"
    id: 12
    version: 3
    kind: "draft"
    created: "2025-05-01T09:30:12.345678+00:00"
    status: "complete"
    finish: "stop"
    note: "revised: make it shorter"
    meta: {"command": "revise", "model": {"name": "…"}, "seed": 42}
    ---

    # A linen shirt
    …

The body after the blank line that follows the front matter is the text exactly as
stored (a text without a final newline is written without one).

Pure functions: nothing here reads or writes files.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from quill.store.drafts import Draft, DraftVersion

FENCE = "---"
KEYS = ("title", "id", "version", "kind", "created", "status", "finish", "note", "meta")

# Characters YAML does not allow raw in a document (C1 controls, DEL, the BOM, lone
# surrogates, U+FFFE/U+FFFF) or that older YAML readers take for line breaks
# (U+0085, U+2028, U+2029): JSON escapes them as \uXXXX, which both languages read.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")
_YAML_OTHER = re.compile(r"^(?:[ \t]+\S|-(?:[ \t]|$)|#)")  # nested, a list item, a comment


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def parse_time(value: object) -> float | None:
    """The timestamp of an ``iso_time`` string (None when it is not one)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def safe_json(value: Any, *, indent: int | None = None, sort_keys: bool = True) -> str:
    """JSON with non-ASCII text kept readable, except the characters above, escaped
    (so it is also safe to print on a terminal)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, indent=indent)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def yaml_value(value: Any) -> str:
    """``value`` as one line of JSON that is also YAML 1.2."""
    return safe_json(value)


def front_matter(draft: Draft, version: DraftVersion) -> dict[str, Any]:
    return {
        "title": draft.title,
        "id": draft.id,
        "version": version.version,
        "kind": draft.kind,
        "created": iso_time(version.created_at),
        "status": version.status,
        "finish": version.finish,
        "note": version.note,
        "meta": version.meta,
    }


def to_markdown(draft: Draft, version: DraftVersion) -> str:
    """The version as Markdown with quill's front matter (see the module docstring)."""
    front = front_matter(draft, version)
    lines = [FENCE, *(f"{key}: {yaml_value(front[key])}" for key in KEYS), FENCE, "", ""]
    return "\n".join(lines) + version.content


def _scalar(raw: str) -> Any:
    """A front-matter value: JSON where it parses (quill's own files), else a YAML
    plain or quoted scalar as a string (front matter written by other tools)."""
    if raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw


def parse_markdown(text: str) -> tuple[dict[str, Any] | None, str]:
    """(front matter, body). ``front`` is None when the text does not start with a
    front-matter block (``---`` lines around ``key: value`` lines); then the body is the
    whole text. Keys this parser cannot read (nested YAML) are left out of ``front``."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != FENCE:
        return None, text
    front: dict[str, Any] = {}
    for i in range(1, len(lines)):
        line = lines[i].rstrip("\r")
        if line in (FENCE, "..."):
            body = "\n".join(lines[i + 1 :])
            if body.startswith("\r\n"):
                body = body[2:]
            elif body.startswith("\n"):
                body = body[1:]
            return front, body
        if not line.strip() or _YAML_OTHER.match(line):
            continue
        m = _KEY_LINE.match(line)
        if m is None:
            return None, text  # a rule line opening ordinary Markdown, not front matter
        front[m.group(1)] = _scalar(m.group(2) or "")
    return None, text


def is_quill_front(front: dict[str, Any] | None) -> bool:
    """Whether front matter was written by :func:`to_markdown`."""
    return (
        front is not None
        and isinstance(front.get("meta"), dict)
        and isinstance(front.get("version"), int)
    )
