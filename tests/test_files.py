"""Atomic writes: the usual mode for new files, no replacing a file that appeared
meanwhile, and no writing into directories or special files."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Run

from quill.engine.base import Piece, Sampling
from quill.engine.fake import FakeEngine
from quill.errors import OutputError
from quill.store.files import atomic_write_text


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    old = os.umask(0o022)

    def set_(mask: int) -> None:
        os.umask(mask)

    yield set_
    os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, umask: Callable) -> None:
    umask(0o022)
    assert _mode(atomic_write_text(tmp_path / "a.md", "a")) == 0o644
    umask(0o077)
    assert _mode(atomic_write_text(tmp_path / "b.md", "b")) == 0o600


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask: Callable) -> None:
    p = tmp_path / "c.md"
    p.write_text("old")
    p.chmod(0o640)
    atomic_write_text(p, "new")
    assert p.read_text() == "new" and _mode(p) == 0o640


def test_no_replace_is_checked_at_the_rename(tmp_path: Path) -> None:
    p = tmp_path / "d.md"
    atomic_write_text(p, "first", force=False)
    with pytest.raises(OutputError, match="already exists"):
        atomic_write_text(p, "second", force=False)
    assert p.read_text() == "first"
    assert [x.name for x in tmp_path.iterdir()] == ["d.md"]  # no temporary left


def test_backup_keeps_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "e.md"
    p.write_text("old")
    atomic_write_text(p, "new", backup=True)
    assert p.read_text() == "new" and (tmp_path / "e.md~").read_text() == "old"


def test_directories_and_special_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write_text(tmp_path, "x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        atomic_write_text(fifo, "x")


def test_out_created_during_generation_is_not_replaced(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    """--out is checked before generating and again at the rename: a file that appears
    meanwhile (another program, another quill) is kept, and the draft is still saved."""
    out = tmp_path / "race.md"

    class Racing(FakeEngine):
        def stream(self, messages: list, params: Sampling) -> Iterator[Piece]:
            out.write_text("someone else's text")
            return super().stream(messages, params)

    r = cli(["draft", "x", "--out", str(out)], engine=Racing("Generated text."))
    assert r.exit_code == OutputError.exit_code and "already exists" in r.stderr
    assert out.read_text() == "someone else's text"
    assert "saved as draft 1 v1: quill drafts show 1" in r.stderr


def test_out_refuses_a_special_file_before_generating(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    engine = FakeEngine("x")
    r = cli(["draft", "x", "--out", str(fifo), "--force"], engine=engine)
    assert r.exit_code == OutputError.exit_code and "not a regular file" in r.stderr
    assert engine.calls == []
