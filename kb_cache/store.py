"""The knowledge cache on disk: SQLite (via sqlite-utils), WAL mode, versioned schema.

Tables: ``articles`` (+ ``articles_fts``, FTS5 with Porter stemming over
title, body, triggers and tags, kept in sync by triggers; ids unique ignoring
case), ``vectors`` (one embedding per article title, tag line, body passage,
trigger phrasing and learned phrasing, keyed by a hash of the text so
unchanged text is never embedded twice: see :mod:`kb_cache.vectors`),
``phrasings`` (how customers put it, learned from agents' feedback: local
candidates and phrasings approved on the server), ``usage`` (agent feedback),
``searches`` (for the unanswered-questions report), ``outbox`` (resolutions
and phrasings submitted while offline) and ``meta`` (e.g. the synced version).

A connection stays in the thread that opened it (SQLite's rule and ours).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from agent_assist.errors import KnowledgeError

__all__ = ["SCHEMA_VERSION", "default_db_path", "now_iso", "open_cache"]

_MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        triggers TEXT NOT NULL DEFAULT '[]',
        department TEXT,
        authority TEXT,
        version INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'import'
    );
    CREATE TABLE vectors (
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        text_hash TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('title', 'trigger')),
        vec BLOB NOT NULL,
        PRIMARY KEY (article_id, text_hash)
    );
    CREATE TABLE usage (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        article_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('shown', 'opened', 'used', 'helpful', 'not_helpful'))
    );
    CREATE INDEX usage_day ON usage(day, article_id);
    CREATE TABLE searches (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        query TEXT NOT NULL,
        top_article TEXT,
        top_score REAL,
        answered INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'rejected')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: passages, tags and learned phrasings are embedded too; ids unique ignoring case;
    #    candidate phrasings learned from agents' feedback
    """
    CREATE TABLE vectors_2 (
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        text_hash TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('title', 'tags', 'passage', 'trigger', 'phrasing')),
        vec BLOB NOT NULL,
        PRIMARY KEY (article_id, text_hash)
    );
    INSERT INTO vectors_2 SELECT article_id, text_hash, kind, vec FROM vectors;
    DROP TABLE vectors;
    ALTER TABLE vectors_2 RENAME TO vectors;
    CREATE UNIQUE INDEX articles_id_nocase ON articles(id COLLATE NOCASE);
    CREATE TABLE phrasings (
        id INTEGER PRIMARY KEY,
        article_id TEXT NOT NULL,
        text TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('candidate', 'approved')),
        created_at TEXT NOT NULL,
        UNIQUE (article_id, text)
    );
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)
FTS_COLUMNS = ["title", "body", "triggers", "tags"]


def now_iso() -> str:
    """Now in UTC as ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_db_path() -> Path:
    """``AGENT_ASSIST_KB`` or ``knowledge.db`` in the user data dir."""
    import os

    override = os.environ.get("AGENT_ASSIST_KB")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("agent-assist", appauthor=False)) / "knowledge.db"


def open_cache(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the cache at ``path`` and bring its schema up to date."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(target)
        db.execute("PRAGMA foreign_keys = ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise KnowledgeError(
                f"{target} was written by a newer Agent Assist (schema {version}); upgrade the app"
            )
        if version < SCHEMA_VERSION:
            db.enable_wal()
            with db.conn:
                for number in range(version, SCHEMA_VERSION):
                    db.conn.executescript("BEGIN;" + _MIGRATIONS[number] + "COMMIT;")
                if version == 0:
                    db.table("articles").enable_fts(
                        FTS_COLUMNS, tokenize="porter", create_triggers=True
                    )
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise KnowledgeError(f"{target} is not a usable knowledge cache ({exc})") from None
    except OSError as exc:
        raise KnowledgeError(f"cannot open the knowledge cache {target}: {exc.strerror}") from None
    return db


def get_meta(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    """A value from the cache's meta table, or ``default``."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else default


def set_meta(db: sqlite_utils.Database, key: str, value: Any) -> None:
    """Store ``str(value)`` under ``key`` in the meta table (in the caller's transaction)."""
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, str(value)])
