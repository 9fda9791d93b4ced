"""Team stats in the marquee server's SQLite database (one node).

One row per call: the agent's name, site and team (from their token), the
call's id and day, seconds and counts, and flags as a JSON object of known
kinds to counts. A resent call (same agent and call id) is stored once.
Acknowledgement delays are read from the announcements and read receipts the
server keeps anyway (those of retracted announcements no longer count, as in Redis). Used only from the server's event-loop thread.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from agent_assist.marquee.stats import AckDelay, ack_delay

__all__ = ["SqliteStats"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS call_stats (
    agent TEXT NOT NULL, site TEXT NOT NULL, team TEXT NOT NULL, call TEXT NOT NULL,
    day TEXT NOT NULL, received_at REAL NOT NULL,
    duration REAL NOT NULL, talk_agent REAL NOT NULL, talk_customer REAL NOT NULL,
    hold REAL NOT NULL, mute REAL NOT NULL, dead_air REAL NOT NULL,
    script_done INTEGER NOT NULL, script_required INTEGER NOT NULL,
    articles_suggested INTEGER NOT NULL, articles_opened INTEGER NOT NULL,
    articles_used INTEGER NOT NULL, flags TEXT NOT NULL,
    PRIMARY KEY (agent, call)
);
CREATE INDEX IF NOT EXISTS call_stats_day ON call_stats(day);
"""
_COLUMNS = (
    "agent", "site", "team", "call", "day", "received_at", "duration", "talk_agent",
    "talk_customer", "hold", "mute", "dead_air", "script_done", "script_required",
    "articles_suggested", "articles_opened", "articles_used", "flags",
)  # fmt: skip


class SqliteStats:
    """Per-call stats records beside the server's announcements (same connection)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(_SCHEMA)

    def add(self, record: dict[str, Any]) -> bool:
        """Store one call's record (see :func:`agent_assist.marquee.stats.record`); False if
        that agent's call was already stored."""
        values = [json.dumps(record["flags"]) if c == "flags" else record[c] for c in _COLUMNS]
        cursor = self.db.execute(
            f"INSERT OR IGNORE INTO call_stats({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            values,
        )
        return cursor.rowcount == 1

    def calls(self, first: str, last: str) -> list[dict[str, Any]]:
        """The records of calls on days ``first`` to ``last`` (inclusive)."""
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM call_stats WHERE day BETWEEN ? AND ?",
            [first, last],
        ).fetchall()
        records = [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        for stored in records:
            stored["flags"] = json.loads(stored["flags"])
        return records

    def ack_delays(self, since: float, until: float) -> list[AckDelay]:
        """How long each acknowledgement of an urgent announcement took, by agent, for the
        acknowledgements from ``since`` to before ``until`` (epoch seconds)."""
        who = {
            name: (site, team)
            for name, site, team in self.db.execute(
                "SELECT name, site, team FROM tokens WHERE role = 'agent' ORDER BY created_at"
            )
        }  # the newest token of a name says where its agent works now
        rows = self.db.execute(
            "SELECT a.name, a.at, n.created_at, n.starts_at FROM acks a "
            "JOIN announcements n ON n.id = a.announcement_id "
            "WHERE n.priority = 'urgent' AND n.retracted = 0 AND a.at >= ? AND a.at < ?",
            [since, until],
        ).fetchall()
        return [
            ack_delay(name, *who[name], live_at=max(created, starts or created), acked_at=at)
            for name, at, created, starts in rows
            if name in who
        ]
