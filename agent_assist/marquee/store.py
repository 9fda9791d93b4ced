"""The marquee server's state in SQLite: tokens (hashed), announcements, acks, changes.

Every change to an announcement (created, edited, retracted) takes the next
number of one global sequence (``seq``). A client that remembers the last
``seq`` it saw can ask for exactly what it missed, so nothing is lost and
nothing arrives twice across a reconnect or a server restart. The database's
``epoch`` (a random id made with it) tells a client whose ``seq`` belongs to
another database (a reset server) to start again from 0.

Tokens are stored as SHA-256 hashes: a stolen database does not reveal them.
A token's id (``token list``, ``token revoke``) is the start of its hash.
Each announcement keeps the scope of the token that made it (see
:mod:`agent_assist.marquee.scope`) and, for a keyed ``announce``, the key, so
a repeat finds the announcement already stored. Used only from the server's
event-loop thread.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from pathlib import Path

from agent_assist.errors import AgentAssistError
from agent_assist.marquee.knowledge import SqliteKnowledge
from agent_assist.marquee.protocol import (
    Announce,
    Announcement,
    Audience,
    Edit,
    Retracted,
    Role,
)
from agent_assist.marquee.scope import (
    EVERYWHERE,
    Routed,
    Scope,
    delivers_to,
    reaches,
    receipts_in_scope,
)
from agent_assist.marquee.stats_store import SqliteStats
from agent_assist.marquee.tokens import (
    _ID_LENGTH,
    Identity,
    TokenInfo,
    hash_token,
    new_token,
    token_id,
)

__all__ = [
    "Identity",
    "MarqueeStore",
    "TokenInfo",
    "hash_token",
    "new_token",
    "scope_json",
    "token_id",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL,
    site TEXT NOT NULL DEFAULT '', team TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0, revoked_at REAL
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
CREATE TABLE IF NOT EXISTS server_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# columns added after the first release: (table, column, declaration)
_ADDED = (
    ("tokens", "revoked_at", "REAL"),
    ("announcements", "scope", "TEXT"),  # JSON of the author's Scope; NULL: everywhere (older rows)
    ("announcements", "idem", "TEXT"),  # author + idempotency key of a keyed announce
)


def scope_json(scope: Scope) -> str:
    """``scope`` as the compact JSON stored beside an announcement."""
    return json.dumps(scope.to_json(), separators=(",", ":"))


class MarqueeStore:
    """A single server's state in one SQLite file: tokens, announcements, receipts, knowledge,
    team stats.

    Opening a path that cannot be used raises AgentAssistError.
    """

    def __init__(self, path: str | Path) -> None:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(_SCHEMA)
            for table, column, declaration in _ADDED:
                have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            self.db.execute(
                "CREATE UNIQUE INDEX IF NOT EXISTS announcements_idem ON announcements(idem)"
                " WHERE idem IS NOT NULL"
            )
            self.db.execute(
                "INSERT OR IGNORE INTO server_meta(name, value) VALUES ('epoch', ?)",
                [secrets.token_hex(8)],
            )
            self.knowledge = SqliteKnowledge(self.db)
            self.stats = SqliteStats(self.db)  # team stats (issue 15)
        except (sqlite3.Error, OSError) as exc:
            raise AgentAssistError(f"cannot open the marquee database {path}: {exc}") from None

    @property
    def epoch(self) -> str:
        """A random id made with this database: seqs from another database are not comparable."""
        return str(
            self.db.execute("SELECT value FROM server_meta WHERE name = 'epoch'").fetchone()[0]
        )

    # -- tokens ----------------------------------------------------------------------

    def create_token(
        self,
        *,
        role: Role,
        name: str,
        site: str | tuple[str, ...] = "",
        team: str | tuple[str, ...] = "",
    ) -> str:
        """A new bearer token (shown once; only its hash is kept)."""
        token, who = new_token(role=role, name=name, site=site, team=team)
        self.db.execute(
            "INSERT INTO tokens(hash, role, name, site, team, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [hash_token(token), who.role, who.name, who.site, who.team, time.time()],
        )
        return token

    def identify(self, token: str) -> Identity | None:
        """The identity of a live (not revoked) token, or None."""
        digest = hash_token(token)
        row = self.db.execute(
            "SELECT role, name, site, team FROM tokens WHERE hash = ? AND revoked = 0", [digest]
        ).fetchone()
        if row is None:
            return None
        role, name, site, team = row
        return Identity(role, name, site, team, token_id(digest))

    def agents(self) -> list[Identity]:
        """Every agent with a live token (who may still have to see an announcement)."""
        return [
            Identity(*row)
            for row in self.db.execute(
                "SELECT role, name, site, team FROM tokens WHERE revoked = 0 AND role = 'agent'"
            )
        ]

    def tokens(self) -> list[TokenInfo]:
        """Every token, oldest first (revoked ones too, marked)."""
        return [
            TokenInfo(token_id(row[0]), *row[1:])
            for row in self.db.execute(
                "SELECT hash, role, name, site, team, created_at, revoked_at FROM tokens"
                " ORDER BY created_at, hash"
            )
        ]

    def revoke(self, name_or_id: str, *, now: float | None = None) -> list[TokenInfo]:
        """Revoke the token with this id, or else every live token of this name; returns them."""
        live = [t for t in self.tokens() if t.revoked_at is None]
        chosen = [t for t in live if t.id == name_or_id] or [
            t for t in live if t.name == name_or_id
        ]
        stamp = time.time() if now is None else now
        for info in chosen:
            self.db.execute(
                "UPDATE tokens SET revoked = 1, revoked_at = ? WHERE substr(hash, 1, ?) = ?",
                [stamp, _ID_LENGTH, info.id],
            )
        return chosen

    def revoked_since(self, since: float) -> list[tuple[str, float]]:
        """(token id, when) of tokens revoked after ``since`` (seconds since the epoch)."""
        return [
            (token_id(row[0]), float(row[1]))
            for row in self.db.execute(
                "SELECT hash, revoked_at FROM tokens WHERE revoked = 1 AND revoked_at > ?",
                [since],
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

    def announce(
        self,
        message: Announce,
        *,
        author: str,
        scope: Scope = EVERYWHERE,
        now: float | None = None,
    ) -> tuple[Routed, bool]:
        """Store a new announcement made in ``scope``; returns it and True.

        A keyed ``announce`` whose key this author used before returns the
        announcement stored then, and False: a retry never duplicates.
        """
        now = time.time() if now is None else now
        idem = f"{author}\n{message.key}" if message.key else None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if idem is not None:
                row = self.db.execute(_SELECT + " WHERE idem = ?", [idem]).fetchone()
                if row is not None:
                    self.db.execute("COMMIT")
                    return _routed(row), False
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
                "INSERT INTO announcements(id, seq, text, priority, audience, author, created_at,"
                " starts_at, expires_at, scope, idem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    announcement.id, seq, message.text, message.priority, _audience_json(message.audience),
                    author, now, message.starts_at, message.expires_at, scope_json(scope), idem,
                ],
            )  # fmt: skip
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return Routed(announcement, scope, announcement.audience, self.epoch), True

    def edit(self, message: Edit, *, now: float | None = None) -> Routed | None:
        """Apply an edit with the next seq; None when the announcement is retracted or unknown."""
        now = time.time() if now is None else now
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.get(message.id) is None:
                self.db.execute("ROLLBACK")
                return None
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

    def retract(self, announcement_id: str) -> Routed | None:
        """Retract; returns the change, or None if there is no such active announcement."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            current = self.get(announcement_id)
            if current is None:
                self.db.execute("ROLLBACK")
                return None
            seq = self._next_seq()
            self.db.execute(
                "UPDATE announcements SET seq = ?, retracted = 1 WHERE id = ?",
                [seq, announcement_id],
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return Routed(
            Retracted(id=announcement_id, seq=seq), current.scope, current.audience, self.epoch
        )

    def get(self, announcement_id: str) -> Routed | None:
        """The active announcement ``announcement_id`` with its scope, or None."""
        row = self.db.execute(
            _SELECT + " WHERE id = ? AND retracted = 0", [announcement_id]
        ).fetchone()
        return _routed(row, self.epoch) if row else None

    def changes_since(self, seq: int, *, now: float | None = None) -> list[Routed]:
        """Every change after ``seq`` in seq order: active announcements (expired ones left
        out) and retractions, each with its audience and scope."""
        now = time.time() if now is None else now
        epoch = self.epoch
        return [
            _routed(r, epoch)
            for r in self.db.execute(
                _SELECT
                + " WHERE seq > ? AND (retracted = 1 OR expires_at IS NULL OR expires_at > ?)"
                " ORDER BY seq",
                [seq, now],
            )
        ]

    def active(self, *, now: float | None = None) -> list[Announcement]:
        """Announcements neither retracted nor expired at ``now`` (epoch s), by seq."""
        return [
            r.message for r in self.changes_since(0, now=now) if isinstance(r.message, Announcement)
        ]

    # -- read receipts ---------------------------------------------------------------

    def ack(self, announcement_id: str, who: Identity, *, now: float | None = None) -> bool:
        """Record that ``who`` has seen it; False (nothing stored) unless it was for them."""
        current = self.get(announcement_id)
        if current is None or current.audience is None:
            return False
        if who.role != "agent" or not delivers_to(
            current.audience, current.scope, site=who.site, team=who.team, name=who.name
        ):
            return False
        self.db.execute(
            "INSERT OR IGNORE INTO acks(announcement_id, name, at) VALUES (?, ?, ?)",
            [announcement_id, who.name, time.time() if now is None else now],
        )
        return True

    def receipts(
        self, announcement_id: str, *, viewer: Scope = EVERYWHERE
    ) -> tuple[list[tuple[str, float]], list[str]] | None:
        """(who acknowledged and when, who in the audience has not), as far as ``viewer``
        may see; None if unknown or outside ``viewer``'s scope."""
        current = self.get(announcement_id)
        if current is None or current.audience is None:
            return None
        if not reaches(current.audience, current.scope, viewer):
            return None
        acks = [
            (str(r[0]), float(r[1]))
            for r in self.db.execute(
                "SELECT name, at FROM acks WHERE announcement_id = ? ORDER BY at", [announcement_id]
            )
        ]
        people = [(a.name, a.site, a.team) for a in self.agents()]
        return receipts_in_scope(current.audience, current.scope, acks, people, viewer)


_SELECT = (
    "SELECT id, seq, text, priority, audience, author, created_at, starts_at, expires_at,"
    " edited_at, retracted, scope FROM announcements"
)


def _audience_json(audience: Audience) -> str:
    return json.dumps(
        {
            "all": audience.all,
            "sites": audience.sites,
            "teams": audience.teams,
            "agents": audience.agents,
        }
    )


def _routed(row: tuple[object, ...], epoch: str = "") -> Routed:
    """A stored row as the change clients get (a retraction for a retracted one), routed."""
    data = json.loads(str(row[4]))
    audience = Audience(
        data["all"], tuple(data["sites"]), tuple(data["teams"]), tuple(data["agents"])
    )
    scope = EVERYWHERE if row[11] is None else Scope.from_json(json.loads(str(row[11])))
    if row[10]:
        return Routed(Retracted(id=str(row[0]), seq=int(row[1])), scope, audience, epoch)  # type: ignore[call-overload]
    announcement = Announcement(
        id=str(row[0]),
        seq=int(row[1]),  # type: ignore[call-overload]
        text=str(row[2]),
        priority=row[3],  # type: ignore[arg-type]
        audience=audience,
        author=str(row[5]),
        created_at=float(row[6]),  # type: ignore[arg-type]
        starts_at=row[7],  # type: ignore[arg-type]
        expires_at=row[8],  # type: ignore[arg-type]
        edited_at=row[9],  # type: ignore[arg-type]
    )
    return Routed(announcement, scope, audience, epoch)
