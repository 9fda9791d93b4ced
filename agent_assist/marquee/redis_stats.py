"""Team stats in Redis, for scaled-out servers (:class:`~agent_assist.marquee.redis_backend.RedisBackend`).

Keys (under the backend's prefix): ``stats:day:<YYYY-MM-DD>``, a hash of
``<agent>\\x1f<call>`` -> the call's record as JSON (``HSETNX``: a resent call
is stored once). Acknowledgement delays come from the announcements (``ann``),
read receipts (``acks:<id>``) and tokens the backend keeps anyway.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from agent_assist.marquee.protocol import Announcement, CallStats, ProtocolError, decode
from agent_assist.marquee.stats import AckDelay, StatsQuery, ack_delay, record
from agent_assist.marquee.store import Identity

__all__ = ["RedisStats"]

T = TypeVar("T")


class _Backend(Protocol):
    _redis: Any

    def _key(self, name: str) -> str: ...
    async def _call(self, what: str, operation: Awaitable[T]) -> T: ...


class RedisStats:
    """Stats operations on a connected RedisBackend (which translates Redis errors)."""

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend

    async def add(self, message: CallStats, *, agent: Identity) -> bool:
        b = self._backend
        stored = record(message, agent=agent, received_at=time.time())
        field = f"{agent.name}\x1f{message.call}"
        added = await b._call(
            "store the call stats",
            b._redis.hsetnx(b._key(f"stats:day:{message.day}"), field, json.dumps(stored)),
        )
        return bool(added)

    async def read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        b = self._backend
        pipe = b._redis.pipeline(transaction=False)
        for day in query.days():
            pipe.hvals(b._key(f"stats:day:{day}"))
        days = await b._call("read the call stats", pipe.execute())
        calls = [json.loads(raw) for values in days for raw in values]
        return calls, await self._acks(*query.bounds())

    async def _acks(self, since: float, until: float) -> list[AckDelay]:
        b = self._backend
        frames = await b._call("read announcements", b._redis.hvals(b._key("ann")))
        urgent = [a for a in map(_announcement, frames) if a is not None and a.priority == "urgent"]
        tokens = await b._call("read the agents", b._redis.hvals(b._key("tokens")))
        who = {
            i.name: (i.site, i.team)
            for i in (Identity(**json.loads(raw)) for raw in tokens)
            if i.role == "agent"
        }
        out = []
        for announcement in urgent:
            acks = await b._call(
                "read receipts", b._redis.hgetall(b._key(f"acks:{announcement.id}"))
            )
            live = max(announcement.created_at, announcement.starts_at or 0.0)
            for raw_name, raw_at in acks.items():
                name, at = raw_name.decode(), float(raw_at)
                if name in who and since <= at < until:
                    out.append(ack_delay(name, *who[name], live_at=live, acked_at=at))
        return out


def _announcement(raw: bytes) -> Announcement | None:
    try:
        message = decode(raw.decode("utf-8"))
    except (ProtocolError, UnicodeDecodeError):
        return None
    return message if isinstance(message, Announcement) else None
