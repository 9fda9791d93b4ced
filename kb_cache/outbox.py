"""Bubble-up resolutions: agents submit them from the front line, even offline.

A submission is stored in the local outbox at once (scrubbed of personal data)
and sent to the server's review queue by :func:`flush` whenever a sender is
available. A sender that cannot send now (:class:`RetryLaterError`: offline,
rate limited) leaves it queued for the next try; a rejection by the server
(:class:`Rejected`, a bad request) marks it rejected with the reason. Once a supervisor
approves it, the article reaches every cache through :mod:`kb_cache.sync`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from agent_assist.errors import KnowledgeError, RetryLaterError, SubmissionRejected
from agent_assist.privacy import scrub
from kb_cache.store import now_iso

__all__ = ["Rejected", "Submission", "flush", "pending", "submit_resolution"]


Rejected = SubmissionRejected
"""What a sender raises when the server refuses a submission for good (not a network error)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """A queued resolution: its outbox id, payload, and sends tried so far."""

    id: int
    payload: dict[str, Any]
    attempts: int


def submit_resolution(
    db: sqlite_utils.Database,
    *,
    title: str,
    steps: str,
    tags: Sequence[str] = (),
    triggers: Sequence[str] = (),
    author: str | None = None,
) -> int:
    """Queue a new resolution for review; returns its outbox id."""
    title, steps = title.strip(), steps.strip()
    if not title or not steps:
        raise KnowledgeError("a resolution needs a title and its steps")
    if len(title) > 200 or len(steps) > 10_000:
        raise KnowledgeError("a resolution's title is at most 200 characters and its steps 10,000")
    payload = {
        "title": scrub(title),
        "body": scrub(steps),
        "tags": [t.strip().lower() for t in tags if t.strip()],
        "triggers": [scrub(t.strip()) for t in triggers if t.strip()],
        "author": author,
        "submitted_at": now_iso(),
    }
    record = {
        "created_at": payload["submitted_at"],
        "kind": "resolution",
        "payload": json.dumps(payload),
    }
    with db.conn:
        table = db.table("outbox").insert(record)
    return int(table.last_pk or 0)


def pending(db: sqlite_utils.Database) -> list[Submission]:
    """Queued submissions, oldest first."""
    return [
        Submission(row[0], json.loads(row[1]), row[2])
        for row in db.execute(
            "SELECT id, payload, attempts FROM outbox WHERE state = 'queued' ORDER BY id"
        )
    ]


def flush(db: sqlite_utils.Database, send: Callable[[dict[str, Any]], None]) -> tuple[int, int]:
    """Try to send every queued submission; returns (sent, still queued).

    ``send`` raises :class:`Rejected` for a permanent refusal, and
    :class:`RetryLaterError` when it cannot send now (the server unreachable,
    rate limited or busy): then sending stops and the rest stays queued, in order.
    """
    sent = 0
    queue = pending(db)
    for position, item in enumerate(queue):
        try:
            send(item.payload)
        except Rejected as exc:
            with db.conn:
                db.execute(
                    "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, last_error = ? WHERE id = ?",
                    [str(exc), item.id],
                )
            continue
        except RetryLaterError as exc:
            with db.conn:
                db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                    [str(exc) or exc.__class__.__name__, item.id],
                )
            return sent, len(queue) - position
        with db.conn:
            db.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1 WHERE id = ?", [item.id]
            )
        sent += 1
    return sent, 0
