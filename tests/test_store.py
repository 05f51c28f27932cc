"""The SQLite store: schema and pragmas, sessions, turns, journaling, recovery, drafts."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from quill.engine.base import Stats
from quill.errors import StoreError
from quill.store.db import SCHEMA_VERSION, ReplyJournal, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "data" / "quill.db")
    yield s  # type: ignore[misc]
    s.close()


def test_open_sets_wal_busy_timeout_foreign_keys_and_version(store: Store) -> None:
    db = store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000  # the README says 30 s
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.schema_version() == SCHEMA_VERSION >= 1
    assert store.integrity_check() == "ok"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sessions", "turns", "drafts", "draft_versions"} <= tables


def test_reopen_keeps_data_and_does_not_migrate_twice(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with Store(path) as s:
        sid = s.create_session("a").id
        s.add_turn(sid, "user", "hello")
    with Store(path) as s:
        assert [t.content for t in s.turns(sid)] == ["hello"]
        assert s.schema_version() == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer quill"):
        Store(path)


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable quill database"):
        Store(path)


def test_sessions_names_last_and_list(store: Store) -> None:
    a = store.create_session("alpha", system="be brief")
    b = store.create_session()  # named after the time
    b2 = store.create_session(b.name, unique=True)
    assert b2.name == f"{b.name}-2"
    with pytest.raises(StoreError, match="already exists"):
        store.create_session("alpha")
    store.add_turn(a.id, "user", "first message of alpha")
    last = store.last_session()
    assert last is not None and last.name == "alpha"  # a turn touches updated_at
    rows = {r.session.name: r for r in store.sessions()}
    assert rows["alpha"].turns == 1
    assert rows["alpha"].first_message == "first message of alpha"
    assert store.session("alpha").system == "be brief"  # type: ignore[union-attr]
    store.update_session(a.id, settings={"temperature": 0.2}, model="m")
    again = store.session("alpha")
    assert again is not None and again.settings == {"temperature": 0.2} and again.model == "m"
    store.update_session(a.id, clear_system=True)
    assert store.session("alpha").system is None  # type: ignore[union-attr]


def test_delete_session_cascades_to_turns(store: Store) -> None:
    s = store.create_session("x")
    store.add_turn(s.id, "user", "u")
    store.delete_session(s.id)
    assert store.session("x") is None
    assert store.db.execute("SELECT count(*) FROM turns").fetchone()[0] == 0


def test_journal_saves_text_while_streaming_and_finishes(store: Store) -> None:
    s = store.create_session("j")
    store.add_turn(s.id, "user", "q")
    j = ReplyJournal(store, s.id, model="fake", interval=0.0)
    t = store.turn(j.turn.id)
    assert t is not None and t.status == "streaming" and t.content == ""
    j.feed("Hello")
    j.feed(", world")
    mid = store.turn(j.turn.id)
    assert mid is not None and mid.content == "Hello, world" and mid.status == "streaming"
    stats = Stats(prompt_tokens=10, evaluated_tokens=4, generated_tokens=2, ttft_s=0.5)
    j.finish("Hello, world", status="complete", finish="stop", stats=stats)
    done = store.turn(j.turn.id)
    assert done is not None and done.status == "complete" and done.finish == "stop"
    assert done.stats["prompt_tokens"] == 10 and done.stats["cached_tokens"] == 6
    assert done.stats["ttft_ms"] == 500.0


def test_journal_batches_writes(store: Store) -> None:
    s = store.create_session("b")
    j = ReplyJournal(store, s.id, interval=3600, every=3)
    j.feed("a")
    j.feed("b")
    assert store.turn(j.turn.id).content == ""  # type: ignore[union-attr]
    j.feed("c")
    assert store.turn(j.turn.id).content == "abc"  # type: ignore[union-attr]


def test_recover_marks_turns_of_dead_writers_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with Store(path) as s:
        sid = s.create_session("r").id
        dead = s.add_turn(sid, "assistant", "partial", status="streaming")
        alive = s.add_turn(sid, "assistant", "other", status="streaming")
        # A pid that has exited and been reaped, and one that is running.
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        s.db.execute("UPDATE turns SET pid = ? WHERE id = ?", (child.pid, dead.id))
        s.db.execute("UPDATE turns SET pid = ? WHERE id = ?", (os.getppid(), alive.id))
    with Store(path) as s:
        assert s.recovered == 1
        assert s.turn(dead.id).status == "interrupted"  # type: ignore[union-attr]
        assert s.turn(dead.id).content == "partial"  # type: ignore[union-attr]
        assert s.turn(alive.id).status == "streaming"  # type: ignore[union-attr]


def test_dropped_turns_stay_in_the_file(store: Store) -> None:
    s = store.create_session("d")
    u = store.add_turn(s.id, "user", "u")
    a = store.add_turn(s.id, "assistant", "a")
    store.drop_turns([u.id, a.id])
    assert store.turns(s.id) == []
    assert [t.content for t in store.turns(s.id, include_dropped=True)] == ["u", "a"]


def test_drafts_have_versions(store: Store) -> None:
    v1 = store.create_draft("title", "first", note="from chat")
    v2 = store.add_draft_version(v1.draft_id, "second", note="edited")
    assert (v1.version, v2.version) == (1, 2)
    assert [v.content for v in store.draft_versions(v1.draft_id)] == ["first", "second"]


def test_two_connections_write_the_same_session(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with Store(path) as a, Store(path) as b:
        sid = a.create_session("shared").id
        a.add_turn(sid, "user", "from a")
        b.add_turn(sid, "user", "from b")
        assert [t.content for t in a.turns(sid)] == ["from a", "from b"]
