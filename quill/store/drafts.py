"""Drafts and their versions: every text quill writes, kept with its provenance.

A draft is a title and a list of versions. A version holds the text, a short note
("generated", "revised: make it shorter", "edited", "imported"), its status
(``streaming`` while a generation journals into it, then ``complete`` or
``interrupted``), how the generation ended (``finish``) and ``meta``: the provenance
(brief or source file with its sha256, template, model and its sha256, sampling and
seed, token counts, time). Queries only; the schema is in :mod:`quill.store.schema`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from quill.errors import UsageError

TITLE_CHARS = 60


@dataclass
class DraftVersion:
    draft_id: int
    version: int
    content: str
    note: str
    created_at: float
    status: str = "complete"
    finish: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0
    row_id: int = 0

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"


@dataclass
class Draft:
    id: int
    title: str
    kind: str
    created_at: float
    updated_at: float
    versions: int
    latest: DraftVersion | None
    title_fixed: bool = False
    session_id: int | None = None


@dataclass
class SearchHit:
    draft_id: int
    version: int
    title: str
    snippet: str


def derive_title(text: str, limit: int = TITLE_CHARS) -> str:
    """A title from the text: its first heading, else its first line, shortened."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "(empty)"
    line = next((ln for ln in lines if re.match(r"#{1,6}\s", ln)), lines[0])
    line = re.sub(r"^(#{1,6}\s+|[-*+>]\s+|\d+[.)]\s+)", "", line)
    line = re.sub(r"^(subject|title|标题|主题)\s*[:：]\s*", "", line, flags=re.I)
    line = re.sub(r"[*_`]+", "", line).strip() or lines[0]
    if len(line) > limit:
        cut = line[: limit - 1]
        if " " in cut[limit // 2 :]:
            cut = cut[: cut.rindex(" ")]
        line = cut.rstrip(" ,.;:，。") + "…"
    return line


def _loads(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _version(row: sqlite3.Row) -> DraftVersion:
    return DraftVersion(
        draft_id=row["draft_id"],
        version=row["version"],
        content=row["content"],
        note=row["note"],
        created_at=row["created_at"],
        status=row["status"],
        finish=row["finish"],
        meta=_loads(row["meta"]),
        updated_at=row["updated_at"] or row["created_at"],
        row_id=row["id"],
    )


class DraftQueries:
    """Mixed into :class:`quill.store.db.Store` (which provides ``db`` and ``tx``)."""

    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:  # provided by Store
        raise NotImplementedError

    # -- writing ----------------------------------------------------------------------

    def create_draft(
        self,
        title: str,
        content: str,
        *,
        kind: str = "draft",
        session_id: int | None = None,
        turn_id: int | None = None,
        note: str = "",
        meta: dict[str, Any] | None = None,
        status: str = "complete",
        finish: str | None = "stop",
        title_fixed: bool = False,
    ) -> DraftVersion:
        """A new draft with its first version (committed before this returns)."""
        now = time.time()
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO drafts (title, kind, title_fixed, session_id, turn_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title, kind, int(title_fixed), session_id, turn_id, now, now),
            )
            did = int(cur.lastrowid or 0)
            row_id = self._insert_version(db, did, 1, content, note, meta, status, finish, now)
        return DraftVersion(did, 1, content, note, now, status, finish, meta or {}, now, row_id)

    def add_draft_version(
        self,
        draft_id: int,
        content: str,
        note: str = "",
        *,
        meta: dict[str, Any] | None = None,
        status: str = "complete",
        finish: str | None = "stop",
        title: str | None = None,
    ) -> DraftVersion:
        """The next version of ``draft_id`` (committed before this returns)."""
        now = time.time()
        with self.tx() as db:
            if db.execute("SELECT 1 FROM drafts WHERE id = ?", (draft_id,)).fetchone() is None:
                raise UsageError(
                    f"there is no draft {draft_id}", hint="see them with: quill drafts list"
                )
            row = db.execute(
                "SELECT coalesce(max(version), 0) FROM draft_versions WHERE draft_id = ?",
                (draft_id,),
            ).fetchone()
            version = int(row[0]) + 1
            row_id = self._insert_version(
                db, draft_id, version, content, note, meta, status, finish, now
            )
            if title is not None:
                db.execute(
                    "UPDATE drafts SET title = ?, title_fixed = 1 WHERE id = ?", (title, draft_id)
                )
            db.execute("UPDATE drafts SET updated_at = ? WHERE id = ?", (now, draft_id))
        return DraftVersion(
            draft_id, version, content, note, now, status, finish, meta or {}, now, row_id
        )

    @staticmethod
    def _insert_version(
        db: sqlite3.Connection,
        draft_id: int,
        version: int,
        content: str,
        note: str,
        meta: dict[str, Any] | None,
        status: str,
        finish: str | None,
        now: float,
    ) -> int:
        pid = os.getpid() if status == "streaming" else None
        cur = db.execute(
            "INSERT INTO draft_versions (draft_id, version, content, note, created_at,"
            " updated_at, status, finish, pid, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                draft_id,
                version,
                content,
                note,
                now,
                now,
                status,
                finish,
                pid,
                json.dumps(meta or {}, ensure_ascii=False, sort_keys=True),
            ),
        )
        return int(cur.lastrowid or 0)

    def journal_version(self, row_id: int, content: str) -> None:
        """Save the text a streaming version has so far (one small transaction)."""
        with self.tx() as db:
            db.execute(
                "UPDATE draft_versions SET content = ?, updated_at = ?"
                " WHERE id = ? AND status = 'streaming'",
                (content, time.time(), row_id),
            )

    def finish_version(
        self,
        row_id: int,
        content: str,
        *,
        status: str,
        finish: str | None,
        meta: dict[str, Any] | None = None,
        title: str | None = None,
    ) -> None:
        """Close a streaming version: its final text, status and provenance; the draft's
        title follows the text unless the writer chose it."""
        now = time.time()
        with self.tx() as db:
            row = db.execute(
                "SELECT draft_id, meta FROM draft_versions WHERE id = ?", (row_id,)
            ).fetchone()
            if row is None:
                return
            merged = {**_loads(row["meta"]), **(meta or {})}
            db.execute(
                "UPDATE draft_versions SET content = ?, status = ?, finish = ?, pid = NULL,"
                " updated_at = ?, meta = ? WHERE id = ?",
                (
                    content,
                    status,
                    finish,
                    now,
                    json.dumps(merged, ensure_ascii=False, sort_keys=True),
                    row_id,
                ),
            )
            if title:
                db.execute(
                    "UPDATE drafts SET title = ? WHERE id = ? AND NOT title_fixed",
                    (title, row["draft_id"]),
                )
            db.execute("UPDATE drafts SET updated_at = ? WHERE id = ?", (now, row["draft_id"]))

    def set_draft_title(self, draft_id: int, title: str) -> None:
        with self.tx() as db:
            db.execute(
                "UPDATE drafts SET title = ?, title_fixed = 1, updated_at = ? WHERE id = ?",
                (title, time.time(), draft_id),
            )

    def delete_draft(self, draft_id: int) -> bool:
        with self.tx() as db:
            cur = db.execute("DELETE FROM drafts WHERE id = ?", (draft_id,))
        return cur.rowcount > 0

    # -- reading ----------------------------------------------------------------------

    def draft(self, draft_id: int) -> Draft | None:
        rows = list(self._drafts("WHERE d.id = ?", (draft_id,)))
        return rows[0] if rows else None

    def drafts(self, limit: int | None = None) -> list[Draft]:
        """Newest first (by last change)."""
        tail = "ORDER BY d.updated_at DESC, d.id DESC"
        if limit is not None:
            tail += f" LIMIT {int(limit)}"
        return list(self._drafts(tail, ()))

    def _drafts(self, where: str, args: tuple[Any, ...]) -> Iterator[Draft]:
        rows = self.db.execute(
            f"""
            SELECT d.*, (SELECT count(*) FROM draft_versions v WHERE v.draft_id = d.id) AS n,
              (SELECT v.id FROM draft_versions v WHERE v.draft_id = d.id
                 ORDER BY v.version DESC LIMIT 1) AS latest_id
            FROM drafts d {where}
            """,
            args,
        ).fetchall()
        for r in rows:
            latest = None
            if r["latest_id"] is not None:
                vr = self.db.execute(
                    "SELECT * FROM draft_versions WHERE id = ?", (r["latest_id"],)
                ).fetchone()
                latest = _version(vr) if vr else None
            yield Draft(
                id=r["id"],
                title=r["title"],
                kind=r["kind"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
                versions=r["n"],
                latest=latest,
                title_fixed=bool(r["title_fixed"]),
                session_id=r["session_id"],
            )

    def draft_versions(self, draft_id: int) -> list[DraftVersion]:
        rows = self.db.execute(
            "SELECT * FROM draft_versions WHERE draft_id = ? ORDER BY version", (draft_id,)
        ).fetchall()
        return [_version(r) for r in rows]

    def draft_version(self, draft_id: int, version: int | None = None) -> DraftVersion | None:
        """One version of a draft; the latest when ``version`` is None."""
        if version is None:
            row = self.db.execute(
                "SELECT * FROM draft_versions WHERE draft_id = ? ORDER BY version DESC LIMIT 1",
                (draft_id,),
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT * FROM draft_versions WHERE draft_id = ? AND version = ?",
                (draft_id, version),
            ).fetchone()
        return _version(row) if row else None

    def search_drafts(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Versions whose text contains ``text`` (any script, case-insensitive), newest
        first, each with a snippet around the match. Uses the FTS5 trigram index; a
        query shorter than three characters falls back to a scan."""
        query = text.strip()
        if not query:
            return []
        if len(query) >= 3:
            phrase = '"' + query.replace('"', '""') + '"'
            rows = self.db.execute(
                """
                SELECT v.draft_id, v.version, d.title,
                       snippet(draft_fts, 0, '[', ']', '…', 12) AS snip
                FROM draft_fts JOIN draft_versions v ON v.id = draft_fts.rowid
                JOIN drafts d ON d.id = v.draft_id
                WHERE draft_fts MATCH ? ORDER BY v.created_at DESC, v.id DESC LIMIT ?
                """,
                (phrase, limit),
            ).fetchall()
            return [SearchHit(r[0], r[1], r[2], " ".join(r[3].split())) for r in rows]
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute(
            """
            SELECT v.draft_id, v.version, d.title, v.content FROM draft_versions v
            JOIN drafts d ON d.id = v.draft_id WHERE v.content LIKE ? ESCAPE '\\'
            ORDER BY v.created_at DESC, v.id DESC LIMIT ?
            """,
            (like, limit),
        ).fetchall()
        return [SearchHit(r[0], r[1], r[2], _snippet(r[3], query)) for r in rows]


def _snippet(content: str, query: str, width: int = 40) -> str:
    at = content.lower().find(query.lower())
    if at < 0:
        return " ".join(content[: 2 * width].split())
    start, end = max(0, at - width), min(len(content), at + len(query) + width)
    body = content[start:at] + "[" + content[at : at + len(query)] + "]"
    body += content[at + len(query) : end]
    return ("…" if start else "") + " ".join(body.split()) + ("…" if end < len(content) else "")
