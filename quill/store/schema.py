"""The store's schema, apart from its queries: one list of steps per version.

``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``; the version lives in
``PRAGMA user_version``. A step is a list of statements run in one transaction, so a
store is never left half-migrated. Steps are only ever appended: a newer quill opens an
older store and keeps everything; an older quill refuses a newer store untouched.
"""

from __future__ import annotations

V1 = [
    """CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        system      TEXT,
        model       TEXT,
        settings    TEXT NOT NULL DEFAULT '{}',
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    )""",
    """CREATE TABLE turns (
        id               INTEGER PRIMARY KEY,
        session_id       INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        role             TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content          TEXT NOT NULL DEFAULT '',
        status           TEXT NOT NULL DEFAULT 'complete'
                         CHECK (status IN ('complete', 'streaming', 'interrupted')),
        finish           TEXT,
        dropped          INTEGER NOT NULL DEFAULT 0,
        model            TEXT,
        pid              INTEGER,
        created_at       REAL NOT NULL,
        updated_at       REAL NOT NULL,
        prompt_tokens    INTEGER,
        cached_tokens    INTEGER,
        generated_tokens INTEGER,
        ttft_ms          REAL,
        tokens_per_s     REAL
    )""",
    "CREATE INDEX turns_by_session ON turns(session_id, id)",
    "CREATE INDEX turns_streaming ON turns(status) WHERE status = 'streaming'",
    """CREATE TABLE drafts (
        id          INTEGER PRIMARY KEY,
        title       TEXT NOT NULL,
        session_id  INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
        turn_id     INTEGER REFERENCES turns(id) ON DELETE SET NULL,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    )""",
    """CREATE TABLE draft_versions (
        id          INTEGER PRIMARY KEY,
        draft_id    INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
        version     INTEGER NOT NULL,
        content     TEXT NOT NULL,
        note        TEXT NOT NULL DEFAULT '',
        created_at  REAL NOT NULL,
        UNIQUE (draft_id, version)
    )""",
]

# Version 2: every generated text is a draft version with provenance, journaled while it
# streams (status, pid, updated_at as for chat turns), and searchable (FTS5, trigram:
# substrings in any script, Chinese included).
V2 = [
    "ALTER TABLE drafts ADD COLUMN kind TEXT NOT NULL DEFAULT 'draft'",
    "ALTER TABLE drafts ADD COLUMN title_fixed INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE draft_versions ADD COLUMN status TEXT NOT NULL DEFAULT 'complete'"
    " CHECK (status IN ('complete', 'streaming', 'interrupted'))",
    "ALTER TABLE draft_versions ADD COLUMN finish TEXT",
    "ALTER TABLE draft_versions ADD COLUMN pid INTEGER",
    "ALTER TABLE draft_versions ADD COLUMN updated_at REAL",
    "ALTER TABLE draft_versions ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'",
    "UPDATE draft_versions SET updated_at = created_at, finish = 'stop'",
    "CREATE INDEX drafts_by_update ON drafts(updated_at)",
    "CREATE INDEX draft_versions_streaming ON draft_versions(status) WHERE status = 'streaming'",
    "CREATE VIRTUAL TABLE draft_fts USING fts5(content, content='draft_versions',"
    " content_rowid='id', tokenize='trigram')",
    """CREATE TRIGGER draft_fts_insert AFTER INSERT ON draft_versions BEGIN
        INSERT INTO draft_fts(rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER draft_fts_delete AFTER DELETE ON draft_versions BEGIN
        INSERT INTO draft_fts(draft_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END""",
    """CREATE TRIGGER draft_fts_update AFTER UPDATE OF content ON draft_versions BEGIN
        INSERT INTO draft_fts(draft_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO draft_fts(rowid, content) VALUES (new.id, new.content);
    END""",
    "INSERT INTO draft_fts(draft_fts) VALUES ('rebuild')",
]

MIGRATIONS: list[list[str]] = [V1, V2]
SCHEMA_VERSION = len(MIGRATIONS)
