"""The cache meets the server: push queued resolutions, then sync articles.

The transport is injected, so this module never imports a network client: the
desktop app passes its reconnecting marquee client, the command line a short
synchronous session. Both share the rules here:

* :func:`push` turns each queued resolution (and learned phrasing, which
  names its article) into a protocol ``submit``,
  refuses for good what the server would refuse (so it is not retried forever),
  and hands the rest to ``deliver``. ``deliver`` raises
  :class:`~kb_cache.outbox.Rejected` when the server refused that submission for
  good and :class:`~agent_assist.errors.RetryLaterError` when it should be tried again
  later; the queue keeps its order.
* :func:`sync` asks ``fetch_changes(since)`` for what changed since the cache's
  version and applies it all or nothing (:mod:`kb_cache.sync`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from agent_assist.marquee.protocol import ProtocolError, Submit, validate
from kb_cache.embedder import Embedder
from kb_cache.importer import ImportResult
from kb_cache.outbox import Rejected, flush
from kb_cache.sync import apply_sync, synced_version

__all__ = ["Deliver", "FetchChanges", "SyncOutcome", "push", "submission", "sync"]

Deliver = Callable[[Submit], None]
"""Send one submission and wait for the server's receipt (see the module docstring)."""
FetchChanges = Callable[[int], Any]
"""The server's parsed answer to ``GET /kb/changes?since=N``."""


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What a sync did: ``result`` is None when the cache was already at ``version``."""

    since: int
    version: int
    result: ImportResult | None
    deleted: int = 0

    @property
    def changed(self) -> bool:
        """True when the sync applied a new version to the cache."""
        return self.result is not None


def submission(payload: dict[str, Any], *, ref: str) -> Submit:
    """The ``submit`` message for a queued resolution; Rejected if the server would refuse it."""
    try:
        message = Submit(
            ref=ref,
            title=payload["title"],
            body=payload["body"],
            tags=tuple(payload.get("tags", ())),
            triggers=tuple(payload.get("triggers", ())),
            article_id=payload.get("article_id"),
        )
        validate(message)
    except (ProtocolError, KeyError, TypeError) as exc:
        raise Rejected(str(exc)) from None
    return message


def push(db: sqlite_utils.Database, deliver: Deliver) -> tuple[int, int]:
    """Send every queued resolution through ``deliver``; returns (sent, still queued)."""
    prefix = f"r{time.monotonic_ns()}-"  # refs unique across pushes on one connection
    count = 0

    def send(payload: dict[str, Any]) -> None:
        nonlocal count
        count += 1
        deliver(submission(payload, ref=f"{prefix}{count}"))

    return flush(db, send)


def sync(
    db: sqlite_utils.Database, fetch_changes: FetchChanges, *, embedder: Embedder | None
) -> SyncOutcome:
    """Bring the cache up to the server's version, all or nothing (SyncError if refused)."""
    since = synced_version(db)
    payload = fetch_changes(since)
    if isinstance(payload, dict) and payload.get("version") == since:
        return SyncOutcome(since=since, version=since, result=None)
    result = apply_sync(db, payload, embedder=embedder)
    deleted = payload.get("deleted", [])  # apply_sync has checked it is a list
    return SyncOutcome(
        since=since, version=int(payload["version"]), result=result, deleted=len(deleted)
    )
