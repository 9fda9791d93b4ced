"""What agents did with articles, and what customers asked that nothing answered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlite_utils

from agent_assist.errors import KnowledgeError
from kb_cache.store import now_iso

__all__ = ["ACTIONS", "record", "report"]

ACTIONS = ("shown", "opened", "used", "helpful", "not_helpful")


def record(
    db: sqlite_utils.Database, article_id: str, action: str, *, when: datetime | None = None
) -> None:
    """Record ``action`` on ``article_id`` (e.g. the agent marked it helpful)."""
    if action not in ACTIONS:
        raise KnowledgeError(f"unknown feedback {action!r} (one of {', '.join(ACTIONS)})")
    if db.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone() is None:
        raise KnowledgeError(f"no article {article_id!r} in the cache")
    at = when or datetime.now(UTC)
    with db.conn:
        db.table("usage").insert(
            {
                "at": at.isoformat(timespec="seconds"),
                "day": at.date().isoformat(),
                "article_id": article_id,
                "action": action,
            }
        )


def report(
    db: sqlite_utils.Database, *, days: int = 14, today: date | None = None, top: int = 20
) -> dict[str, Any]:
    """Per-day use of each article, the most frequent unanswered searches, and what articles
    learned from the floor (:func:`kb_cache.phrasings.gains`)."""
    from kb_cache.phrasings import gains

    since = ((today or datetime.now(UTC).date()) - timedelta(days=days - 1)).isoformat()
    usage = [
        {
            "day": r[0],
            "article_id": r[1],
            "title": r[2],
            "shown": r[3],
            "used": r[4],
            "helpful": r[5],
            "not_helpful": r[6],
        }
        for r in db.execute(
            """
            SELECT u.day, u.article_id, coalesce(a.title, '(deleted)'),
                   sum(u.action = 'shown'), sum(u.action IN ('used', 'opened')),
                   sum(u.action = 'helpful'), sum(u.action = 'not_helpful')
            FROM usage u LEFT JOIN articles a ON a.id = u.article_id
            WHERE u.day >= ? GROUP BY u.day, u.article_id ORDER BY u.day DESC, count(*) DESC
            """,
            [since],
        ).fetchall()
    ]
    unanswered = [
        {"query": r[0], "count": r[1], "last_seen": r[2]}
        for r in db.execute(
            """
            SELECT lower(trim(query)) AS q, count(*) AS n, max(at) FROM searches
            WHERE answered = 0 AND day >= ? AND q != '' GROUP BY q ORDER BY n DESC, max(at) DESC LIMIT ?
            """,
            [since, top],
        ).fetchall()
    ]
    return {
        "since": since,
        "generated_at": now_iso(),
        "usage": usage,
        "unanswered": unanswered,
        "phrasings": gains(db),
    }
