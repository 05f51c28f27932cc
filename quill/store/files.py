"""Atomic file writes: temp file in the same folder, fsync, os.replace, fsync the folder."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from quill.errors import OutputError


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # elsewhere: read it by setting it (and put it back at once)
    os.umask(old)
    return old


def check_target(p: Path) -> None:
    """Refuse a target that is a directory or a special file (a FIFO, a device)."""
    if p.is_dir():
        raise OutputError(f"{p} is a directory", hint="pass a file name")
    if p.exists() and not p.is_file():
        raise OutputError(f"{p} is not a regular file", hint="pass the path of a file")


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, force: bool = True, backup: bool = False
) -> Path:
    """Write ``text`` to ``path`` so a reader sees the old file or the new, never half.

    ``force=False`` refuses to replace an existing file, checked at the moment the new
    file takes its name (a hard link, which fails if the name exists), so a file created
    meanwhile by someone else is never replaced. ``backup=True`` keeps the old file as
    ``NAME~`` before replacing it. A new file gets the usual mode (0666 less the
    umask); a replaced file keeps its mode.
    """
    p = Path(path).expanduser()
    check_target(p)
    if p.exists() and not force:
        raise OutputError(f"{p} already exists", hint="pass --force to replace it")
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
        mode = p.stat().st_mode & 0o7777 if p.exists() else 0o666 & ~_umask()
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        if not force:
            _link_no_replace(tmp, p)
        else:
            if backup and p.exists():
                os.replace(p, p.with_name(p.name + "~"))
            os.replace(tmp, p)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fsync_dir(parent)
    return p


def _link_no_replace(tmp: str, p: Path) -> None:
    try:
        os.link(tmp, p)
    except FileExistsError:
        raise OutputError(f"{p} already exists", hint="pass --force to replace it") from None
    except OSError:  # no hard links on this file system: the best check left
        if p.exists():
            raise OutputError(f"{p} already exists", hint="pass --force to replace it") from None
        os.replace(tmp, p)


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
