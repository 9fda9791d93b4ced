"""Importing articles: parsed from any export format (:mod:`kb_cache.formats`), then stored.

The records are :class:`~kb_cache.article.Article`; the formats (our Markdown,
JSON Lines and CSV, ServiceNow, Zendesk, HTML pages) live in
:mod:`kb_cache.formats`, which never touches the database.

An import is all or nothing: every record is parsed and validated first (a bad
one is reported with its file and line, and nothing is written), new texts are
embedded, then everything is written in one transaction. Existing articles
with the same id are replaced (their version goes up when their content
changed); no other article is touched.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from kb_cache.article import Article, validate_record
from kb_cache.embedder import Embedder
from kb_cache.formats import parse
from kb_cache.store import get_meta, now_iso, set_meta

__all__ = [
    "Article",
    "ImportResult",
    "import_path",
    "parse_path",
    "validate_record",
    "write_articles",
]


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int
    embedded: int  # texts embedded now (others were already in the cache)


def parse_path(path: str | Path, fmt: str | None = None) -> list[Article]:
    """Every article in ``path`` (format ``fmt`` or detected: see :mod:`kb_cache.formats`)."""
    return parse(path, fmt).articles


def _text_hash(kind: str, text: str) -> str:
    return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()


def write_articles(
    db: sqlite_utils.Database,
    articles: list[Article],
    *,
    embedder: Embedder | None,
    source: str,
    deleted: tuple[str, ...] = (),
    meta: dict[str, object] | None = None,
) -> ImportResult:
    """Write ``articles`` (delete ``deleted`` ids, set ``meta``) in one transaction; embed new texts first."""
    versions = dict(db.execute("SELECT id, version FROM articles").fetchall())
    keys = {
        row[0]: row[1]
        for row in db.execute("SELECT key, value FROM meta WHERE key LIKE 'content:%'")
    }
    wanted: list[tuple[str, str, str, str]] = []  # article id, kind, text, hash
    for article in articles:
        wanted.append((article.id, "title", article.title, _text_hash("title", article.title)))
        wanted += [(article.id, "trigger", t, _text_hash("trigger", t)) for t in article.triggers]
    have = {(row[0], row[1]) for row in db.execute("SELECT article_id, text_hash FROM vectors")}
    missing = [w for w in wanted if (w[0], w[3]) not in have]
    vectors = None
    if embedder is not None and missing:
        unique = list(dict.fromkeys(w[2] for w in missing))  # shared phrasings are embedded once
        computed = dict(zip(unique, embedder.embed(unique), strict=True))
        vectors = [computed[w[2]] for w in missing]
    hashes: dict[str, list[str]] = defaultdict(list)
    for article_id, _, _, text_hash in wanted:
        hashes[article_id].append(text_hash)
    added = updated = unchanged = 0
    stamp = now_iso()
    rows, content_keys, replaced = [], [], []
    for article in articles:
        key = article.content_key()
        previous = versions.get(article.id)
        if previous is not None and keys.get(f"content:{article.id}") == key:
            unchanged += 1
            continue
        added += previous is None
        updated += previous is not None
        if previous is not None:
            replaced.append(article.id)
        rows.append(
            {
                "id": article.id,
                "title": article.title,
                "body": article.body,
                "tags": json.dumps(list(article.tags), ensure_ascii=False),
                "triggers": json.dumps(list(article.triggers), ensure_ascii=False),
                "department": article.department,
                "authority": article.authority,
                "version": previous + 1 if previous is not None else 1,
                "updated_at": stamp,
                "source": source,
            }
        )
        content_keys.append((f"content:{article.id}", key))
    with db.conn:
        if rows:
            db.table("articles").upsert_all(rows, pk="id", batch_size=500)
        db.conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", content_keys)
        for article_id in replaced:  # phrasings an updated article no longer has
            keep = hashes[article_id]
            db.execute(
                f"DELETE FROM vectors WHERE article_id = ? AND text_hash NOT IN ({','.join('?' * len(keep))})",
                [article_id, *keep],
            )
        for article_id in deleted:
            db.execute("DELETE FROM vectors WHERE article_id = ?", [article_id])
            db.execute("DELETE FROM articles WHERE id = ?", [article_id])
            db.execute("DELETE FROM meta WHERE key = ?", [f"content:{article_id}"])
        if vectors is not None:
            db.conn.executemany(
                "INSERT OR REPLACE INTO vectors(article_id, text_hash, kind, vec) VALUES (?, ?, ?, ?)",
                (
                    (w[0], w[3], w[1], v.astype(np.float16).tobytes())
                    for w, v in zip(missing, vectors, strict=True)
                ),
            )
        for key, value in (meta or {}).items():
            set_meta(db, key, value)
        set_meta(db, "content_version", int(get_meta(db, "content_version", "0") or 0) + 1)
    return ImportResult(added, updated, unchanged, 0 if vectors is None else len(missing))


def import_path(
    db: sqlite_utils.Database,
    path: str | Path,
    *,
    embedder: Embedder | None,
    fmt: str | None = None,
) -> ImportResult:
    """Parse and validate ``path`` (format ``fmt`` or detected), then store it (all or nothing)."""
    return write_articles(db, parse_path(path, fmt), embedder=embedder, source=Path(path).name)
