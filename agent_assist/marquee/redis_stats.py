"""Team stats in Redis, for scaled-out servers (:class:`~agent_assist.marquee.redis_backend.RedisBackend`).

Keys (under the backend's prefix): ``stats:day:<YYYY-MM-DD>``, a hash of
``<agent>\\x1f<call>`` -> the call's record as JSON (``HSETNX``: a resent call
is stored once). Acknowledgement delays come from the announcements (``ann``:
the first line of each value is the frame clients receive), read receipts
(``acks:<id>``) and tokens (:mod:`.redis_tokens`) the backend keeps anyway;
as in SQLite, an agent's newest token (revoked or not) says where the agent works.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agent_assist.marquee.protocol import Announcement, CallStats, ProtocolError, decode
from agent_assist.marquee.redis_tokens import RedisTokens
from agent_assist.marquee.stats import AckDelay, StatsQuery, ack_delay, record
from agent_assist.marquee.tokens import Identity

__all__ = ["RedisStats"]

Call = Callable[[str, Awaitable[Any]], Awaitable[Any]]


class RedisStats:
    """Stats of a RedisBackend: ``redis`` is its client, ``key`` makes a prefixed key name,
    ``call`` translates Redis errors (``call(what, awaitable)``), ``tokens`` reads tokens."""

    def __init__(
        self, redis: Any, key: Callable[[str], str], call: Call, *, tokens: RedisTokens
    ) -> None:
        self._redis, self._key, self._call, self._tokens = redis, key, call, tokens

    async def add(self, message: CallStats, *, agent: Identity) -> bool:
        """Store one call's record; False if that agent's call was stored already."""
        stored = record(message, agent=agent, received_at=time.time())
        field = f"{agent.name}\x1f{message.call}"
        added = await self._call(
            "store the call stats",
            self._redis.hsetnx(self._key(f"stats:day:{message.day}"), field, json.dumps(stored)),
        )
        return bool(added)

    async def read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        """The call records of the query's days and the urgent acknowledgements made then."""
        pipe = self._redis.pipeline(transaction=False)
        for day in query.days():
            pipe.hvals(self._key(f"stats:day:{day}"))
        days = await self._call("read the call stats", pipe.execute())
        calls = [json.loads(raw) for values in days for raw in values]
        return calls, await self._acks(*query.bounds())

    async def _acks(self, since: float, until: float) -> list[AckDelay]:
        frames = await self._call("read announcements", self._redis.hvals(self._key("ann")))
        urgent = [a for a in map(_announcement, frames) if a is not None and a.priority == "urgent"]
        who = {  # oldest first: the newest token of a name says where its agent works now
            t.name: (t.site, t.team) for t in await self._tokens.all() if t.role == "agent"
        }
        out = []
        for announcement in urgent:
            acks = await self._call(
                "read receipts", self._redis.hgetall(self._key(f"acks:{announcement.id}"))
            )
            live = max(announcement.created_at, announcement.starts_at or 0.0)
            for raw_name, raw_at in acks.items():
                name, at = raw_name.decode(), float(raw_at)
                if name in who and since <= at < until:
                    out.append(ack_delay(name, *who[name], live_at=live, acked_at=at))
        return out


def _announcement(raw: bytes) -> Announcement | None:
    """The announcement of a stored change (its first line); None for a retraction or an
    unreadable value."""
    try:
        message = decode(raw.decode("utf-8").partition("\n")[0])
    except (ProtocolError, UnicodeDecodeError):
        return None
    return message if isinstance(message, Announcement) else None
