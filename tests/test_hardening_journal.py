"""The store's promises, held to their numbers: a process killed mid-generation loses at
most the last 0.25 s of text (the journal's flush interval), and a second writer waits
up to 30 s for the write lock instead of failing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from quill.errors import StoreError
from quill.store import db as store_db
from quill.store.db import BUSY_TIMEOUT_MS, Store
from quill.store.journal import FLUSH_EVERY, FLUSH_INTERVAL_S

DELAY = 0.01  # the fake engine's pause between words
ENDLESS = " ".join(f"word{i}" for i in range(6000))
# `quill` whose (fake) engine reports on stderr the monotonic time of each piece it hands
# on: the moments the text was generated, on the child's own clock.
TIMED_QUILL = """
import sys, time
from quill.engine import fake
gen = fake.FakeEngine._gen
def timed(self, *a, **k):
    for piece in gen(self, *a, **k):
        if piece.text:
            print(f"piece {time.monotonic():.6f} {piece.text.strip()}", file=sys.stderr, flush=True)
        yield piece
fake.FakeEngine._gen = timed
import runpy
runpy.run_module("quill", run_name="__main__", alter_sys=True)
"""


def _kill_after(home: Path, words: int) -> tuple[list[tuple[float, str]], list[str]]:
    """Run `quill draft` on the fake engine and SIGKILL it once it has generated
    ``words`` words; (each word generated, with its time, the words in the store)."""
    env = {
        **os.environ,
        "QUILL_HOME": str(home),
        "QUILL_ENGINE": "fake",
        "QUILL_FAKE_REPLY": ENDLESS,
        "QUILL_FAKE_DELAY": str(DELAY),
        "PYTHONUNBUFFERED": "1",
    }
    p = subprocess.Popen(
        [sys.executable, "-c", TIMED_QUILL, "draft", "a long list", "--max-tokens", "6000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert p.stderr is not None
    generated: list[tuple[float, str]] = []
    try:
        for line in p.stderr:
            if line.startswith("piece "):
                _, t, word = line.split()
                generated.append((float(t), word))
                if len(generated) == words:
                    break
        else:
            pytest.fail("quill ended before it could be killed")
    finally:
        p.kill()
    rest = p.stderr.read()  # what it wrote before it died
    p.wait(timeout=60)
    p.stderr.close()
    for line in rest.splitlines():
        if line.startswith("piece "):
            _, t, word = line.split()
            generated.append((float(t), word))
    with Store(home / "data" / "quill.db") as s:
        assert s.recovered == 1 and s.integrity_check() == "ok"
        v = s.draft_version(1)
        assert v is not None and v.status == "interrupted"
        stored = v.content.split()
    return generated, stored


@pytest.mark.parametrize("words", [80, 157, 203])
def test_a_sigkill_loses_at_most_the_flush_interval_of_text(tmp_path: Path, words: int) -> None:
    """The words generated and not in the store after a SIGKILL were all generated
    within 0.25 s, on the generating process's own clock: however loaded the machine,
    however the kill falls between two flushes."""
    generated, stored = _kill_after(tmp_path / "home", words)
    assert len(generated) >= words
    assert stored == [w for _, w in generated[: len(stored)]]  # the text, in order
    lost = generated[len(stored) :]
    span = lost[-1][0] - lost[0][0] if lost else 0.0
    print(f"killed after {len(generated)} words: {len(lost)} lost, generated in {span:.3f} s")
    assert len(stored) > 0
    assert span < FLUSH_INTERVAL_S == 0.25, f"{len(lost)} words lost, generated in {span:.3f} s"
    assert len(lost) < FLUSH_EVERY


# -- the busy timeout --------------------------------------------------------------------

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()  # released when the parent says so
db.execute("COMMIT")
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    """Another process holding the store's write lock until a line on its stdin."""
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdout.readline() == "held\n"
    return p


def _write_in_thread(path: Path) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def write() -> None:
        try:
            with Store(path) as s, s.tx() as db:
                db.execute("PRAGMA user_version")
                t0 = time.monotonic()
                out.append(t0)
        except StoreError as exc:
            out.append(exc)

    t = threading.Thread(target=write)
    t.start()
    return t, out


def test_the_busy_timeout_is_30_s(tmp_path: Path) -> None:
    assert BUSY_TIMEOUT_MS == 30_000
    with Store(tmp_path / "q.db") as s:
        assert s.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


def test_a_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    """The lock is held for seconds (SQLite's own default would fail at once): the
    writer waits, and writes once the other process lets go."""
    path = tmp_path / "q.db"
    Store(path).close()
    holder = _holder(path)
    t0 = time.monotonic()
    writer, out = _write_in_thread(path)
    writer.join(3)  # a writer that did not wait has failed by now
    assert writer.is_alive() and not out, out
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    writer.join(60)
    holder.wait(60)
    assert len(out) == 1 and isinstance(out[0], float), out
    assert out[0] - t0 >= 3


def test_past_the_busy_timeout_the_writer_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same wait, ended by a (shortened) timeout: a StoreError, not a hang."""
    path = tmp_path / "q.db"
    Store(path).close()
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 500)
    holder = _holder(path)
    try:
        writer, out = _write_in_thread(path)
        writer.join(120)
        assert len(out) == 1 and isinstance(out[0], StoreError), out
        assert "busy" in str(out[0])
    finally:
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        holder.wait(60)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
