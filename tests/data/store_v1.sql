-- A quill store at schema version 1 (before drafts had provenance), for the
-- migration test. Made with the version-1 statements of quill/store/schema.py.
BEGIN TRANSACTION;
CREATE TABLE draft_versions (
        id          INTEGER PRIMARY KEY,
        draft_id    INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
        version     INTEGER NOT NULL,
        content     TEXT NOT NULL,
        note        TEXT NOT NULL DEFAULT '',
        created_at  REAL NOT NULL,
        UNIQUE (draft_id, version)
    );
INSERT INTO "draft_versions" VALUES(1,1,1,'The lighthouse keeper counted ships the way other people count sheep.','from chat novel',1767225700.0);
INSERT INTO "draft_versions" VALUES(2,1,2,'The keeper of the Saltmere light counted ships the way others count sheep.','edited',1767225900.0);
CREATE TABLE drafts (
        id          INTEGER PRIMARY KEY,
        title       TEXT NOT NULL,
        session_id  INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
        turn_id     INTEGER REFERENCES turns(id) ON DELETE SET NULL,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    );
INSERT INTO "drafts" VALUES(1,'The lighthouse keeper',1,2,1767225700.0,1767225900.0);
CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        system      TEXT,
        model       TEXT,
        settings    TEXT NOT NULL DEFAULT '{}',
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    );
INSERT INTO "sessions" VALUES(1,'novel','You are a patient editor.','qwen2.5-coder-0.5b','{"temperature": 0.3}',1767225600.0,1767225900.0);
CREATE TABLE turns (
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
    );
INSERT INTO "turns" VALUES(1,1,'user','Write an opening line about a lighthouse.','complete',NULL,0,NULL,NULL,1767225600.0,1767225600.0,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "turns" VALUES(2,1,'assistant','The lighthouse keeper counted ships the way other people count sheep.','complete','stop',0,NULL,NULL,1767225601.0,1767225605.0,42,NULL,15,NULL,NULL);
CREATE INDEX turns_by_session ON turns(session_id, id);
CREATE INDEX turns_streaming ON turns(status) WHERE status = 'streaming';
COMMIT;
PRAGMA user_version = 1;
