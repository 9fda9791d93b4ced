"""Knowledge versions and the review queue in Redis (scale-out).

Keys (under the backend's prefix): ``kb:version`` — the knowledge counter;
``kb:articles`` — hash: article id -> {"version", "record", "deleted"};
``kb:subid`` — submission counter; ``kb:subs`` — hash: submission id -> its
entry; ``kb:state`` — hash: submission id -> pending | approved | rejected.
Approved phrasings (a submission naming an ``article_id``) are stored in
``kb:articles`` under ``phrasing/<submission id>``, as in SQLite.

A publish and an approval are each one Lua script: the new version and every
article it carries are written together or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agent_assist.marquee.knowledge import (
    article_from_submission,
    free_id,
    in_scope,
    payload,
    phrasing_from_submission,
    place_of,
    submission_dict,
)
from agent_assist.marquee.protocol import Review, Reviewed, Submit
from agent_assist.marquee.scope import Routed, Scope
from agent_assist.marquee.tokens import Identity

__all__ = ["RedisKnowledge"]

Call = Callable[[str, Awaitable[Any]], Awaitable[Any]]
_REVIEW = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'pending' then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then return 0 end
local version = redis.call('INCR', KEYS[2])
local entry = string.gsub(ARGV[4], '"version":%-1', '"version":' .. version, 1)
redis.call('HSET', KEYS[3], ARGV[3], entry)
return version
"""
_PUBLISH = """
local version = redis.call('INCR', KEYS[1])
for i = 1, #ARGV, 2 do
  local entry = string.gsub(ARGV[i + 1], '"version":%-1', '"version":' .. version, 1)
  redis.call('HSET', KEYS[2], ARGV[i], entry)
end
return version
"""
_PLACEHOLDER = -1  # replaced inside the scripts by the real version


def _entry(record: dict[str, Any], *, deleted: bool) -> str:
    # compact separators: the scripts look for '"version":-1'
    return json.dumps(
        {"version": _PLACEHOLDER, "record": record, "deleted": deleted},
        ensure_ascii=False,
        separators=(",", ":"),
    )


class RedisKnowledge:
    """Knowledge of a RedisBackend (``redis`` client, ``key`` naming, ``call`` for errors)."""

    def __init__(self, redis: Any, key: Callable[[str], str], call: Call) -> None:
        self._redis, self._key, self._call = redis, key, call
        self._review = redis.register_script(_REVIEW)
        self._publish = redis.register_script(_PUBLISH)

    async def _articles(self) -> dict[str, dict[str, Any]]:
        entries = await self._call("read knowledge", self._redis.hgetall(self._key("kb:articles")))
        return {k.decode(): json.loads(v) for k, v in entries.items()}

    async def _version(self) -> int:
        return int(
            await self._call("read knowledge", self._redis.get(self._key("kb:version"))) or 0
        )

    async def changes(self, since: int) -> dict[str, Any]:
        """The sync payload that takes a cache at version ``since`` to the current one."""
        version = await self._version()
        changed = sorted(
            (e for e in (await self._articles()).values() if e["version"] > since),
            key=lambda e: (e["version"], e["record"]["id"]),
        )
        articles = [e["record"] for e in changed if not e.get("deleted")]
        deleted = [e["record"]["id"] for e in changed if e.get("deleted") and since > 0]
        return payload(since, version, articles, deleted)

    async def submit(self, message: Submit, *, who: Identity) -> str:
        """Queue ``who``'s submission for review; returns its id (``s<number>``)."""
        entry = submission_dict(
            message, author=who.name, site=who.site, team=who.team, now=time.time()
        )
        number = await self._call("queue the submission", self._redis.incr(self._key("kb:subid")))
        submission_id = f"s{number}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._key("kb:subs"), submission_id, json.dumps(entry))
        pipe.hset(self._key("kb:state"), submission_id, "pending")
        await self._call("queue the submission", pipe.execute())
        return submission_id

    async def queue(self, viewer: Scope) -> list[dict[str, Any]]:
        """Submissions waiting for review inside ``viewer``'s scope, oldest first (with ``id``)."""
        states = await self._call(
            "read the review queue", self._redis.hgetall(self._key("kb:state"))
        )
        ids = sorted(
            (k.decode() for k, v in states.items() if v == b"pending"), key=lambda i: int(i[1:])
        )
        if not ids:
            return []
        rows = await self._call(
            "read the review queue", self._redis.hmget(self._key("kb:subs"), ids)
        )
        return [
            {"id": i, **entry}
            for i, raw in zip(ids, rows, strict=True)
            if raw and in_scope(entry := json.loads(raw), viewer)
        ]

    async def review(self, message: Review, *, reviewer: str, viewer: Scope) -> Routed | None:
        """Decide a pending submission inside ``viewer``'s scope (None if there is none); the
        Reviewed notice is routed to the submission's place."""
        raw = await self._call(
            "read the submission", self._redis.hget(self._key("kb:subs"), message.id)
        )
        submission = json.loads(raw) if raw is not None else None
        if submission is None or not in_scope(submission, viewer):
            return None
        article_id, key, entry = "", "", ""
        if message.decision == "approve":
            if submission.get("article_id"):  # phrasings of an existing article
                record = phrasing_from_submission(submission, message, submission_id=message.id)
                article_id = record["article_id"]
            else:
                record = article_from_submission(submission, message)
                if not message.article_id:  # a title like an existing article's must not replace it
                    live = {k for k, v in (await self._articles()).items() if not v.get("deleted")}
                    record["id"] = free_id(record["id"], live.__contains__)
                article_id = record["id"]
            key = record["id"]
            entry = _entry(record, deleted=False)
        keys = [self._key(k) for k in ("kb:state", "kb:version", "kb:articles")]
        args = [message.id, message.decision + "d", key, entry]
        version = int(await self._call("record the review", self._review(keys=keys, args=args)))
        if version < 0:
            return None
        reviewed = Reviewed(
            id=message.id,
            decision=message.decision,
            reviewer=reviewer,
            article_id=article_id or None,
            version=version or None,
        )
        return Routed(reviewed, place_of(submission))

    async def publish(self, records: list[dict[str, Any]], *, deleted: tuple[str, ...] = ()) -> int:
        """Store validated article records (and deletions) as one new knowledge version.

        All of it or none of it is written (one script). Run it from one place at a
        time: what changed is worked out before the script runs.
        """
        stored = await self._articles()
        changed = [
            r
            for r in records
            if stored.get(r["id"], {}).get("record") != r or stored[r["id"]].get("deleted")
        ]
        gone = [i for i in deleted if i in stored and not stored[i].get("deleted")]
        if not changed and not gone:
            return await self._version()
        args: list[str] = []
        for record in changed:
            args += [record["id"], _entry(record, deleted=False)]
        for article_id in gone:
            args += [article_id, _entry(stored[article_id]["record"], deleted=True)]
        keys = [self._key("kb:version"), self._key("kb:articles")]
        return int(await self._call("publish knowledge", self._publish(keys=keys, args=args)))
