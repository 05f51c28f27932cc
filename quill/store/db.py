"""The SQLite store: chat sessions and their turns, drafts and their versions.

One file (``Paths.db_file``) in WAL mode with a busy timeout, so a REPL and a script can
write to the same conversation at once. The schema carries its version in
``PRAGMA user_version``; ``MIGRATIONS`` lists the steps from one version to the next.

Nothing here prints. Every write is its own short transaction: a user message is
committed before its reply is generated, a streaming reply is journaled (see
``ReplyJournal``) so a process killed mid-reply leaves the text it had, and opening the
store marks replies whose writer died as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from quill.engine.base import Stats
from quill.errors import SessionBusy, StoreError
from quill.store.drafts import DraftQueries, DraftVersion
from quill.store.journal import ReplyJournal
from quill.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "DraftVersion", "ReplyJournal", "Session", "Store", "Turn"]

BUSY_TIMEOUT_MS = 30_000  # a second writer waits its turn instead of failing
STALE_AFTER_S = 3600.0


@dataclass
class Session:
    id: int
    name: str
    system: str | None
    model: str | None
    settings: dict[str, Any]
    created_at: float
    updated_at: float


@dataclass
class SessionSummary:
    session: Session
    turns: int
    first_message: str


@dataclass
class Turn:
    id: int
    session_id: int
    role: str
    content: str
    status: str = "complete"
    finish: str | None = None
    dropped: bool = False
    model: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"


def _pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process holds that pid: not our writer
        return True
    except OSError:
        return False
    return True


def default_session_name(now: float | None = None) -> str:
    return datetime.fromtimestamp(now or time.time()).strftime("%Y-%m-%d-%H%M%S")


class Store(DraftQueries):
    """A connection to the quill database. Use as a context manager or call close()."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._refuse_newer()  # before anything that could change the file
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot put {self.path} in WAL mode (got {mode})")
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self.recovered = self.recover()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(
                f"{self.path} is not a usable quill database: {exc}",
                hint="move the file aside; quill will start a new one",
            ) from exc
        except StoreError:
            self.db.close()
            raise

    # -- plumbing ---------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: takes the write lock up front)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"the database is busy or read-only: {exc}") from exc
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                raise StoreError(f"cannot write the database: {exc}") from exc

    def _refuse_newer(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer quill (schema {version}; this quill "
                f"reads up to {SCHEMA_VERSION}); it was left untouched",
                hint="upgrade quill, or point QUILL_HOME elsewhere",
            )

    def _migrate(self) -> None:
        """Bring an older store up to date, one version per step, in one transaction."""
        if self.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        with self.tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process?
            for step in MIGRATIONS[version:]:
                for stmt in step:
                    db.execute(stmt)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def integrity_check(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    def recover(self) -> int:
        """Mark replies and draft versions left 'streaming' by a process that has died
        as 'interrupted'; returns how many."""
        # A pid can be reused after a reboot: a reply silent for an hour is dead too.
        stale = time.time() - STALE_AFTER_S
        return self._interrupt_dead("turns", stale) + self._interrupt_dead(
            "draft_versions", stale, ", pid = NULL"
        )

    def _interrupt_dead(self, table: str, stale: float, also: str = "") -> int:
        """Rows of ``table`` (a fixed name) left 'streaming' by a dead or silent process,
        marked 'interrupted' (with ``also`` appended to the SET clause)."""
        rows = self.db.execute(
            f"SELECT id, pid, updated_at FROM {table} WHERE status = 'streaming'"
        ).fetchall()
        dead = [r["id"] for r in rows if not _pid_alive(r["pid"]) or r["updated_at"] < stale]
        if dead:
            with self.tx() as db:
                db.executemany(
                    f"UPDATE {table} SET status = 'interrupted', finish = 'interrupted'{also}"
                    " WHERE id = ? AND status = 'streaming'",
                    [(i,) for i in dead],
                )
        return len(dead)

    # -- sessions ---------------------------------------------------------------

    @staticmethod
    def _session(row: sqlite3.Row) -> Session:
        try:
            settings = json.loads(row["settings"] or "{}")
        except ValueError:
            settings = {}
        return Session(
            id=row["id"],
            name=row["name"],
            system=row["system"],
            model=row["model"],
            settings=settings if isinstance(settings, dict) else {},
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def create_session(
        self,
        name: str | None = None,
        *,
        system: str | None = None,
        model: str | None = None,
        unique: bool = False,
    ) -> Session:
        """A new session. Without a name it is named after the time; ``unique`` adds
        -2, -3… to a name that is taken instead of refusing it."""
        now = time.time()
        base = name or default_session_name(now)
        with self.tx() as db:
            candidate = base
            if unique or name is None:
                candidate = self._free_name(base)
            try:
                cur = db.execute(
                    "INSERT INTO sessions (name, system, model, settings, created_at, updated_at)"
                    " VALUES (?, ?, ?, '{}', ?, ?)",
                    (candidate, system, model, now, now),
                )
            except sqlite3.IntegrityError:
                raise StoreError(
                    f"a session named `{candidate}` already exists",
                    hint=f"resume it with: quill chat --session {candidate}",
                ) from None
            sid = cur.lastrowid
        s = self.session_by_id(int(sid or 0))
        assert s is not None
        return s

    def _free_name(self, base: str) -> str:
        candidate, n = base, 1
        while self.db.execute("SELECT 1 FROM sessions WHERE name = ?", (candidate,)).fetchone():
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def free_name(self, base: str | None = None) -> str:
        """A session name not taken now (by default, after the current time)."""
        return self._free_name(base or default_session_name())

    def session_by_id(self, sid: int) -> Session | None:
        row = self.db.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        return self._session(row) if row else None

    def session(self, name: str) -> Session | None:
        row = self.db.execute("SELECT * FROM sessions WHERE name = ?", (name,)).fetchone()
        return self._session(row) if row else None

    def last_session(self) -> Session | None:
        row = self.db.execute(
            "SELECT * FROM sessions ORDER BY updated_at DESC, id DESC LIMIT 1"
        ).fetchone()
        return self._session(row) if row else None

    def sessions(self) -> list[SessionSummary]:
        rows = self.db.execute(
            """
            SELECT s.*,
              (SELECT count(*) FROM turns t WHERE t.session_id = s.id AND NOT t.dropped) AS n,
              (SELECT content FROM turns t WHERE t.session_id = s.id AND t.role = 'user'
                 AND NOT t.dropped ORDER BY t.id LIMIT 1) AS first
            FROM sessions s ORDER BY s.updated_at DESC, s.id DESC
            """
        ).fetchall()
        return [SessionSummary(self._session(r), r["n"], r["first"] or "") for r in rows]

    def update_session(
        self,
        sid: int,
        *,
        system: str | None = None,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        clear_system: bool = False,
    ) -> None:
        sets, args = ["updated_at = ?"], [time.time()]
        if system is not None or clear_system:
            sets.append("system = ?")
            args.append(system)  # type: ignore[arg-type]
        if model is not None:
            sets.append("model = ?")
            args.append(model)  # type: ignore[arg-type]
        if settings is not None:
            sets.append("settings = ?")
            args.append(json.dumps(settings, sort_keys=True))  # type: ignore[arg-type]
        with self.tx() as db:
            db.execute(f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*args, sid))

    def delete_session(self, sid: int) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (sid,))

    # -- turns ------------------------------------------------------------------

    @staticmethod
    def _turn(row: sqlite3.Row) -> Turn:
        stats = {
            k: row[k]
            for k in (
                "prompt_tokens",
                "cached_tokens",
                "generated_tokens",
                "ttft_ms",
                "tokens_per_s",
            )
            if row[k] is not None
        }
        return Turn(
            id=row["id"],
            session_id=row["session_id"],
            role=row["role"],
            content=row["content"],
            status=row["status"],
            finish=row["finish"],
            dropped=bool(row["dropped"]),
            model=row["model"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            stats=stats,
        )

    def turns(self, sid: int, *, include_dropped: bool = False) -> list[Turn]:
        q = "SELECT * FROM turns WHERE session_id = ?"
        if not include_dropped:
            q += " AND NOT dropped"
        return [self._turn(r) for r in self.db.execute(q + " ORDER BY id", (sid,))]

    def turn(self, tid: int) -> Turn | None:
        row = self.db.execute("SELECT * FROM turns WHERE id = ?", (tid,)).fetchone()
        return self._turn(row) if row else None

    def add_turn(
        self,
        sid: int,
        role: str,
        content: str,
        *,
        status: str = "complete",
        model: str | None = None,
    ) -> Turn:
        """Append a turn (committed before this returns)."""
        now = time.time()
        pid = os.getpid() if status == "streaming" else None
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO turns (session_id, role, content, status, model, pid,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, role, content, status, model, pid, now, now),
            )
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, sid))
        t = self.turn(int(cur.lastrowid or 0))
        assert t is not None
        return t

    @staticmethod
    def _refuse_busy(db: sqlite3.Connection, sid: int) -> None:
        """SessionBusy if another live process is streaming a reply in session ``sid``."""
        rows = db.execute(
            "SELECT pid, updated_at FROM turns WHERE session_id = ? AND status = 'streaming'",
            (sid,),
        ).fetchall()
        stale = time.time() - STALE_AFTER_S
        me = os.getpid()
        busy = [
            r["pid"]
            for r in rows
            if r["pid"] != me and _pid_alive(r["pid"]) and r["updated_at"] >= stale
        ]
        if busy:
            name = db.execute("SELECT name FROM sessions WHERE id = ?", (sid,)).fetchone()
            raise SessionBusy(
                f"another quill (pid {busy[0]}) is replying in session "
                f"`{name[0] if name else sid}` right now; the message was not sent",
                hint="wait for that reply to finish, or start another session",
            )

    def check_not_busy(self, sid: int) -> None:
        self._refuse_busy(self.db, sid)

    def start_reply(
        self, sid: int, user_text: str | None, *, model: str | None = None
    ) -> tuple[Turn | None, Turn]:
        """Save the user's message (if any) and the reply's 'streaming' turn together,
        in one transaction that first checks no other live process is replying in this
        session: one writer per session at a time, so a reply still being written is
        never sent as history to another."""
        now = time.time()
        me = os.getpid()
        with self.tx() as db:
            self._refuse_busy(db, sid)
            user_id = None
            if user_text is not None:
                cur = db.execute(
                    "INSERT INTO turns (session_id, role, content, status, created_at,"
                    " updated_at) VALUES (?, 'user', ?, 'complete', ?, ?)",
                    (sid, user_text, now, now),
                )
                user_id = int(cur.lastrowid or 0)
            cur = db.execute(
                "INSERT INTO turns (session_id, role, content, status, model, pid,"
                " created_at, updated_at) VALUES (?, 'assistant', '', 'streaming', ?, ?, ?, ?)",
                (sid, model, me, now, now),
            )
            reply_id = int(cur.lastrowid or 0)
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, sid))
        user = self.turn(user_id) if user_id is not None else None
        reply = self.turn(reply_id)
        assert reply is not None
        return user, reply

    def journal(self, tid: int, content: str) -> None:
        """Save the text a streaming reply has so far (one small transaction)."""
        with self.tx() as db:
            db.execute(
                "UPDATE turns SET content = ?, updated_at = ?"
                " WHERE id = ? AND status = 'streaming'",
                (content, time.time(), tid),
            )

    def finish_turn(
        self,
        tid: int,
        content: str,
        *,
        status: str,
        finish: str | None,
        stats: Stats | None = None,
    ) -> None:
        s = stats or Stats()
        now = time.time()
        with self.tx() as db:
            db.execute(
                "UPDATE turns SET content = ?, status = ?, finish = ?, pid = NULL,"
                " updated_at = ?, prompt_tokens = ?, cached_tokens = ?, generated_tokens = ?,"
                " ttft_ms = ?, tokens_per_s = ? WHERE id = ?",
                (
                    content,
                    status,
                    finish,
                    now,
                    s.prompt_tokens if stats else None,
                    s.cached_tokens if stats else None,
                    s.generated_tokens if stats else None,
                    round(s.ttft_s * 1000, 1) if stats else None,
                    round(s.tokens_per_s, 2) if stats else None,
                    tid,
                ),
            )
            db.execute(
                "UPDATE sessions SET updated_at = ? WHERE id = "
                "(SELECT session_id FROM turns WHERE id = ?)",
                (now, tid),
            )

    def drop_turns(self, ids: list[int]) -> None:
        """Take turns out of the conversation (/undo, /retry); they stay in the file."""
        if not ids:
            return
        with self.tx() as db:
            db.executemany("UPDATE turns SET dropped = 1 WHERE id = ?", [(i,) for i in ids])
