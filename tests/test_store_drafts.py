"""Drafts in the store: migration from schema 1, versions with provenance, journaling,
recovery after a crash, search, and two processes writing at once."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from quill.engine.base import Result, Stats
from quill.errors import StoreError, UsageError
from quill.store.db import SCHEMA_VERSION, Store
from quill.store.drafts import derive_title
from quill.store.journal import DraftJournal

DATA = Path(__file__).parent / "data"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "quill.db")
    yield s  # type: ignore[misc]
    s.close()


def _v1_store(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript((DATA / "store_v1.sql").read_text("utf-8"))
    db.commit()
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.close()


def test_a_store_from_schema_1_is_migrated_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _v1_store(path)
    with Store(path) as s:
        assert s.schema_version() == SCHEMA_VERSION == 2
        assert s.integrity_check() == "ok"
        session = s.session("novel")
        assert session is not None and session.system == "You are a patient editor."
        assert [t.role for t in s.turns(session.id)] == ["user", "assistant"]
        assert s.turns(session.id)[1].stats["prompt_tokens"] == 42
        d = s.draft(1)
        assert d is not None and d.title == "The lighthouse keeper" and d.versions == 2
        assert [v.note for v in s.draft_versions(1)] == ["from chat novel", "edited"]
        assert all(v.status == "complete" for v in s.draft_versions(1))
        # The old versions are searchable, and new versions follow on.
        assert [h.version for h in s.search_drafts("count sheep")] == [2, 1]
        v3 = s.add_draft_version(1, "A third take.", "edited")
        assert v3.version == 3


def test_a_store_from_a_newer_quill_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE future (x)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="newer quill") as err:
        Store(path)
    assert "untouched" in err.value.message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(str(path) + "-wal").exists()


def test_versions_keep_provenance_and_titles_follow_the_text(store: Store) -> None:
    j = DraftJournal(store, meta={"brief": "a linen shirt", "seed": 7})
    assert store.draft(j.draft_id).latest.status == "streaming"  # type: ignore[union-attr]
    j.on_text("# Linen, ")
    j.on_text("made to breathe\n\nLight and cool.")
    j.on_done(Result(j.text, "stop", Stats(prompt_tokens=12, generated_tokens=9)))
    d = store.draft(j.draft_id)
    assert d is not None and d.title == "Linen, made to breathe"
    v = d.latest
    assert v is not None and v.status == "complete" and v.finish == "stop"
    assert v.meta["brief"] == "a linen shirt" and v.meta["seed"] == 7
    assert v.meta["stats"]["generated_tokens"] == 9
    assert v.content.endswith("Light and cool.")
    # The next version keeps a title the writer chose.
    j2 = DraftJournal(store, draft_id=d.id, title="Shirt page", note="revised")
    j2.on_done(Result("Shorter.", "length", Stats()))
    d = store.draft(d.id)
    assert d is not None and d.title == "Shirt page" and d.versions == 2
    assert d.latest is not None and d.latest.finish == "length"
    assert [h.version for h in store.search_drafts("breathe")] == [1]


def test_a_version_of_a_missing_draft_is_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError, match="no draft 99"):
        store.add_draft_version(99, "x")


def test_journal_flushes_while_streaming(store: Store) -> None:
    j = DraftJournal(store, interval=0.0)
    j.on_text("first words ")
    assert store.draft_version(j.draft_id).content == "first words "  # type: ignore[union-attr]


def test_a_dead_writer_leaves_an_interrupted_version(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    code = textwrap.dedent(
        f"""
        import os
        from quill.store.db import Store
        from quill.store.journal import DraftJournal
        s = Store({str(path)!r})
        j = DraftJournal(s, interval=0.0, meta={{"brief": "b"}})
        j.on_text("half a sentence")
        os._exit(9)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    with Store(path) as s:
        assert s.recovered == 1
        v = s.draft_version(1)
        assert v is not None and v.status == "interrupted" and v.content == "half a sentence"
        assert v.meta["brief"] == "b"
        assert s.integrity_check() == "ok"


def test_search_finds_chinese_and_short_queries(store: Store) -> None:
    store.create_draft("秋", "秋天的风吹过山谷，树叶变成金黄色。")
    store.create_draft("en", "An autumn wind.")
    assert [h.title for h in store.search_drafts("金黄色")] == ["秋"]
    assert [h.title for h in store.search_drafts("山谷")] == ["秋"]  # two characters: a scan
    hits = store.search_drafts("AUTUMN")
    assert [h.title for h in hits] == ["en"] and "[autumn]" in hits[0].snippet


def test_delete_removes_versions_and_search_entries(store: Store) -> None:
    v = store.create_draft("t", "unique marmalade text")
    assert store.delete_draft(v.draft_id)
    assert store.draft(v.draft_id) is None
    assert store.search_drafts("marmalade") == []
    assert store.integrity_check() == "ok"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("# Linen shirt\n\nBody", "Linen shirt"),
        ("Subject: Our tea shop opens\n\nDear all", "Our tea shop opens"),
        ("   \n", "(empty)"),
        ("word " * 40, "word word word word word word word word word word word…"),
    ],
)
def test_derive_title(text: str, title: str) -> None:
    assert derive_title(text) == title


def test_two_processes_saving_200_drafts_each_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    Store(path).close()
    code = textwrap.dedent(
        f"""
        import sys
        from quill.store.db import Store
        from quill.store.journal import DraftJournal
        from quill.engine.base import Result
        tag = sys.argv[1]
        with Store({str(path)!r}) as s:
            for i in range(200):
                j = DraftJournal(s, meta={{"tag": tag}})
                j.on_text(f"draft {{tag}} {{i}}")
                j.on_done(Result(j.text, "stop"))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, tag],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for tag in ("a", "b")
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any("locked" in e for e in errors)
    with Store(path) as s:
        drafts = s.drafts()
        assert len(drafts) == 400
        texts = {d.latest.content for d in drafts if d.latest}
        assert texts == {f"draft {t} {i}" for t in "ab" for i in range(200)}
        assert all(d.latest and d.latest.status == "complete" for d in drafts)
        assert s.integrity_check() == "ok"
