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
stored (a text without a final newline is written without one). Front matter written by
other tools (Jekyll, Hugo, Obsidian) is read as YAML, with PyYAML's safe loader.

Pure functions: nothing here reads or writes files.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from typing import Any

from quill.errors import InputError
from quill.store.drafts import Draft, DraftVersion

FENCE = "---"
KEYS = ("title", "id", "version", "kind", "created", "status", "finish", "note", "meta")

# Characters YAML does not allow raw in a document (C1 controls, DEL, the BOM, lone
# surrogates, U+FFFE/U+FFFF) or that older YAML readers take for line breaks
# (U+0085, U+2028, U+2029): JSON escapes them as \uXXXX, which both languages read.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")


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


def parse_markdown(text: str) -> tuple[dict[str, Any] | None, str]:
    """(front matter, body). ``front`` is None when the text does not start with a
    front-matter block (``---`` lines around ``key: value`` lines); then the body is the
    whole text. quill's own front matter (a JSON value a key) is read exactly; any
    other is YAML, read with PyYAML's safe loader (Jekyll's ``title: >-``, lists, dates).
    Front matter that is not valid YAML raises :class:`FrontMatterError`."""
    lines = text.split("\n")
    if lines[0].rstrip("\r") != FENCE:
        return None, text
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r") in (FENCE, "...")), 0)
    block = [line.rstrip("\r") for line in lines[1:end]]
    first = next((ln for ln in block if ln.strip() and not ln.startswith("#")), None)
    if not end or (first is not None and not _KEY_LINE.match(first)):
        return None, text  # a rule line opening ordinary Markdown, not front matter
    body = "\n".join(lines[end + 1 :])
    body = body[2:] if body.startswith("\r\n") else body.removeprefix("\n")
    front = _json_front(block)
    if front is None:
        front = _yaml_front(block)
    return (front, body) if front is not None else (None, text)


class FrontMatterError(InputError):
    """A file's front matter is not valid YAML (or not one that quill can keep)."""

    hint = "fix the front matter between the --- lines, or remove it"


def _json_front(block: list[str]) -> dict[str, Any] | None:
    """quill's own lines (``key: <JSON>``), read exactly; None for any other YAML."""
    front: dict[str, Any] = {}
    for line in block:
        if not line.strip():
            continue
        m = _KEY_LINE.match(line)
        if m is None or not m.group(2):
            return None
        try:
            front[m.group(1)] = json.loads(m.group(2))
        except ValueError:
            return None
    return front


def _yaml_front(block: list[str]) -> dict[str, Any] | None:
    import yaml  # ~50 ms: only when a file with foreign front matter is read

    try:
        data = yaml.safe_load("\n".join(block))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontMatterError(f"the front matter is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        return None  # a text between two rules, not front matter
    plain = _plain(data, [0], 0)
    assert isinstance(plain, dict)
    return plain


def _plain(value: Any, count: list[int], depth: int) -> Any:
    """A YAML value as JSON data (dates as ISO text, sets as lists, keys as text), so
    that it can be kept in a draft's provenance; a value nested too deep or too large
    (an alias bomb, a recursive alias) is refused."""
    count[0] += 1
    if depth > 20 or count[0] > 10_000:
        raise FrontMatterError("the front matter is nested too deep or too large to keep")
    if isinstance(value, dict):
        return {str(k): _plain(v, count, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v, count, depth + 1) for v in value]
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def is_quill_front(front: dict[str, Any] | None) -> bool:
    """Whether front matter was written by :func:`to_markdown`."""
    return (
        front is not None
        and isinstance(front.get("meta"), dict)
        and isinstance(front.get("version"), int)
    )
