"""Reading a command's input: files, stdin (``-``), or a draft's latest version.

One reader for every command. Text is UTF-8 (with or without a BOM), or UTF-16 / UTF-32
with a BOM; binary files and other encodings are refused with the reason, never guessed
at (``--encoding NAME`` reads a file or stdin in a named encoding: GBK, Latin-1…).

Input is bounded by its size in bytes before it is read or decoded
(:data:`MAX_INPUT_BYTES`): counting the tokens of a 100 MB file with a real tokenizer
takes minutes, and evaluating them would take days, so such a file is refused at once
with its size and the limit, never a MemoryError.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from quill.errors import InputError, UsageError

if TYPE_CHECKING:
    from quill.env import Environment
    from quill.store.db import Store

MAX_INPUT_BYTES = 16 * 1024 * 1024  # about 4 million tokens of English prose
ENCODING_HINT = (
    "convert it to UTF-8, or name its encoding: --encoding gbk, --encoding latin-1, "
    "--encoding cp1252 …"
)


def check_encoding(encoding: str | None) -> str | None:
    """The codec ``--encoding`` names (its canonical name), or None for UTF-8 / a BOM."""
    if not encoding:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(
            f"--encoding: unknown encoding `{encoding}`",
            hint="e.g. utf-8, gbk, big5, shift_jis, latin-1, cp1252",
        ) from None


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def too_large(name: str, size: int | None = None) -> InputError:
    """Input over :data:`MAX_INPUT_BYTES`: ``size`` when it is known, else "more than"."""
    said = f"is {_mb(size)}" if size is not None else f"holds more than {_mb(MAX_INPUT_BYTES)}"
    return InputError(
        f"{name} {said}; quill reads at most {_mb(MAX_INPUT_BYTES)} of text at once "
        f"(about {MAX_INPUT_BYTES // 4 / 1e6:.0f} million tokens: checked on its size, "
        "before counting tokens)",
        hint=f"split the {'text' if name == 'stdin' else 'file'} and work on the parts one at "
        "a time",
    )


_MAGIC = (
    (b"%PDF", "a PDF file"),
    (b"PK\x03\x04", "a zip archive (.docx, .epub, .odt …)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"\x7fELF", "a program"),
    (b"\x1f\x8b", "a gzip archive"),
)
TEXT_HINT = "quill reads Markdown and plain text (UTF-8 or UTF-16 with a BOM)"


@dataclass
class Source:
    name: str  # as shown to the writer: the path as given, "stdin", or "draft N"
    title: str | None  # as shown to the model: the file name; None for stdin
    text: str = ""
    problem: str = ""  # why it cannot be used ("" if it can)
    data: bytes | None = None  # the file's bytes as read (for its sha256)
    path: Path | None = None  # the file, when the input is one
    draft_id: int | None = None  # the draft, when the input is one


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """(text, problem): UTF-8 (with or without BOM), or UTF-16 / UTF-32 with a BOM, or
    ``encoding`` when one is named; binary data and text in other encodings are refused
    with the reason."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return "", f"not valid {codec.upper()} text"
            return ("", "binary") if "\x00" in text else (text, "")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return "", f"binary, {what}"
    if b"\x00" in data[:8192]:
        return "", "binary"
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            return "", f"not {encoding} text (undecodable byte at offset {exc.start})"
        return text.removeprefix("\ufeff"), ""
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        return "", f"not UTF-8 text (undecodable byte at offset {exc.start})"


def hint_for(problem: str) -> str:
    return ENCODING_HINT if problem.startswith("not ") and "text" in problem else TEXT_HINT


def read_stdin_bytes(env: Environment) -> bytes | None:
    """All of stdin (at most MAX_INPUT_BYTES: more is InputError), or None when stdin is
    a terminal."""
    if env.stdin_tty:
        return None
    buf = getattr(env.stdin, "buffer", None)
    if buf is None:
        data = env.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8", "surrogateescape")
    else:
        data = buf.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise too_large("stdin")
    return data


def read_stdin_text(
    env: Environment, what: str = "stdin", encoding: str | None = None
) -> str | None:
    """Stdin decoded as :func:`decode` does (None when it is a terminal); binary or
    undecodable input is InputError (exit 3) with the reason."""
    data = read_stdin_bytes(env)
    if data is None:
        return None
    text, problem = decode(data, encoding)
    if problem:
        raise InputError(f"{what} is not usable: {problem}", hint=hint_for(problem))
    return text


def read_sources(
    env: Environment, files: list[str], verb: str = "summarize", encoding: str | None = None
) -> list[Source]:
    """Each file (``-`` is stdin, the default), with the reason it cannot be used, if any."""
    if not files:
        files = ["-"]
    if files.count("-") > 1:
        raise UsageError("stdin (-) can be read only once")
    out: list[Source] = []
    for f in files:
        if f == "-":
            raw = read_stdin_bytes(env)
            if raw is None:
                raise InputError(
                    f"nothing to {verb}",
                    hint=f"pass a file, or pipe the text: cat notes.md | quill {verb}",
                )
            text, problem = decode(raw, encoding)
            src = Source("stdin", None, text, problem, raw)
        else:
            p = Path(f).expanduser()
            if p.is_dir():
                raise InputError(f"{f} is a directory", hint="pass the files inside it")
            data = read_file_bytes(f, p)
            text, problem = decode(data, encoding)
            src = Source(f, p.name, text, problem, data, path=p)
        if not src.problem and not src.text.strip():
            src.problem = "empty"
        out.append(src)
    return out


def read_file_bytes(f: str, p: Path) -> bytes:
    """The bytes of file ``f`` (shown as given), refused before reading when too large."""
    try:
        with open(p, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > MAX_INPUT_BYTES:
                raise too_large(f, st.st_size)
            data = fh.read(MAX_INPUT_BYTES + 1)  # a pipe or /dev file has no size
    except FileNotFoundError:
        raise InputError(f"{f}: no such file", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(f"{f} is a directory", hint="pass the files inside it") from None
    except OSError as exc:
        raise InputError(
            f"cannot read {f}: {exc.strerror or exc}", hint="check the file's permissions"
        ) from None
    if len(data) > MAX_INPUT_BYTES:
        raise too_large(f)
    return data


def read_text(
    env: Environment,
    file: str | None,
    verb: str,
    *,
    store: Store | None = None,
    draft_id: int | None = None,
    encoding: str | None = None,
) -> Source:
    """The one input of a single-text command: FILE, stdin, or (with no FILE and nothing
    piped) the latest version of draft ``draft_id``. Refuses empty and binary input."""
    if file is None and env.stdin_tty and draft_id is not None and store is not None:
        version = store.draft_version(draft_id)
        if version is None or not version.content.strip():
            raise InputError(f"draft {draft_id} is empty: nothing to {verb}")
        return Source(f"draft {draft_id}", None, version.content, draft_id=draft_id)
    src = read_sources(env, [file or "-"], verb, encoding)[0]
    if src.problem:
        raise refused(src, verb)
    return src


def refused(src: Source, verb: str) -> InputError:
    """Why ``src`` cannot be used (its ``problem``: empty, binary, undecodable)."""
    if src.problem == "empty":
        return InputError(f"{src.name} is empty: nothing to {verb}")
    return InputError(f"cannot {verb} {src.name}: {src.problem}", hint=hint_for(src.problem))
