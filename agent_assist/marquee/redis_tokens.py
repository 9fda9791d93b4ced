"""Access tokens in Redis (scale-out): create, identify, list and revoke.

Keys (under the backend's prefix): ``tokens`` — hash: SHA-256 of a token -> its
record (JSON: role, name, site, team, created_at and, once revoked, revoked_at);
``tokens:revoked`` — sorted set: token id scored by when it was revoked, so
every node can close the connections of a revoked token within seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agent_assist.marquee.protocol import Role
from agent_assist.marquee.tokens import Identity, TokenInfo, hash_token, new_token, token_id

__all__ = ["RedisTokens"]

T = TypeVar("T")
Call = Callable[[str, Awaitable[Any]], Awaitable[Any]]


def _identity(raw: bytes | str, digest: str = "") -> Identity | None:
    """The identity of a stored record; None if it is revoked or unreadable."""
    try:
        data = json.loads(raw)
        if data.get("revoked_at") is not None:
            return None
        return Identity(
            data["role"],
            data["name"],
            data.get("site", ""),
            data.get("team", ""),
            token_id(digest) if digest else "",
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class RedisTokens:
    """Tokens of a RedisBackend: ``redis`` is its client, ``key`` makes a prefixed key name,
    ``call`` translates Redis errors (``call(what, awaitable)``)."""

    def __init__(self, redis: Any, key: Callable[[str], str], call: Call) -> None:
        self._redis, self._key, self._call = redis, key, call

    async def create(
        self,
        *,
        role: Role,
        name: str,
        site: str | tuple[str, ...] = "",
        team: str | tuple[str, ...] = "",
    ) -> str:
        """A new bearer token (printed once; only its hash is stored); UsageError on bad fields."""
        token, who = new_token(role=role, name=name, site=site, team=team)
        record = json.dumps(
            {
                "role": who.role,
                "name": who.name,
                "site": who.site,
                "team": who.team,
                "created_at": time.time(),
            }
        )
        await self._call(
            "store the token", self._redis.hset(self._key("tokens"), hash_token(token), record)
        )
        return token

    async def identify(self, token: str) -> Identity | None:
        """The identity of a live (not revoked) token, or None."""
        digest = hash_token(token)
        raw = await self._call("check the token", self._redis.hget(self._key("tokens"), digest))
        return _identity(raw, digest) if raw else None

    async def agents(self) -> list[tuple[str, str, str]]:
        """(name, site, team) of every live agent token."""
        records = await self._call("read the agents", self._redis.hvals(self._key("tokens")))
        return [
            (who.name, who.site, who.team)
            for raw in records
            if (who := _identity(raw)) is not None and who.role == "agent"
        ]

    async def all(self) -> list[TokenInfo]:
        """Every token, oldest first (revoked ones too, marked)."""
        records = await self._call("read the tokens", self._redis.hgetall(self._key("tokens")))
        found = []
        for digest, raw in records.items():
            try:
                data = json.loads(raw)
                found.append(
                    TokenInfo(
                        token_id(digest.decode()),
                        str(data["role"]),
                        str(data["name"]),
                        str(data.get("site", "")),
                        str(data.get("team", "")),
                        float(data.get("created_at", 0.0)),
                        data.get("revoked_at"),
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # an unreadable record is not a token anyone can use
        return sorted(found, key=lambda t: (t.created_at, t.id))

    async def revoke(self, name_or_id: str) -> list[TokenInfo]:
        """Revoke the token with this id, or else every live token of this name."""
        live = [t for t in await self.all() if t.revoked_at is None]
        chosen = [t for t in live if t.id == name_or_id] or [
            t for t in live if t.name == name_or_id
        ]
        if not chosen:
            return []
        now = time.time()
        records = await self._call("read the tokens", self._redis.hgetall(self._key("tokens")))
        ids = {t.id for t in chosen}
        pipe = self._redis.pipeline(transaction=True)
        for digest, raw in records.items():
            if token_id(digest.decode()) in ids:
                data = json.loads(raw)
                data["revoked_at"] = now
                pipe.hset(self._key("tokens"), digest, json.dumps(data))
        pipe.zadd(self._key("tokens:revoked"), {i: now for i in ids})
        await self._call("revoke the token", pipe.execute())
        return chosen

    async def revoked_since(self, since: float) -> list[tuple[str, float]]:
        """(token id, when) of tokens revoked after ``since`` (seconds since the epoch)."""
        rows = await self._call(
            "read revocations",
            self._redis.zrangebyscore(
                self._key("tokens:revoked"), f"({since!r}", "+inf", withscores=True
            ),
        )
        return [(member.decode(), float(score)) for member, score in rows]
