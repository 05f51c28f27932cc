"""Atomic file writes: temp file in the same folder, fsync, os.replace, fsync the folder."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from quill.errors import OutputError


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, force: bool = True, backup: bool = False
) -> Path:
    """Write ``text`` to ``path`` so a reader sees the old file or the new, never half.

    ``force=False`` refuses to replace an existing file. ``backup=True`` keeps the old
    file as ``NAME~`` before replacing it.
    """
    p = Path(path).expanduser()
    if p.exists() and not force:
        raise OutputError(f"{p} already exists")
    if p.is_dir():
        raise OutputError(f"{p} is a directory", hint="pass a file name to --out")
    parent = p.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write {p}: {exc.strerror or exc}",
            hint="check the folder exists and is writable",
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if p.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, p.stat().st_mode & 0o7777)
            if backup:
                os.replace(p, p.with_name(p.name + "~"))
        os.replace(tmp, p)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fsync_dir(parent)
    return p


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
