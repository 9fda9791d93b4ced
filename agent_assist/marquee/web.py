"""The marquee server's plain-HTTP side: the routes beside the WebSocket, and their helpers.

Without a token: ``/healthz``, ``/metrics`` (behind the metrics token when one
is set; the server answers those itself) and, with ``updates=DIR``,
``/updates/<channel>/...`` (:mod:`agent_assist.marquee.updates`: signed files
the clients verify). With a bearer token, :class:`Web` answers:

* ``GET /kb/changes?since=N`` — the knowledge sync payload (any role);
* ``GET /kb/review`` — the submissions waiting for review inside the token's
  scope (supervisors and admins);
* ``GET /fleet/versions`` — what each desktop said in its last ``hello``
  (version, update channel), for the desktops inside the token's scope
  (supervisors: their sites and teams; admins: all; agents: 403);
* ``GET /stats?from=DAY&to=DAY&by=agent|team|site`` — team stats inside the
  token's scope (:mod:`agent_assist.marquee.stats`; agents: 403).

Scope is :mod:`agent_assist.marquee.scope`'s, as for every WebSocket read. The
fleet and stats reads count against the token's ``reads`` budget
(:class:`~agent_assist.marquee.guard.Limits`, shared by all its connections):
beyond it, HTTP 429 with ``Retry-After``. A backend that cannot be reached is a
503 ("try again"), never a traceback.
"""

from __future__ import annotations

import http
import json
import logging
import math
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from agent_assist.errors import AgentAssistError, KnowledgeConflict
from agent_assist.marquee.backend import Backend
from agent_assist.marquee.guard import Buckets, Limits
from agent_assist.marquee.protocol import Hello
from agent_assist.marquee.scope import Scope
from agent_assist.marquee.stats import aggregate, parse_query
from agent_assist.marquee.tokens import Identity

__all__ = ["ROUTES", "Fleet", "Web", "bearer", "json_response", "metrics_text", "text_response"]

log = logging.getLogger("agent_assist.marquee")
ROUTES = ("/kb/changes", "/kb/review", "/fleet/versions", "/stats")  # need a token
_BUDGETED = ("/fleet/versions", "/stats")  # reads that cost the server: per-token budget


def bearer(request: Request) -> str | None:
    """The bearer token of ``request`` (header, or ``?token=`` for clients without headers)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    tokens = query.get("token")
    return tokens[0] if tokens else None


def text_response(
    status: int,
    body: str,
    content_type: str = "text/plain; charset=utf-8",
    *,
    retry_after: int | None = None,
) -> Response:
    """An HTTP response of ``body`` (UTF-8) with ``status``; ``retry_after`` in seconds."""
    data = body.encode()
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(data)))])
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


def json_response(status: int, data: object) -> Response:
    """An HTTP response of ``data`` as JSON (UTF-8, not ASCII-escaped)."""
    return text_response(status, json.dumps(data, ensure_ascii=False), "application/json")


def metrics_text(gauges: Mapping[str, int], counters: Mapping[str, int]) -> str:
    """Prometheus text format: ``marquee_<gauge>`` and ``marquee_<counter>_total``."""
    lines = []
    for name, value in gauges.items():
        lines += [f"# TYPE marquee_{name} gauge", f"marquee_{name} {value}"]
    for name, value in sorted(counters.items()):
        lines += [f"# TYPE marquee_{name}_total counter", f"marquee_{name}_total {value}"]
    return "\n".join(lines) + "\n"


class Fleet:
    """What each desktop (token) said in its last ``hello`` since this node started.

    Used on the server's event loop only. ``len()`` is the number of tokens seen.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[Identity, dict[str, Any]]] = {}  # token id -> entry

    def __len__(self) -> int:
        return len(self._seen)

    def hello(self, who: Identity, hello: Hello, *, now: float) -> None:
        """``who`` connected and said ``hello`` at ``now`` (epoch s)."""
        self._seen[who.token or who.name] = (
            who,
            {
                "name": who.name,
                "role": who.role,
                "site": who.site,
                "team": who.team,
                "version": hello.version,
                "channel": hello.channel,
                "client": hello.client,
                "connected": True,
                "last_seen": now,
            },
        )

    def left(self, who: Identity, *, still_connected: bool, now: float) -> None:
        """One of ``who``'s connections closed at ``now``; ``still_connected``: others remain."""
        entry = self._seen.get(who.token or who.name)
        if entry is not None and not still_connected:
            entry[1].update(connected=False, last_seen=now)

    def rows(self, viewer: Scope) -> list[dict[str, Any]]:
        """The desktops inside ``viewer`` (an agent's site and team; a supervisor's whole
        scope; admins only for a viewer who sees everywhere), by name."""
        rows = [dict(row) for who, row in self._seen.values() if viewer.covers(who.scope)]
        return sorted(rows, key=lambda row: (str(row["name"]), str(row["site"])))


class Web:
    """The token-bearing HTTP routes (:data:`ROUTES`) of one node.

    ``metrics`` is the node's counter; ``limits`` gives the per-token ``reads`` budget.
    """

    def __init__(self, backend: Backend, *, limits: Limits, metrics: Counter[str]) -> None:
        self.backend = backend
        self.metrics = metrics
        self.fleet = Fleet()
        self._reads = Buckets(capacity=limits.reads, per=limits.per)
        self._per = limits.per

    async def answer(self, path: str, query: str, identity: Identity) -> Response:
        """The response to ``GET path?query`` by ``identity`` (``path`` one of ROUTES)."""
        if path in _BUDGETED and not self._reads.take(identity.token, time.monotonic()):
            self.metrics["rate_limited"] += 1
            return text_response(
                429, "too many requests from this token\n", retry_after=math.ceil(self._per)
            )
        try:
            if path == "/kb/changes":
                return await self._kb_changes(query)
            if path == "/kb/review":
                if not identity.can_broadcast:
                    return text_response(403, "only supervisors and admins review submissions\n")
                return json_response(200, {"pending": await self.backend.kb_queue(identity.scope)})
            if path == "/fleet/versions":
                if not identity.can_broadcast:
                    return text_response(
                        403, "only supervisors and admins list the fleet's versions\n"
                    )
                return json_response(200, {"clients": self.fleet.rows(identity.scope)})
            if path == "/stats":
                return await self._stats(identity, query)
        except AgentAssistError as exc:
            log.warning("cannot answer %s: %s", path, exc)
            self.metrics["unavailable"] += 1
            return text_response(503, "the server cannot answer right now; try again\n")
        return text_response(404, "not found\n")

    async def _kb_changes(self, query: str) -> Response:
        since = urllib.parse.parse_qs(query).get("since", ["0"])[0]
        if not (since.isascii() and since.isdecimal() and len(since) <= 15):
            return text_response(400, "since must be a knowledge version (a whole number)\n")
        try:
            return json_response(200, await self.backend.kb_changes(int(since)))
        except KnowledgeConflict as exc:
            return text_response(409, f"{exc}\n")

    async def _stats(self, identity: Identity, query: str) -> Response:
        """Team stats inside a supervisor's scope, or everywhere for an admin (issue 15)."""
        if not identity.can_broadcast:
            return text_response(403, "only supervisors and admins read team stats\n")
        try:
            wanted = parse_query(query)
        except ValueError as exc:
            return text_response(400, f"{exc}\n")
        calls, acks = await self.backend.stats_read(wanted)
        rows = aggregate(calls, acks, query=wanted, viewer=identity)
        return json_response(
            200, {"from": wanted.first, "to": wanted.last, "by": wanted.by, "rows": rows}
        )
