"""The server's side of knowledge sync and bubble-up review, stored in SQLite.

Articles carry the knowledge *version* that last changed them (one global
counter, bumped once per publish or approval). A client whose cache is at
version N asks for the changes since N and gets the sync payload that
:mod:`kb_cache.sync` applies::

    {"format": 1, "since": N, "version": M, "articles": [...], "deleted": [...]}

Agents' submissions wait in a review queue; a supervisor's approval turns one
into an article (a new version, so every cache picks it up on its next sync),
a rejection keeps its reason. A submission naming an ``article_id`` proposes
customer phrasings of that article instead (learned from agents' feedback):
approved, it is stored under the key ``phrasing/<submission id>`` beside the
articles and reaches caches as the payload's ``phrasings`` list. A submission
keeps its agent's site and team: supervisors see and decide only those inside
their scope. The pure helpers here are shared with the Redis backend so both
answer identically.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from agent_assist.errors import KnowledgeConflict
from agent_assist.marquee.protocol import Review, Reviewed, Submit
from agent_assist.marquee.scope import EVERYWHERE, Routed, Scope

__all__ = [
    "PHRASING",
    "SYNC_FORMAT",
    "SqliteKnowledge",
    "article_from_submission",
    "free_id",
    "in_scope",
    "phrasing_from_submission",
    "place_of",
    "slug",
    "submission_dict",
]

SYNC_FORMAT = 1
PHRASING = "phrasing/"  # key prefix of approved phrasings (no article id contains '/')
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_articles (
    id TEXT PRIMARY KEY, record TEXT NOT NULL, version INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS kb_articles_version ON kb_articles(version);
CREATE TABLE IF NOT EXISTS kb_submissions (
    id INTEGER PRIMARY KEY, payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
    reviewer TEXT, reason TEXT, article_id TEXT, reviewed_at REAL
);
"""


def slug(title: str) -> str:
    """An article id made from a title: lower-case words joined by '-' (at most 60 characters)."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:60].strip("-") or "resolution"


def submission_dict(
    message: Submit, *, author: str, site: str, team: str, now: float
) -> dict[str, Any]:
    """The stored form of a submission: its fields, its author's name, site and team, and
    ``now`` (epoch s)."""
    return {
        "title": message.title,
        "body": message.body,
        "tags": list(message.tags),
        "triggers": list(message.triggers),
        "author": author,
        "site": site,
        "team": team,
        "ref": message.ref,
        "submitted_at": now,
        **({"article_id": message.article_id} if message.article_id else {}),
    }


def phrasing_from_submission(
    submission: dict[str, Any], review: Review, *, submission_id: str
) -> dict[str, Any]:
    """The stored record of an approved phrasing submission (the reviewer may re-target it)."""
    return {
        "id": f"{PHRASING}{submission_id}",
        "article_id": review.article_id or submission["article_id"],
        "texts": list(submission["triggers"]),
    }


def place_of(submission: dict[str, Any]) -> Scope:
    """The site and team a submission came from (older ones have no team: "")."""
    return Scope((str(submission.get("site", "")),), (str(submission.get("team", "")),))


def in_scope(submission: dict[str, Any], viewer: Scope) -> bool:
    """May a supervisor of ``viewer`` see and decide this submission?"""
    return viewer.covers(place_of(submission))


def article_from_submission(submission: dict[str, Any], review: Review) -> dict[str, Any]:
    """The article record (the knowledge cache's import format) an approval publishes."""
    record: dict[str, Any] = {
        "id": review.article_id or slug(submission["title"]),
        "title": submission["title"],
        "body": submission["body"],
        "tags": submission["tags"],
        "triggers": submission["triggers"],
    }
    if review.department:
        record["department"] = review.department
    if review.authority:
        record["authority"] = review.authority
    return record


def free_id(base: str, taken: Callable[[str], bool]) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not ``taken``."""
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base[:95]}-{n}"
    return candidate


def payload(
    since: int, version: int, records: list[dict[str, Any]], deleted: list[str]
) -> dict[str, Any]:
    """The sync payload for changed ``records`` (articles and approved phrasings, in order)
    from version ``since`` to ``version``.

    Raises KnowledgeConflict when ``since`` is ahead of this server.
    """
    if since > version:
        raise KnowledgeConflict(
            f"the cache is at knowledge version {since} but this server has only {version}"
        )
    body: dict[str, Any] = {
        "format": SYNC_FORMAT,
        "since": since,
        "version": version,
        "articles": [r for r in records if not r["id"].startswith(PHRASING)],
        "deleted": [d for d in deleted if not d.startswith(PHRASING)],
    }
    phrasings = [
        {"article_id": r["article_id"], "text": text}
        for r in records
        if r["id"].startswith(PHRASING)
        for text in r["texts"]
    ]
    if phrasings:
        body["phrasings"] = phrasings
    return body


class SqliteKnowledge:
    """Knowledge versions and the review queue in the marquee server's SQLite database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        db.executescript(_SCHEMA)

    @property
    def version(self) -> int:
        """The newest knowledge version published (0 before the first)."""
        row = self.db.execute("SELECT value FROM counters WHERE name = 'kb_version'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self) -> int:
        self.db.execute(
            "INSERT INTO counters(name, value) VALUES ('kb_version', 1)"
            " ON CONFLICT(name) DO UPDATE SET value = value + 1"
        )
        return self.version

    def publish(self, records: list[dict[str, Any]], *, deleted: tuple[str, ...] = ()) -> int:
        """Store validated article records (and deletions) as one new version; returns it.

        Records identical to what is stored are skipped; if nothing changes the
        version stays where it was.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            changed = [r for r in records if self._stored(r["id"]) != r]
            gone = [i for i in deleted if self._stored(i) is not None]
            if changed or gone:
                version = self._bump()
                for record in changed:
                    self.db.execute(
                        "INSERT OR REPLACE INTO kb_articles(id, record, version, deleted) VALUES (?, ?, ?, 0)",
                        [record["id"], json.dumps(record, ensure_ascii=False), version],
                    )
                for article_id in gone:
                    self.db.execute(
                        "UPDATE kb_articles SET deleted = 1, version = ? WHERE id = ?",
                        [version, article_id],
                    )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.version

    def _stored(self, article_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT record FROM kb_articles WHERE id = ? AND deleted = 0", [article_id]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def changes(self, since: int) -> dict[str, Any]:
        """The sync payload that takes a cache at version ``since`` to the current one."""
        rows = self.db.execute(
            "SELECT id, record, deleted FROM kb_articles WHERE version > ? ORDER BY version, id",
            [since],
        ).fetchall()
        articles = [json.loads(r[1]) for r in rows if not r[2]]
        deleted = [r[0] for r in rows if r[2] and since > 0]  # a fresh cache needs no deletions
        return payload(since, self.version, articles, deleted)

    # -- the review queue -----------------------------------------------------------

    def submit(
        self, message: Submit, *, author: str, site: str, team: str = "", now: float | None = None
    ) -> str:
        """Queue a resolution for review; returns its review-queue id (``s<number>``)."""
        entry = submission_dict(
            message, author=author, site=site, team=team, now=time.time() if now is None else now
        )
        cursor = self.db.execute(
            "INSERT INTO kb_submissions(payload) VALUES (?)", [json.dumps(entry)]
        )
        return f"s{cursor.lastrowid}"

    def queue(self, *, viewer: Scope = EVERYWHERE) -> list[dict[str, Any]]:
        """Submissions waiting for review inside ``viewer``'s scope, oldest first (with ``id``)."""
        return [
            {"id": f"s{row[0]}", **entry}
            for row in self.db.execute(
                "SELECT id, payload FROM kb_submissions WHERE state = 'pending' ORDER BY id"
            )
            if in_scope(entry := json.loads(row[1]), viewer)
        ]

    def review(
        self,
        message: Review,
        *,
        reviewer: str,
        viewer: Scope = EVERYWHERE,
        now: float | None = None,
    ) -> Routed | None:
        """Decide a pending submission; None if there is no such pending submission in
        ``viewer``'s scope. The Reviewed notice is routed to the submission's place."""
        number = message.id[1:] if message.id.startswith("s") else ""
        if not number.isdigit():
            return None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT payload FROM kb_submissions WHERE id = ? AND state = 'pending'",
                [int(number)],
            ).fetchone()
            submission = json.loads(row[0]) if row is not None else None
            if submission is None or not in_scope(submission, viewer):
                self.db.execute("ROLLBACK")
                return None
            article_id = version = None
            if message.decision == "approve":
                if submission.get("article_id"):
                    record = phrasing_from_submission(submission, message, submission_id=message.id)
                    article_id = record["article_id"]
                else:
                    record = article_from_submission(submission, message)
                    if (
                        not message.article_id
                    ):  # a title like an existing article's must not replace it
                        record["id"] = free_id(record["id"], lambda i: self._stored(i) is not None)
                    article_id = record["id"]
                version = self._bump()
                self.db.execute(
                    "INSERT OR REPLACE INTO kb_articles(id, record, version, deleted) VALUES (?, ?, ?, 0)",
                    [record["id"], json.dumps(record, ensure_ascii=False), version],
                )
            self.db.execute(
                "UPDATE kb_submissions SET state = ?, reviewer = ?, reason = ?, article_id = ?, reviewed_at = ?"
                " WHERE id = ?",
                [message.decision + "d", reviewer, message.reason, article_id,
                 time.time() if now is None else now, int(number)],
            )  # fmt: skip
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        reviewed = Reviewed(
            id=message.id,
            decision=message.decision,
            reviewer=reviewer,
            article_id=article_id,
            version=version,
        )
        return Routed(reviewed, place_of(submission))
