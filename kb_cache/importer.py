"""Importing articles: parsed from any export format (:mod:`kb_cache.formats`), then stored.

The records are :class:`~kb_cache.article.Article`; the formats (our Markdown,
JSON Lines and CSV, ServiceNow, Zendesk, HTML pages) live in
:mod:`kb_cache.formats`, which never touches the database.

An import is all or nothing: every record is parsed and validated first (a bad
one is reported with its file and line, and nothing is written), new texts are
embedded, then everything is written in one explicit transaction: a crash or a
kill at any moment leaves exactly the old or exactly the new cache. Existing
articles with the same id are replaced (their version goes up when their
content changed); no other article is touched.

Bounds (in the formats and :func:`kb_cache.article.validate_record`): a JSON
line, a CSV field or a Markdown file larger than ``MAX_LINE`` (1 MiB), or JSON
nested too deep, is refused with its file and line. Text must be valid Unicode
without control characters (a body may have line breaks and tabs) or
bidirectional overrides.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import sqlite_utils

from agent_assist.errors import KnowledgeError
from kb_cache.article import Article, id_key, validate_record
from kb_cache.embedder import Embedder
from kb_cache.formats import parse
from kb_cache.passages import passages, tag_line
from kb_cache.store import get_meta, now_iso, set_meta
from kb_cache.vectors import encode

__all__ = [
    "Article",
    "ImportResult",
    "article_units",
    "import_path",
    "parse_path",
    "reembed",
    "stale_vectors",
    "text_hash",
    "validate_record",
    "write_articles",
]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: articles added, updated, unchanged, texts embedded now."""

    added: int
    updated: int
    unchanged: int
    embedded: int  # texts embedded now (others were already in the cache)


def parse_path(path: str | Path, fmt: str | None = None) -> list[Article]:
    """Every article in ``path`` (format ``fmt`` or detected: see :mod:`kb_cache.formats`)."""
    return parse(path, fmt).articles


def text_hash(kind: str, text: str) -> str:
    """The key of a text's stored vector (a text is embedded once per kind and article)."""
    return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()


def article_units(article: Article, learned: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(kind, text) of everything of ``article`` that is embedded (see :mod:`kb_cache.passages`)."""
    units = [("title", article.title)]
    if article.tags:
        units.append(("tags", tag_line(article.tags)))
    units += [("passage", p) for p in passages(article.body)]
    units += [("trigger", t) for t in article.triggers]
    units += [("phrasing", p) for p in learned if p not in article.triggers]
    return units


class _Unit(NamedTuple):
    """One embedded text of an article: its kind, text and :func:`text_hash`."""

    article_id: str
    kind: str
    text: str
    hash: str


def write_articles(
    db: sqlite_utils.Database,
    articles: list[Article],
    *,
    embedder: Embedder | None,
    source: str,
    deleted: tuple[str, ...] = (),
    meta: dict[str, object] | None = None,
    known: Mapping[str, bytes] | None = None,
    approved: Sequence[tuple[str, str]] = (),
) -> ImportResult:
    """Write ``articles`` (delete ``deleted`` ids, set ``meta``) in one transaction; embed new texts first.

    Embedded are each article's units (:func:`article_units`) not stored yet;
    ``known`` maps text hashes to vectors computed before (the demo ships its
    own), which are stored instead of embedding those texts again. Raises
    KnowledgeError if an id differs only in case from one already stored.
    """
    versions = dict(db.execute("SELECT id, version FROM articles").fetchall())
    _refuse_case_clashes(articles, versions)
    if embedder is not None and stale_vectors(db, embedder):
        reembed(db, embedder=embedder, known=known)
    wanted = _wanted_units(db, articles, versions, deleted=deleted, approved=approved)
    have = {(row[0], row[1]) for row in db.execute("SELECT article_id, text_hash FROM vectors")}
    missing = [u for u in wanted if (u.article_id, u.hash) not in have]
    stored, embedded = _vectors_for(missing, embedder=embedder, known=known)
    stamp = now_iso()
    rows, content_keys, replaced, unchanged = _article_rows(
        db, articles, versions, source=source, stamp=stamp
    )
    kept: dict[str, list[str]] = defaultdict(list)
    for unit in wanted:
        kept[unit.article_id].append(unit.hash)
    with db.atomic():  # one transaction; sqlite-utils nests its own writes as savepoints
        if rows:
            db.table("articles").upsert_all(rows, pk="id", batch_size=500)
        db.conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", content_keys)
        for article_id in replaced:  # phrasings an updated article no longer has
            keep = kept[article_id]
            db.execute(
                f"DELETE FROM vectors WHERE article_id = ? AND text_hash NOT IN ({','.join('?' * len(keep))})",
                [article_id, *keep],
            )
        for article_id in deleted:
            db.execute("DELETE FROM vectors WHERE article_id = ?", [article_id])
            db.execute("DELETE FROM articles WHERE id = ?", [article_id])
            db.execute("DELETE FROM meta WHERE key = ?", [f"content:{article_id}"])
        db.conn.executemany(
            "INSERT OR REPLACE INTO vectors(article_id, text_hash, kind, vec) VALUES (?, ?, ?, ?)",
            (
                (u.article_id, u.hash, u.kind, stored[(u.article_id, u.hash)])
                for u in missing
                if (u.article_id, u.hash) in stored
            ),
        )
        if embedder is not None and stored:
            set_meta(db, "embed_model", embedder.name)
        db.conn.executemany(
            "INSERT INTO phrasings(article_id, text, state, created_at) VALUES (?, ?, 'approved', ?)"
            " ON CONFLICT(article_id, text) DO UPDATE SET state = 'approved'",
            [(article_id, text, stamp) for article_id, text in dict.fromkeys(approved)],
        )
        for key, value in (meta or {}).items():
            set_meta(db, key, value)
        set_meta(db, "content_version", int(get_meta(db, "content_version", "0") or 0) + 1)
    added = sum(row["version"] == 1 for row in rows)
    return ImportResult(added, len(rows) - added, unchanged, embedded)


def stale_vectors(db: sqlite_utils.Database, embedder: Embedder | None) -> bool:
    """Whether the stored vectors were made by another model than ``embedder``'s.

    Vectors of two models are not comparable, so search ignores them (keywords
    still answer) until :func:`reembed` replaces them: after an update that
    ships a new model, for instance.
    """
    if embedder is None:
        return False
    made_by = get_meta(db, "embed_model")
    if made_by is None or made_by == embedder.name:
        return False
    return db.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None


def reembed(
    db: sqlite_utils.Database,
    *,
    embedder: Embedder,
    known: Mapping[str, bytes] | None = None,
) -> int:
    """Replace every stored vector with one made by ``embedder``; returns texts embedded now.

    Every unit of every stored article (and its learned phrasings) is embedded
    (``known`` vectors, made by ``embedder``'s model, are used as they are), then
    the vectors are swapped in one transaction: a kill leaves the old ones or
    all the new ones, and articles are never touched.
    """
    columns = "id, title, body, tags, triggers, department, authority"
    articles = [
        Article(
            id=row[0],
            title=row[1],
            body=row[2],
            tags=tuple(json.loads(row[3] or "[]")),
            triggers=tuple(json.loads(row[4] or "[]")),
            department=row[5],
            authority=row[6],
        )
        for row in db.execute(f"SELECT {columns} FROM articles ORDER BY id").fetchall()
    ]
    versions = {article.id: 0 for article in articles}
    units = _wanted_units(db, articles, versions, deleted=(), approved=())
    stored, embedded = _vectors_for(units, embedder=embedder, known=known)
    with db.atomic():
        db.execute("DELETE FROM vectors")
        db.conn.executemany(
            "INSERT OR REPLACE INTO vectors(article_id, text_hash, kind, vec) VALUES (?, ?, ?, ?)",
            ((u.article_id, u.hash, u.kind, stored[(u.article_id, u.hash)]) for u in units),
        )
        set_meta(db, "embed_model", embedder.name)
        set_meta(db, "content_version", int(get_meta(db, "content_version", "0") or 0) + 1)
    return embedded


def _refuse_case_clashes(articles: Sequence[Article], versions: Mapping[str, int]) -> None:
    """Raise KnowledgeError if an article's id differs only in case from a stored one."""
    existing = {id_key(i): i for i in versions}
    for article in articles:
        other = existing.get(id_key(article.id))
        if other is not None and other != article.id:
            raise KnowledgeError(
                f"article id {article.id!r} is already in the cache as {other!r} "
                "(ids that differ only in case name the same article)"
            )


def _wanted_units(
    db: sqlite_utils.Database,
    articles: Sequence[Article],
    versions: Mapping[str, int],
    *,
    deleted: Sequence[str],
    approved: Sequence[tuple[str, str]],
) -> list[_Unit]:
    """Every unit the written articles will have, plus newly approved phrasings of others."""
    learned: dict[str, list[str]] = defaultdict(list)
    for article_id, text in db.execute("SELECT article_id, text FROM phrasings ORDER BY id"):
        learned[article_id].append(text)
    for article_id, text in approved:
        learned[article_id].append(text)
    wanted = [
        _Unit(article.id, kind, text, text_hash(kind, text))
        for article in articles
        for kind, text in article_units(article, learned.get(article.id, ()))
    ]
    writing = {article.id for article in articles} | set(deleted)
    wanted += [  # phrasings of articles this write leaves as they are
        _Unit(article_id, "phrasing", text, text_hash("phrasing", text))
        for article_id, text in dict.fromkeys(approved)
        if article_id in versions and article_id not in writing
    ]
    return wanted


def _vectors_for(
    missing: Sequence[_Unit],
    *,
    embedder: Embedder | None,
    known: Mapping[str, bytes] | None,
) -> tuple[dict[tuple[str, str], bytes], int]:
    """Encoded vectors of ``missing`` by (article id, hash): ``known`` first, then embedded.

    Returns them and how many distinct texts were embedded now (a text shared
    by several articles is embedded once). Without an embedder, only known
    vectors are returned.
    """
    stored = {
        (u.article_id, u.hash): known[u.hash]
        for u in missing
        if known is not None and u.hash in known
    }
    to_embed = [u for u in missing if (u.article_id, u.hash) not in stored]
    if embedder is None or not to_embed:
        return stored, 0
    unique = list(dict.fromkeys(u.text for u in to_embed))
    computed = dict(zip(unique, embedder.embed(unique), strict=True))
    stored.update({(u.article_id, u.hash): encode(computed[u.text]) for u in to_embed})
    return stored, len(unique)


def _article_rows(
    db: sqlite_utils.Database,
    articles: Sequence[Article],
    versions: Mapping[str, int],
    *,
    source: str,
    stamp: str,
) -> tuple[list[dict[str, object]], list[tuple[str, str]], list[str], int]:
    """Rows to upsert, their content keys, the ids they replace, and how many are unchanged."""
    keys = {
        row[0]: row[1]
        for row in db.execute("SELECT key, value FROM meta WHERE key LIKE 'content:%'")
    }
    rows: list[dict[str, object]] = []
    content_keys: list[tuple[str, str]] = []
    replaced: list[str] = []
    unchanged = 0
    for article in articles:
        key = article.content_key()
        previous = versions.get(article.id)
        if previous is not None and keys.get(f"content:{article.id}") == key:
            unchanged += 1
            continue
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
    return rows, content_keys, replaced, unchanged


def import_path(
    db: sqlite_utils.Database,
    path: str | Path,
    *,
    embedder: Embedder | None,
    fmt: str | None = None,
) -> ImportResult:
    """Parse and validate ``path`` (format ``fmt`` or detected), then store it (all or nothing)."""
    return write_articles(db, parse_path(path, fmt), embedder=embedder, source=Path(path).name)
