"""Bad input through every command that reads text (FakeEngine): each case gives the
right result, or one `error:` line with exit 3 (InputError) — no traceback, nothing sent
to the model, nothing written."""

from __future__ import annotations

import builtins
import codecs
import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Run

from quill.cli.inputs import MAX_INPUT_BYTES, decode
from quill.engine.fake import FakeEngine
from quill.env import Environment

CHINESE = "春天的早晨，河边的小镇很安静。渡船慢慢靠岸。"
FRENCH = "Le café crème était délicieux, à côté de la fenêtre."

# Commands that read a FILE (or stdin with -), with the arguments they need.
FILE_COMMANDS: dict[str, list[str]] = {
    "summarize": ["summarize"],
    "rewrite": ["rewrite", "--tone", "formal"],
    "translate": ["translate", "--to", "fr"],
    "outline": ["outline"],
    "proofread": ["proofread"],
}
# Commands that read stdin only.
STDIN_COMMANDS: dict[str, list[str]] = {
    "draft": ["draft", "a short note from this material"],
    "chat": ["chat"],
    **{k: [*v, "-"] for k, v in FILE_COMMANDS.items()},
}


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, what the error says)."""
    d = tmp / "inputs"
    d.mkdir()
    files: dict[str, tuple[Path, str]] = {}

    def put(name: str, data: bytes, says: str) -> None:
        p = d / name
        p.write_bytes(data)
        files[name] = (p, says)

    put("empty.md", b"", "empty")
    put("blank.md", b"  \n\n\t\n", "empty")
    put("picture.png", b"\x89PNG\r\n\x1a\n" + os.urandom(200), "PNG")
    put("nul.txt", b"some text\x00\x00\x00more", "binary")
    put("gbk.txt", CHINESE.encode("gbk"), "--encoding")
    put("latin1.txt", FRENCH.encode("latin-1"), "--encoding")
    files["folder"] = (d, "directory")
    files["missing.md"] = (d / "missing.md", "no such file")
    big = d / "huge.md"
    with big.open("wb") as f:  # a sparse 100 MB file: the size is refused before reading
        f.truncate(100 * 1024 * 1024)
    files["huge.md"] = (big, "at most 16.0 MB")
    return files


BAD_FILES = [
    "empty.md",
    "blank.md",
    "picture.png",
    "nul.txt",
    "gbk.txt",
    "latin1.txt",
    "folder",
    "missing.md",
    "huge.md",
]


@contextlib.contextmanager
def bytes_read(path: Path) -> Iterator[list[int]]:
    """The sizes of the reads made from ``path`` through open() while in the block."""
    sizes: list[int] = []
    real_open = io.open
    target = os.path.realpath(path)

    class Counted:
        def __init__(self, f: Any) -> None:
            self._f = f

        def read(self, *a: Any) -> Any:
            data = self._f.read(*a)
            sizes.append(len(data))
            return data

        def __getattr__(self, name: str) -> Any:
            return getattr(self._f, name)

        def __enter__(self) -> Counted:
            self._f.__enter__()
            return self

        def __exit__(self, *exc: Any) -> Any:
            return self._f.__exit__(*exc)

        def __iter__(self) -> Any:
            return iter(self._f)

    def counted_open(file: Any, *a: Any, **kw: Any) -> Any:
        f = real_open(file, *a, **kw)
        if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == target:
            return Counted(f)
        return f

    with pytest.MonkeyPatch.context() as m:
        m.setattr(io, "open", counted_open)
        m.setattr(builtins, "open", counted_open)
        yield sizes


def _one_error(r: Run) -> str:
    assert r.exit_code == 3, (r.exit_code, r.stderr)
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, r.stderr
    assert r.stdout == ""
    return r.stderr


@pytest.mark.parametrize("case", BAD_FILES)
@pytest.mark.parametrize("command", list(FILE_COMMANDS))
def test_a_bad_file_is_one_error_line_and_nothing_is_written(
    cli: Callable[..., Run], tmp_path: Path, quill_home: Path, command: str, case: str
) -> None:
    path, says = _bad_files(tmp_path)[case]
    out = tmp_path / "out.md"
    engine = FakeEngine()
    with bytes_read(path) as read:
        r = cli([*FILE_COMMANDS[command], str(path), "--out", str(out)], engine=engine)
    if case == "huge.md":  # refused on its size: not read
        assert read == [], read
    err = _one_error(r)
    assert says in err
    assert engine.calls == [] and not out.exists()
    assert not (quill_home / "data" / "quill.db").exists() or "draft" not in err


def _env_with_stdin(make_env: Callable[..., Environment], data: bytes) -> Environment:
    env = make_env(FakeEngine(), stdin="")
    env.stdin.buffer = io.BytesIO(data)  # type: ignore[attr-defined]
    return env


BAD_STDIN = {
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "PNG"),
    "nul": (b"text\x00with NUL bytes", "binary"),
    "gbk": (CHINESE.encode("gbk"), "--encoding"),
    "latin1": (FRENCH.encode("latin-1"), "--encoding"),
    "too-large": (b"word " * (MAX_INPUT_BYTES // 5 + 10), "more than 16.0 MB"),
}


@pytest.mark.parametrize("case", list(BAD_STDIN))
@pytest.mark.parametrize("command", list(STDIN_COMMANDS))
def test_bad_stdin_is_one_error_line(
    cli: Callable[..., Run],
    make_env: Callable[..., Environment],
    command: str,
    case: str,
) -> None:
    data, says = BAD_STDIN[case]
    env = _env_with_stdin(make_env, data)
    r = cli(STDIN_COMMANDS[command], env=env)
    err = _one_error(r)
    assert says in err


@pytest.mark.parametrize("command", list(STDIN_COMMANDS))
def test_empty_stdin(
    cli: Callable[..., Run], make_env: Callable[..., Environment], command: str
) -> None:
    """Nothing piped: an error for what needs a text; `draft` works from its brief."""
    env = _env_with_stdin(make_env, b"")
    r = cli(STDIN_COMMANDS[command], env=env)
    if command == "draft":
        assert r.exit_code == 0 and r.stdout.strip()
    else:
        err = _one_error(r)
        assert "empty" in err or "nothing" in err


ENCODED = {
    "gbk": (CHINESE, CHINESE.encode("gbk"), "gbk"),
    "latin-1": (FRENCH, FRENCH.encode("latin-1"), "latin-1"),
    "utf-16-le-bom": (CHINESE, codecs.BOM_UTF16_LE + CHINESE.encode("utf-16-le"), None),
    "utf-16-be-bom": (FRENCH, codecs.BOM_UTF16_BE + FRENCH.encode("utf-16-be"), None),
    "utf-8-bom": (CHINESE, codecs.BOM_UTF8 + CHINESE.encode("utf-8"), None),
    "utf-32-le-bom": (FRENCH, codecs.BOM_UTF32_LE + FRENCH.encode("utf-32-le"), None),
}


@pytest.mark.parametrize("case", list(ENCODED))
@pytest.mark.parametrize("command", ["summarize", "rewrite", "draft", "chat"])
def test_other_encodings_are_decoded_when_they_can_be_told(
    cli: Callable[..., Run],
    make_env: Callable[..., Environment],
    tmp_path: Path,
    command: str,
    case: str,
) -> None:
    text, data, encoding = ENCODED[case]
    engine = FakeEngine("A reply.")
    extra = ["--encoding", encoding] if encoding else []
    if command in ("draft", "chat"):
        env = make_env(engine, stdin="")
        env.stdin.buffer = io.BytesIO(data)  # type: ignore[attr-defined]
        r = cli([*STDIN_COMMANDS[command], *extra], env=env)
    else:
        f = tmp_path / "text.txt"
        f.write_bytes(data)
        r = cli([*FILE_COMMANDS[command], str(f), *extra], engine=engine)
    assert r.exit_code == 0, r.stderr
    sent = "\n".join(m.content for call in engine.calls for m in call)
    assert text in sent
    assert "\ufeff" not in sent and "\ufffd" not in sent


def test_an_unknown_encoding_is_a_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("hello")
    r = cli(["summarize", str(f), "--encoding", "klingon"], engine=FakeEngine())
    assert r.exit_code == 2 and "unknown encoding" in r.stderr and "Traceback" not in r.stderr


def test_decode_tells_only_what_it_can_tell_for_sure() -> None:
    assert decode(CHINESE.encode("utf-8")) == (CHINESE, "")
    assert decode(codecs.BOM_UTF16_LE + CHINESE.encode("utf-16-le")) == (CHINESE, "")
    assert decode(CHINESE.encode("gbk"))[1].startswith("not UTF-8 text")
    assert decode(FRENCH.encode("latin-1"))[1].startswith("not UTF-8 text")
    assert decode(CHINESE.encode("gbk"), "gbk") == (CHINESE, "")
    assert decode(b"\xff\xfe\x00\x00" + b"\x00\x00\x00\x00")[1] == "binary"  # UTF-32 NULs


def test_an_unreadable_file(cli: Callable[..., Run], tmp_path: Path) -> None:
    """chmod 000 stops a normal user; root reads through it, so for root the test uses
    a file the kernel refuses to read for everyone (/proc/self/mem at offset 0: EIO)."""
    if os.geteuid() == 0:
        target = "/proc/self/mem"
        if not Path(target).exists():
            pytest.skip("no /proc here")
    else:
        p = tmp_path / "locked.md"
        p.write_text("secret")
        p.chmod(0)
        target = str(p)
    engine = FakeEngine()
    r = cli(["summarize", target], engine=engine)
    err = _one_error(r)
    assert f"cannot read {target}" in err and engine.calls == []


def test_a_100_mb_file_is_refused_on_its_size_at_once(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    big = tmp_path / "book.md"
    with big.open("wb") as f:
        f.write(b"It was a dark and stormy night. " * 1000)
        f.truncate(100 * 1024 * 1024)
    with bytes_read(big) as read:
        r = cli(["summarize", str(big)], engine=FakeEngine())
    err = _one_error(r)
    assert "100.0 MB" in err and "16.0 MB" in err
    assert read == [], read  # checked on its size, not read
