"""Team stats on the server: per-call numbers aggregated per agent, team, site and day.

Where a site shares stats, each agent's app sends one ``call_stats`` message
per call (numbers only: see :class:`~agent_assist.marquee.protocol.CallStats`).
The server stores it as a :func:`record` (ids, a date, seconds, counts; flag
kinds from the fixed list: never a word said on a call) and answers
``GET /stats?from=DAY&to=DAY&by=agent|team|site`` with :func:`aggregate`'s
rows, filtered by :func:`visible` with the token's scope
(:mod:`agent_assist.marquee.scope`): supervisors see the sites (and teams, if
their token names some) they were created for, admins everything, agents nothing.

Per group and day: calls, handle time (total and average), talk, hold, mute and
dead air, script adherence (required steps done / required), flags by kind,
knowledge use (articles suggested, opened, used) and how long urgent
announcements took to be acknowledged (from the server's own read receipts).
Both backends store records and report acks; this module does the rest, so
SQLite and Redis answer the same.
"""

from __future__ import annotations

import csv
import datetime
import io
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, get_args

from agent_assist.marquee.protocol import CallStats
from agent_assist.marquee.scope import Scope
from agent_assist.risk.pack import KINDS

__all__ = [
    "MAX_DAYS",
    "AckDelay",
    "By",
    "StatsQuery",
    "ack_delay",
    "aggregate",
    "parse_query",
    "record",
    "to_csv",
    "visible",
]

By: TypeAlias = Literal["agent", "team", "site"]
MAX_DAYS = 366  # one query reads at most a year
_SECONDS = ("duration", "talk_agent", "talk_customer", "hold", "mute", "dead_air")
_COUNTS = (
    "script_done",
    "script_required",
    "articles_suggested",
    "articles_opened",
    "articles_used",
)


class Identity(Protocol):
    """Who a token belongs to, as stats need it (:class:`agent_assist.marquee.tokens.Identity`)."""

    @property
    def role(self) -> str:
        """agent, supervisor or admin."""

    @property
    def name(self) -> str:
        """The person's (or desktop's) name."""

    @property
    def site(self) -> str:
        """An agent's site (a supervisor's: its sites, comma-separated)."""

    @property
    def team(self) -> str:
        """An agent's team (a supervisor's: its teams, comma-separated; "" for any)."""

    @property
    def scope(self) -> Scope:
        """Where the token may see: every site for admins, a supervisor's sites and teams."""


@dataclass(frozen=True, slots=True)
class AckDelay:
    """An urgent announcement acknowledged by ``name`` ``seconds`` after it went live."""

    name: str
    site: str
    team: str
    day: str  # the server's local date of the acknowledgement
    seconds: float


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """One ``/stats`` question: the days ``first`` to ``last`` (YYYY-MM-DD, inclusive), one row
    per ``by`` group and day."""

    first: str
    last: str
    by: By

    def bounds(self) -> tuple[float, float]:
        """The query's days as epoch seconds: local midnight of ``first`` to after ``last``."""
        start = datetime.date.fromisoformat(self.first)
        end = datetime.date.fromisoformat(self.last) + datetime.timedelta(days=1)
        return (
            time.mktime((start.year, start.month, start.day, 0, 0, 0, 0, 0, -1)),
            time.mktime((end.year, end.month, end.day, 0, 0, 0, 0, 0, -1)),
        )

    def days(self) -> list[str]:
        """Every day of the query, in order (YYYY-MM-DD)."""
        start = datetime.date.fromisoformat(self.first)
        count = (datetime.date.fromisoformat(self.last) - start).days + 1
        return [(start + datetime.timedelta(days=i)).isoformat() for i in range(count)]


def visible(viewer: Identity, *, site: str, team: str) -> bool:
    """May ``viewer`` see the stats of an agent of ``site`` and ``team``?

    The one place stats scope is decided, by the token's scope (the same rule as
    every other read on the server): admins see every site; a supervisor sees
    the sites it was created for and, if its token names teams, only those (a
    supervisor token without a site sees nothing); agents see no team stats.
    """
    if viewer.role not in ("supervisor", "admin"):
        return False
    return viewer.scope.admits(site=site, team=team)


def record(message: CallStats, *, agent: Identity, received_at: float) -> dict[str, Any]:
    """What is stored of one call: ids, the day, seconds and counts (JSON-ready)."""
    stored: dict[str, Any] = {
        "agent": agent.name,
        "site": agent.site,
        "team": agent.team,
        "call": message.call,
        "day": message.day,
        "received_at": received_at,
    }
    stored.update({name: getattr(message, name) for name in (*_SECONDS, *_COUNTS)})
    stored["flags"] = {f.kind: f.count for f in message.flags}
    return stored


def ack_delay(name: str, site: str, team: str, *, live_at: float, acked_at: float) -> AckDelay:
    """An acknowledgement at ``acked_at`` of an announcement live from ``live_at`` (epoch s)."""
    day = time.strftime("%Y-%m-%d", time.localtime(acked_at))
    return AckDelay(name, site, team, day, max(0.0, acked_at - live_at))


def parse_query(query: str, *, today: str | None = None) -> StatsQuery:
    """``from``, ``to`` (days, default today) and ``by`` of a ``/stats`` query; ValueError
    says what is wrong."""
    fields = urllib.parse.parse_qs(query)
    today = today or datetime.date.today().isoformat()
    first, last = fields.get("from", [today])[0], fields.get("to", [today])[0]
    by = fields.get("by", ["agent"])[0]
    if by not in get_args(By):
        raise ValueError("by must be agent, team or site")
    try:
        start, end = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
    except ValueError:
        raise ValueError("from and to must be dates (YYYY-MM-DD)") from None
    if end < start:
        raise ValueError("to must not be before from")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at a time")
    return StatsQuery(start.isoformat(), end.isoformat(), by)  # type: ignore[arg-type]


def _key(by: By, site: str, team: str, agent: str) -> tuple[str, ...]:
    return {"site": (site,), "team": (site, team), "agent": (site, team, agent)}[by]


def _empty(day: str, by: By, key: tuple[str, ...]) -> dict[str, Any]:
    row: dict[str, Any] = {"day": day, **dict(zip(("site", "team", "agent"), key, strict=False))}
    row.update({"calls": 0, **{f"{s}_s": 0.0 for s in _SECONDS}, **dict.fromkeys(_COUNTS, 0)})
    row.update({"flags": {}, "urgent_acks": 0, "ack_total_s": 0.0})
    return row


def aggregate(
    calls: Iterable[dict[str, Any]],
    acks: Iterable[AckDelay],
    *,
    query: StatsQuery,
    viewer: Identity,
) -> list[dict[str, Any]]:
    """One row per group (``query.by``) and day, for what ``viewer`` may see, in order."""
    rows: dict[tuple[str, ...], dict[str, Any]] = {}

    def row(day: str, site: str, team: str, agent: str) -> dict[str, Any] | None:
        if not (query.first <= day <= query.last and visible(viewer, site=site, team=team)):
            return None
        key = _key(query.by, site, team, agent)
        return rows.setdefault((day, *key), _empty(day, query.by, key))

    for call in calls:
        target = row(call["day"], call["site"], call["team"], call["agent"])
        if target is None:
            continue
        target["calls"] += 1
        for name in _SECONDS:
            target[f"{name}_s"] += float(call[name])
        for name in _COUNTS:
            target[name] += int(call[name])
        for kind, count in call["flags"].items():
            target["flags"][kind] = target["flags"].get(kind, 0) + int(count)
    for ack in acks:
        target = row(ack.day, ack.site, ack.team, ack.name)
        if target is not None:
            target["urgent_acks"] += 1
            target["ack_total_s"] += ack.seconds
    return [_finish(rows[key]) for key in sorted(rows)]


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    calls, acks, total_ack = row["calls"], row.pop("urgent_acks"), row.pop("ack_total_s")
    handle = row.pop("duration_s")
    row["handle_s"] = round(handle, 1)
    row["aht_s"] = round(handle / calls, 1) if calls else None
    for name in _SECONDS[1:]:
        row[f"{name}_s"] = round(row[f"{name}_s"], 1)
    required = row["script_required"]
    row["adherence"] = round(row["script_done"] / required, 3) if required else None
    row["urgent_acks"] = acks
    row["ack_avg_s"] = round(total_ack / acks, 1) if acks else None
    return row


def to_csv(rows: list[dict[str, Any]], *, by: By) -> str:
    """The rows as CSV: one column per number, one ``flag_KIND`` column per flag kind."""
    group = {"site": ["site"], "team": ["site", "team"], "agent": ["site", "team", "agent"]}[by]
    numbers = ["calls", "aht_s", "handle_s", *(f"{s}_s" for s in _SECONDS[1:]), "script_done",
               "script_required", "adherence", "articles_suggested", "articles_opened",
               "articles_used", "urgent_acks", "ack_avg_s"]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", *group, *numbers, *(f"flag_{k}" for k in KINDS)])
    for row in rows:
        values = [row["day"], *(_cell(row[g]) for g in group)]
        values += ["" if row[n] is None else row[n] for n in numbers]
        values += [row["flags"].get(k, 0) for k in KINDS]
        writer.writerow(values)
    return out.getvalue()


def _cell(text: str) -> str:
    """A name as a spreadsheet shows it, never as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
