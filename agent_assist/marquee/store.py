"""The marquee server's state in SQLite: tokens (hashed), announcements, acks, changes.

Every change to an announcement (created, edited, retracted) takes the next
number of one global sequence (``seq``). A client that remembers the last
``seq`` it saw can ask for exactly what it missed, so nothing is lost and
nothing arrives twice across a reconnect or a server restart.

Tokens are stored as SHA-256 hashes: a stolen database does not reveal them.
Used only from the server's event-loop thread.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from agent_assist.errors import AgentAssistError
from agent_assist.marquee.knowledge import SqliteKnowledge
from agent_assist.marquee.protocol import Announce, Announcement, Audience, Edit, Role
from agent_assist.marquee.stats_store import SqliteStats

__all__ = ["Identity", "MarqueeStore", "hash_token", "new_token"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL,
    site TEXT NOT NULL DEFAULT '', team TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS announcements (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, text TEXT NOT NULL, priority TEXT NOT NULL,
    audience TEXT NOT NULL, author TEXT NOT NULL, created_at REAL NOT NULL,
    starts_at REAL, expires_at REAL, edited_at REAL, retracted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS announcements_seq ON announcements(seq);
CREATE TABLE IF NOT EXISTS acks (
    announcement_id TEXT NOT NULL, name TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (announcement_id, name)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a token belongs to."""

    role: Role
    name: str
    site: str = ""
    team: str = ""

    @property
    def can_broadcast(self) -> bool:
        """Supervisors and admins may announce, edit, retract and read receipts."""
        return self.role in ("supervisor", "admin")


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (a stolen database does not reveal tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(*, role: Role, name: str, site: str = "", team: str = "") -> tuple[str, Identity]:
    """A fresh bearer token and the identity it stands for; raises on a bad role or name."""
    if role not in ("agent", "supervisor", "admin"):
        raise AgentAssistError(f"unknown role {role!r}")
    if not name.strip():
        raise AgentAssistError("a token needs a --name")
    token = "-"
    while token.startswith("-"):  # a leading '-' would read as an option on a command line
        token = secrets.token_urlsafe(32)
    return token, Identity(role, name.strip(), site, team)


class MarqueeStore:
    """A single server's state in one SQLite file: tokens, announcements, receipts, knowledge.

    Opening a path that cannot be used raises AgentAssistError.
    """

    def __init__(self, path: str | Path) -> None:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(_SCHEMA)
            self.knowledge = SqliteKnowledge(self.db)
            self.stats = SqliteStats(self.db)  # team stats (issue 15)
        except (sqlite3.Error, OSError) as exc:
            raise AgentAssistError(f"cannot open the marquee database {path}: {exc}") from None

    # -- tokens ----------------------------------------------------------------------

    def create_token(self, *, role: Role, name: str, site: str = "", team: str = "") -> str:
        """A new bearer token (shown once; only its hash is kept)."""
        token, who = new_token(role=role, name=name, site=site, team=team)
        self.db.execute(
            "INSERT INTO tokens(hash, role, name, site, team, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [hash_token(token), who.role, who.name, who.site, who.team, time.time()],
        )
        return token

    def identify(self, token: str) -> Identity | None:
        """The identity of a live (not revoked) token, or None."""
        row = self.db.execute(
            "SELECT role, name, site, team FROM tokens WHERE hash = ? AND revoked = 0",
            [hash_token(token)],
        ).fetchone()
        return Identity(*row) if row else None

    def agents(self) -> list[Identity]:
        """Every agent with a live token (who may still have to see an announcement)."""
        return [
            Identity(*row)
            for row in self.db.execute(
                "SELECT role, name, site, team FROM tokens WHERE revoked = 0 AND role = 'agent'"
            )
        ]

    # -- announcements ------------------------------------------------------------

    def _next_seq(self) -> int:
        self.db.execute(
            "INSERT INTO counters(name, value) VALUES ('seq', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1"
        )
        return int(self.db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0])

    @property
    def seq(self) -> int:
        """The newest change seq (0 before the first)."""
        row = self.db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
        return int(row[0]) if row else 0

    def announce(self, message: Announce, *, author: str, now: float | None = None) -> Announcement:
        """Store a new announcement by ``author`` at ``now`` (epoch s) with the next seq."""
        now = time.time() if now is None else now
        self.db.execute("BEGIN")
        try:
            seq = self._next_seq()
            announcement = Announcement(
                id=f"a{seq}-{secrets.token_hex(3)}",
                seq=seq,
                text=message.text,
                priority=message.priority,
                audience=message.audience,
                author=author,
                created_at=now,
                starts_at=message.starts_at,
                expires_at=message.expires_at,
            )
            self.db.execute(
                "INSERT INTO announcements(id, seq, text, priority, audience, author, created_at, starts_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    announcement.id, seq, message.text, message.priority, _audience_json(message.audience),
                    author, now, message.starts_at, message.expires_at,
                ],
            )  # fmt: skip
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return announcement

    def edit(self, message: Edit, *, now: float | None = None) -> Announcement | None:
        """Apply an edit with the next seq; None when the announcement is retracted or unknown."""
        current = self.get(message.id)
        if current is None:
            return None
        now = time.time() if now is None else now
        self.db.execute("BEGIN")
        try:
            seq = self._next_seq()
            self.db.execute(
                "UPDATE announcements SET seq = ?, text = coalesce(?, text), priority = coalesce(?, priority),"
                " expires_at = coalesce(?, expires_at), edited_at = ? WHERE id = ?",
                [seq, message.text, message.priority, message.expires_at, now, message.id],
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.get(message.id)

    def retract(self, announcement_id: str) -> int | None:
        """Retract; returns the change's seq, or None if there is no such active announcement."""
        if self.get(announcement_id) is None:
            return None
        self.db.execute("BEGIN")
        try:
            seq = self._next_seq()
            self.db.execute(
                "UPDATE announcements SET seq = ?, retracted = 1 WHERE id = ?",
                [seq, announcement_id],
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return seq

    def get(self, announcement_id: str) -> Announcement | None:
        """The announcement with this id unless it was retracted (expired ones too)."""
        row = self.db.execute(
            _SELECT + " WHERE id = ? AND retracted = 0", [announcement_id]
        ).fetchone()
        return _row(row) if row else None

    def changes_since(
        self, seq: int, *, now: float | None = None
    ) -> tuple[list[Announcement], list[tuple[str, int]]]:
        """Active announcements changed after ``seq`` (not expired), and retractions after it."""
        now = time.time() if now is None else now
        active = [
            _row(r)
            for r in self.db.execute(
                _SELECT
                + " WHERE seq > ? AND retracted = 0 AND (expires_at IS NULL OR expires_at > ?) ORDER BY seq",
                [seq, now],
            )
        ]
        gone = [
            (r[0], r[1])
            for r in self.db.execute(
                "SELECT id, seq FROM announcements WHERE seq > ? AND retracted = 1 ORDER BY seq",
                [seq],
            )
        ]
        return active, gone

    def active(self, *, now: float | None = None) -> list[Announcement]:
        """Announcements neither retracted nor expired at ``now`` (epoch s), by seq."""
        return self.changes_since(0, now=now)[0]

    # -- read receipts ---------------------------------------------------------------

    def ack(self, announcement_id: str, name: str, *, now: float | None = None) -> bool:
        """Record ``name``'s read receipt at ``now`` (the first counts); False if not there."""
        if self.get(announcement_id) is None:
            return False
        self.db.execute(
            "INSERT OR IGNORE INTO acks(announcement_id, name, at) VALUES (?, ?, ?)",
            [announcement_id, name, time.time() if now is None else now],
        )
        return True

    def receipts(self, announcement_id: str) -> tuple[list[tuple[str, float]], list[str]] | None:
        """(who acknowledged and when, who in the audience has not), or None if unknown."""
        announcement = self.get(announcement_id)
        if announcement is None:
            return None
        seen = [
            (r[0], r[1])
            for r in self.db.execute(
                "SELECT name, at FROM acks WHERE announcement_id = ? ORDER BY at", [announcement_id]
            )
        ]
        names = {name for name, _ in seen}
        pending = sorted(
            {  # a set: one agent may hold several tokens
                a.name
                for a in self.agents()
                if a.name not in names
                and announcement.audience.includes(site=a.site, team=a.team, name=a.name)
            }
        )
        return seen, pending


_SELECT = "SELECT id, seq, text, priority, audience, author, created_at, starts_at, expires_at, edited_at FROM announcements"


def _audience_json(audience: Audience) -> str:
    return json.dumps(
        {
            "all": audience.all,
            "sites": audience.sites,
            "teams": audience.teams,
            "agents": audience.agents,
        }
    )


def _row(row: tuple[object, ...]) -> Announcement:
    audience = json.loads(str(row[4]))
    return Announcement(
        id=str(row[0]),
        seq=int(row[1]),  # type: ignore[call-overload]
        text=str(row[2]),
        priority=row[3],  # type: ignore[arg-type]
        audience=Audience(
            audience["all"],
            tuple(audience["sites"]),
            tuple(audience["teams"]),
            tuple(audience["agents"]),
        ),
        author=str(row[5]),
        created_at=float(row[6]),  # type: ignore[arg-type]
        starts_at=row[7],  # type: ignore[arg-type]
        expires_at=row[8],  # type: ignore[arg-type]
        edited_at=row[9],  # type: ignore[arg-type]
    )
