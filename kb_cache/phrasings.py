"""Learning from the floor: how customers put it, from the articles agents found useful.

When an agent marks a suggested article **Used it** or **Helpful**, the
customer's words that brought it up become a *candidate phrasing* of that
article (:func:`learn`): scrubbed of personal data, kept in this cache (so
this agent's searches learn at once) and queued in the outbox for the
server's review queue (the same submit/review flow as resolutions, with the
article's id). A supervisor's approval publishes it; every cache receives it
on its next sync (:func:`kb_cache.sync.apply_sync` stores it as *approved*).
:func:`gains` is what ``kb report`` shows.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlite_utils

from agent_assist.errors import KnowledgeError
from agent_assist.privacy import scrub
from kb_cache.embedder import Embedder
from kb_cache.store import get_meta, now_iso, set_meta
from kb_cache.vectors import encode

__all__ = ["MAX_CHARS", "MAX_WORDS", "MIN_WORDS", "candidate", "gains", "learn"]

MAX_WORDS = 30  # the customer's last words: the problem, not the whole call
MIN_WORDS = 3
MAX_CHARS = 200  # what a submission's trigger may hold


def candidate(words: str) -> str | None:
    """The phrasing to learn from a customer's words (scrubbed, shortened), or None if too short."""
    text = " ".join(scrub(words).split()[-MAX_WORDS:])
    while len(text) > MAX_CHARS:
        text = text.split(" ", 1)[1] if " " in text else text[-MAX_CHARS:]
    if len(re.findall(r"[^\W\d_]+", text)) < MIN_WORDS:
        return None
    return text


def learn(
    db: sqlite_utils.Database,
    article_id: str,
    words: str,
    *,
    embedder: Embedder | None,
    submit: bool = True,
) -> str | None:
    """Keep the customer's ``words`` as a candidate phrasing of ``article_id``; returns it.

    None when there is nothing to learn (too short, or the article already has
    it). The phrasing is embedded and searchable at once, and (with ``submit``)
    queued for review in the same transaction. KnowledgeError if there is no
    such article.
    """
    row = db.execute("SELECT title, triggers FROM articles WHERE id = ?", [article_id]).fetchone()
    if row is None:
        raise KnowledgeError(f"no article {article_id!r} in the cache")
    text = candidate(words)
    if text is None or text in json.loads(row[1]):
        return None
    if db.execute(
        "SELECT 1 FROM phrasings WHERE article_id = ? AND text = ?", [article_id, text]
    ).fetchone():
        return None
    from kb_cache.importer import text_hash  # the importer stores every other unit the same way

    vector = encode(embedder.embed([text])[0]) if embedder is not None else None
    stamp = now_iso()
    payload = {
        "article_id": article_id,
        "title": row[0],
        "body": f"How customers put it: {text}",
        "tags": [],
        "triggers": [text],
        "author": None,
        "submitted_at": stamp,
    }
    with db.atomic():  # the phrasing, its vector and its outbox entry together, or nothing
        db.execute(
            "INSERT INTO phrasings(article_id, text, state, created_at) VALUES (?, ?, 'candidate', ?)",
            [article_id, text, stamp],
        )
        if vector is not None:
            db.execute(
                "INSERT OR REPLACE INTO vectors(article_id, text_hash, kind, vec) VALUES (?, ?, 'phrasing', ?)",
                [article_id, text_hash("phrasing", text), vector],
            )
            set_meta(db, "content_version", int(get_meta(db, "content_version", "0") or 0) + 1)
        if submit:
            db.execute(
                "INSERT INTO outbox(created_at, kind, payload) VALUES (?, 'phrasing', ?)",
                [stamp, json.dumps(payload)],
            )
    return text


def gains(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per article: trigger phrasings it came with, and learned ones (local candidates, approved)."""
    return [
        {
            "article_id": r[0],
            "title": r[1] or "(not in this cache)",
            "triggers": r[2],
            "candidates": r[3],
            "approved": r[4],
        }
        for r in db.execute(
            """
            SELECT p.article_id, a.title, coalesce(json_array_length(a.triggers), 0),
                   sum(p.state = 'candidate'), sum(p.state = 'approved')
            FROM phrasings p LEFT JOIN articles a ON a.id = p.article_id
            GROUP BY p.article_id ORDER BY count(*) DESC, p.article_id
            """
        ).fetchall()
    ]
