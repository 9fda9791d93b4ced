"""Knowledge sync from the server: incremental by version, applied atomically.

The server (marquee issue) answers "changes since version N" with a payload::

    {"format": 1, "since": 12, "version": 15,
     "articles": [{...full article, as in an import...}, ...],
     "deleted": ["old-article-id", ...],
     "phrasings": [{"article_id": "card-arrival", "text": "my card never came"}, ...]}

``phrasings`` (optional) are customer phrasings agents' feedback taught and a
supervisor approved (:mod:`kb_cache.phrasings`); they join their article's
search units, also when the article itself did not change.

:func:`apply_sync` checks everything before writing: the format, that
``since`` is exactly the cache's synced version (a gap or replay is refused),
that ``version`` moves forward, and every article record. Then articles and
deletions are written in one transaction with the new version. A corrupt,
partial or out-of-order payload raises SyncError and the cache stays as it was
(so does a payload over ``MAX_PAYLOAD`` bytes or nested deeper than 8 levels).
The app always reads the local cache; sync only ever replaces it whole-step.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from agent_assist.errors import KnowledgeImportError, SyncError
from agent_assist.limits import LimitError, loads, text_problem
from kb_cache.embedder import Embedder
from kb_cache.importer import Article, ImportResult, validate_record, write_articles
from kb_cache.store import get_meta

__all__ = ["FORMAT", "MAX_PAYLOAD", "apply_sync", "synced_version"]

FORMAT = 1
MAX_PAYLOAD = 256 << 20  # bytes: a whole knowledge base of tens of thousands of articles


def synced_version(db: sqlite_utils.Database) -> int:
    """The server version this cache last synced to (0 = never)."""
    return int(get_meta(db, "synced_version", "0") or 0)


def apply_sync(
    db: sqlite_utils.Database, payload: bytes | str | dict[str, Any], *, embedder: Embedder | None
) -> ImportResult:
    """Validate ``payload`` completely, then apply it in one transaction."""
    if not isinstance(payload, dict):
        try:
            payload = loads(payload, max_bytes=MAX_PAYLOAD, max_depth=8)
        except LimitError as exc:
            raise SyncError(f"sync payload is {exc}") from None
        except ValueError as exc:  # also UnicodeDecodeError
            raise SyncError(f"sync payload is not valid JSON ({str(exc)[:100]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SyncError(f"sync payload must be an object with format {FORMAT}")
    since, version = payload.get("since"), payload.get("version")
    if not isinstance(since, int) or not isinstance(version, int) or isinstance(since, bool):
        raise SyncError("sync payload needs integer 'since' and 'version'")
    current = synced_version(db)
    if since != current:
        raise SyncError(f"sync payload starts at version {since} but this cache is at {current}")
    if version <= since:
        raise SyncError(f"sync payload does not move forward ({since} -> {version})")
    records, deleted = payload.get("articles", []), payload.get("deleted", [])
    if not isinstance(records, list) or not isinstance(deleted, list):
        raise SyncError("'articles' and 'deleted' must be lists")
    if not all(isinstance(d, str) for d in deleted):
        raise SyncError("'deleted' must list article ids")
    phrasings = payload.get("phrasings", [])
    if not isinstance(phrasings, list) or not all(
        isinstance(p, dict)
        and isinstance(p.get("article_id"), str)
        and isinstance(p.get("text"), str)
        and 0 < len(p["text"].strip()) <= 500
        for p in phrasings
    ):
        raise SyncError(
            "'phrasings' must list {article_id, text} objects (text up to 500 characters)"
        )
    for index, phrasing in enumerate(phrasings):
        problem = text_problem(phrasing["text"]) or text_problem(phrasing["article_id"])
        if problem is not None:
            raise SyncError(f"phrasing {index} {problem}")
    articles: list[Article] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise SyncError(f"article {index} is not an object")
        try:
            articles.append(validate_record(record, path="sync payload", line=index + 1))
        except KnowledgeImportError as exc:
            raise SyncError(f"article {index}: {exc}") from None
    return write_articles(
        db,
        articles,
        embedder=embedder,
        source=f"sync {version}",
        deleted=tuple(deleted),
        meta={"synced_version": version},
        approved=[(p["article_id"], p["text"].strip()) for p in phrasings],
    )
