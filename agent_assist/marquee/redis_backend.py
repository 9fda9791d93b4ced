"""Scale-out: several marquee server nodes sharing state and fan-out through Redis.

Keys (all under ``prefix``, default ``marquee:``):

* ``seq`` — the one global change counter;
* ``ann`` — hash: announcement id -> its current frame (an ``announcement``,
  or a ``retracted`` once retracted), exactly as clients receive it;
* ``log`` — sorted set: announcement id scored by the seq of its latest change.
  "Everything after seq N" is one range query, which is how a reconnecting
  client *and* a node that missed messages catch up;
* ``acks:<id>`` — hash: agent name -> time acknowledged;
* ``tokens`` — hash: SHA-256 of a token -> its identity;
* ``events`` — the pub/sub channel every node subscribes to;
* ``kb:*`` — knowledge versions and the review queue.

Each change is one Lua script: take the next seq, store the frame, index it and
PUBLISH it, atomically, so every node hears changes in seq order. A node that
notices a gap in the seqs, loses its subscription, or sees Redis ahead of what
it heard (checked every few seconds) catches up from ``log``; the server's
per-client floors drop what a client already had. Redis errors become
:class:`BackendUnavailableError`; the server answers "unavailable" and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agent_assist.errors import BackendUnavailableError
from agent_assist.marquee.backend import Change, receipt_list
from agent_assist.marquee.knowledge import (
    article_from_submission,
    free_id,
    payload,
    phrasing_from_submission,
    submission_dict,
)
from agent_assist.marquee.protocol import (
    Announce,
    Announcement,
    CallStats,
    Edit,
    Message,
    ProtocolError,
    ReceiptList,
    Retracted,
    Review,
    Reviewed,
    Role,
    Submit,
    decode,
    encode,
)
from agent_assist.marquee.redis_stats import RedisStats
from agent_assist.marquee.stats import AckDelay, StatsQuery
from agent_assist.marquee.store import Identity, hash_token, new_token

__all__ = ["RedisBackend"]

log = logging.getLogger("agent_assist.marquee.redis")
T = TypeVar("T")

_COMMIT = """
local current = redis.call('ZSCORE', KEYS[3], ARGV[1])
if ARGV[3] == 'new' then
  if current then return -1 end
elseif (not current) or tonumber(current) ~= tonumber(ARGV[3]) then
  return -2
end
local seq = redis.call('INCR', KEYS[1])
local frame = string.gsub(ARGV[2], '"seq":%-1', '"seq":' .. seq, 1)
redis.call('HSET', KEYS[2], ARGV[1], frame)
redis.call('ZADD', KEYS[3], seq, ARGV[1])
redis.call('PUBLISH', KEYS[4], frame)
return seq
"""
_SNAPSHOT = """
local out = {redis.call('GET', KEYS[1]) or '0'}
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
for _, id in ipairs(ids) do out[#out + 1] = redis.call('HGET', KEYS[2], id) end
return out
"""
_REVIEW = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'pending' then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then return 0 end
local version = redis.call('INCR', KEYS[2])
local entry = string.gsub(ARGV[4], '"version":%-1', '"version":' .. version, 1)
redis.call('HSET', KEYS[3], ARGV[3], entry)
return version
"""
_PLACEHOLDER = -1  # replaced inside the scripts by the real seq / version
_WATCHDOG = 3.0  # seconds between checks that this node has heard every change
_POOL = 64  # Redis connections per node


class RedisBackend:
    """State in Redis at ``url`` (e.g. ``redis://127.0.0.1:6379/0``), shared by every node."""

    def __init__(self, url: str, *, prefix: str = "marquee:") -> None:
        self.url, self.prefix = url, prefix
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closing = False
        self._heard = 0  # the newest seq reported to the node
        self._on_change: Callable[[Message], None] = lambda message: None
        self._on_resync: Callable[[], None] = lambda: None
        self._scripts: dict[str, Any] = {}

    def _key(self, name: str) -> str:
        return self.prefix + name

    async def _call(self, what: str, operation: Awaitable[T]) -> T:
        from redis.exceptions import RedisError

        try:
            return await operation
        except (RedisError, OSError) as exc:
            raise BackendUnavailableError(
                f"cannot {what}: Redis at {self.url} is not answering ({exc.__class__.__name__})"
            ) from None

    # -- lifecycle ------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection (also for one-off use such as creating tokens)."""
        import redis.asyncio as aioredis

        if self._redis is None:
            # blocking pool: a burst of handshakes (a reconnect storm) waits for a connection
            # instead of failing with "too many connections"
            pool = aioredis.BlockingConnectionPool.from_url(
                self.url,
                max_connections=_POOL,
                timeout=10,
                socket_timeout=10,
                socket_connect_timeout=5,
            )
            self._redis = aioredis.Redis.from_pool(pool)
            self._scripts = {
                name: self._redis.register_script(source)
                for name, source in (
                    ("commit", _COMMIT),
                    ("snapshot", _SNAPSHOT),
                    ("review", _REVIEW),
                )
            }
        await self._call("connect", self._redis.ping())

    async def start(
        self, *, on_change: Callable[[Message], None], on_resync: Callable[[], None]
    ) -> int:
        """Connect, subscribe to the change channel and report changes; returns the seq."""
        self._on_change, self._on_resync = on_change, on_resync
        await self.connect()
        self._listener = asyncio.create_task(self._listen())
        try:
            await asyncio.wait_for(self._subscribed.wait(), 10)
        except TimeoutError:
            raise BackendUnavailableError(f"cannot subscribe to Redis at {self.url}") from None
        self._heard = await self.current_seq()
        self._watchdog = asyncio.create_task(self._watch())
        return self._heard

    async def close(self) -> None:
        """Stop listening and close the connection to Redis."""
        self._closing = True
        for task in (self._listener, self._watchdog):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def current_seq(self) -> int:
        """The newest change seq in Redis (0 before the first)."""
        return int(
            await self._call("read the change counter", self._redis.get(self._key("seq"))) or 0
        )

    # -- hearing about changes -------------------------------------------------------

    def caught_up(self, seq: int) -> None:
        """See :meth:`~agent_assist.marquee.backend.Backend.caught_up`."""
        self._heard = max(self._heard, seq)  # the node recovered up to here from the log

    def _report(self, message: Message) -> None:
        if isinstance(message, Announcement | Retracted):
            self._heard = max(self._heard, message.seq)
        self._on_change(message)

    async def _listen(self) -> None:
        """Subscribe, and subscribe again (then resync) whenever the subscription drops."""
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        delay = 0.2
        while not self._closing:
            # retries off: a dropped subscription must surface here, so the node knows to catch up
            client = aioredis.from_url(
                self.url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=5
            )
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self._key("events"))
                if self._subscribed.is_set():
                    log.info("subscribed to Redis again; catching up")
                    self._on_resync()
                self._subscribed.set()
                delay = 0.2
                async for item in pubsub.listen():
                    if item.get("type") != "message":
                        continue
                    try:
                        message = decode(item["data"].decode("utf-8"))
                    except (ProtocolError, UnicodeDecodeError) as exc:
                        log.warning("ignoring a bad message on the Redis channel: %s", exc)
                        continue
                    self._report(message)
            except (RedisError, OSError) as exc:
                log.warning(
                    "Redis subscription lost (%s); retrying in %.1f s",
                    exc.__class__.__name__,
                    delay,
                )
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                    await client.aclose()
            if not self._closing:
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _watch(self) -> None:
        """Resync when Redis stays ahead of what this node heard (a message lost in transit)."""
        behind_before = False
        while not self._closing:
            await asyncio.sleep(_WATCHDOG)
            try:
                behind = await self.current_seq() > self._heard
            except BackendUnavailableError:
                continue
            if behind and behind_before:
                log.warning("this node missed changes; catching up")
                self._on_resync()
                behind = False
            behind_before = behind

    # -- tokens ------------------------------------------------------------------------

    async def create_token(self, *, role: Role, name: str, site: str = "", team: str = "") -> str:
        """A new bearer token for ``role`` and ``name`` (only its hash is stored)."""
        token, identity = new_token(role=role, name=name, site=site, team=team)
        record = json.dumps(dataclasses.asdict(identity))
        await self._call(
            "store the token", self._redis.hset(self._key("tokens"), hash_token(token), record)
        )
        return token

    async def identify(self, token: str) -> Identity | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.identify`."""
        raw = await self._call(
            "check the token", self._redis.hget(self._key("tokens"), hash_token(token))
        )
        return Identity(**json.loads(raw)) if raw else None

    # -- announcements -----------------------------------------------------------------

    async def _commit(self, announcement_id: str, frame: str, expected: str) -> int:
        keys = [self._key(k) for k in ("seq", "ann", "log", "events")]
        result = await self._call(
            "store the change",
            self._scripts["commit"](keys=keys, args=[announcement_id, frame, expected]),
        )
        return int(result)

    async def _current(self, announcement_id: str) -> Change | None:
        raw = await self._call(
            "read the announcement", self._redis.hget(self._key("ann"), announcement_id)
        )
        return _change(raw)

    async def snapshot(self, since: int) -> tuple[int, list[Change]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.snapshot`."""
        keys = [self._key(k) for k in ("seq", "ann", "log")]
        rows = await self._call("catch up", self._scripts["snapshot"](keys=keys, args=[since]))
        now = time.time()
        changes: list[Change] = []
        for raw in rows[1:]:
            change = _change(raw)
            if isinstance(change, Retracted) or (
                isinstance(change, Announcement)
                and (change.expires_at is None or change.expires_at > now)
            ):
                changes.append(change)
        return int(rows[0]), sorted(changes, key=lambda c: c.seq)

    async def announce(self, message: Announce, *, author: str) -> Announcement:
        """See :meth:`~agent_assist.marquee.backend.Backend.announce`."""
        import secrets

        for _ in range(5):  # a fresh random id; taken ids (vanishingly rare) are drawn again
            announcement = Announcement(
                id=f"a{secrets.token_hex(6)}",
                seq=_PLACEHOLDER,
                text=message.text,
                priority=message.priority,
                audience=message.audience,
                author=author,
                created_at=time.time(),
                starts_at=message.starts_at,
                expires_at=message.expires_at,
            )
            seq = await self._commit(announcement.id, encode(announcement), "new")
            if seq > 0:
                return dataclasses.replace(announcement, seq=seq)
        raise BackendUnavailableError("could not find a free announcement id; try again")

    async def edit(self, message: Edit) -> Announcement | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.edit`."""
        for _ in range(5):  # optimistic: retry if another node changed it meanwhile
            current = await self._current(message.id)
            if not isinstance(current, Announcement):
                return None
            edited = dataclasses.replace(
                current,
                seq=_PLACEHOLDER,
                text=message.text if message.text is not None else current.text,
                priority=message.priority if message.priority is not None else current.priority,
                expires_at=message.expires_at
                if message.expires_at is not None
                else current.expires_at,
                edited_at=time.time(),
            )
            seq = await self._commit(message.id, encode(edited), str(current.seq))
            if seq > 0:
                return dataclasses.replace(edited, seq=seq)
        raise BackendUnavailableError(f"announcement {message.id} keeps changing; try again")

    async def retract(self, announcement_id: str) -> Retracted | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.retract`."""
        for _ in range(5):
            current = await self._current(announcement_id)
            if not isinstance(current, Announcement):
                return None
            frame = encode(Retracted(id=announcement_id, seq=_PLACEHOLDER))
            seq = await self._commit(announcement_id, frame, str(current.seq))
            if seq > 0:
                return Retracted(id=announcement_id, seq=seq)
        raise BackendUnavailableError(f"announcement {announcement_id} keeps changing; try again")

    async def ack(self, announcement_id: str, name: str) -> bool:
        """See :meth:`~agent_assist.marquee.backend.Backend.ack`."""
        if not isinstance(await self._current(announcement_id), Announcement):
            return False
        key = self._key(f"acks:{announcement_id}")
        await self._call("store the read receipt", self._redis.hsetnx(key, name, repr(time.time())))
        return True

    async def receipts(self, announcement_id: str) -> ReceiptList | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.receipts`."""
        current = await self._current(announcement_id)
        if not isinstance(current, Announcement):
            return None
        acks = await self._call(
            "read receipts", self._redis.hgetall(self._key(f"acks:{announcement_id}"))
        )
        seen = sorted(((k.decode(), float(v)) for k, v in acks.items()), key=lambda s: s[1])
        names = {name for name, _ in seen}
        tokens = await self._call("read the agents", self._redis.hvals(self._key("tokens")))
        audience = (Identity(**json.loads(raw)) for raw in tokens)
        pending = sorted(
            {
                a.name
                for a in audience
                if a.role == "agent"
                and a.name not in names
                and current.audience.includes(site=a.site, team=a.team, name=a.name)
            }
        )
        return receipt_list(announcement_id, (seen, pending))

    async def publish(self, message: Message) -> None:
        """See :meth:`~agent_assist.marquee.backend.Backend.publish`."""
        await self._call("publish", self._redis.publish(self._key("events"), encode(message)))

    # -- knowledge -----------------------------------------------------------------------

    async def kb_changes(self, since: int) -> dict[str, Any]:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_changes`."""
        version = int(
            await self._call("read knowledge", self._redis.get(self._key("kb:version"))) or 0
        )
        entries = await self._call("read knowledge", self._redis.hvals(self._key("kb:articles")))
        changed = sorted(
            (e for e in map(json.loads, entries) if e["version"] > since),
            key=lambda e: (e["version"], e["record"]["id"]),
        )
        articles = [e["record"] for e in changed if not e.get("deleted")]
        deleted = [e["record"]["id"] for e in changed if e.get("deleted") and since > 0]
        return payload(since, version, articles, deleted)

    async def kb_submit(self, message: Submit, *, author: str, site: str) -> str:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_submit`."""
        entry = submission_dict(message, author=author, site=site, now=time.time())
        number = await self._call("queue the submission", self._redis.incr(self._key("kb:subid")))
        submission_id = f"s{number}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._key("kb:subs"), submission_id, json.dumps(entry))
        pipe.hset(self._key("kb:state"), submission_id, "pending")
        await self._call("queue the submission", pipe.execute())
        return submission_id

    async def kb_queue(self) -> list[dict[str, Any]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_queue`."""
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
        return [{"id": i, **json.loads(raw)} for i, raw in zip(ids, rows, strict=True) if raw]

    async def kb_review(self, message: Review, *, reviewer: str) -> Reviewed | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_review`."""
        raw = await self._call(
            "read the submission", self._redis.hget(self._key("kb:subs"), message.id)
        )
        if raw is None:
            return None
        article_id, key, entry = "", "", ""
        if message.decision == "approve":
            submission = json.loads(raw)
            if submission.get("article_id"):  # phrasings of an existing article
                record = phrasing_from_submission(submission, message, submission_id=message.id)
                article_id = record["article_id"]
            else:
                record = article_from_submission(submission, message)
                if not message.article_id:  # a title like an existing article's must not replace it
                    entries = await self._call(
                        "read knowledge", self._redis.hgetall(self._key("kb:articles"))
                    )
                    live = {
                        k.decode() for k, v in entries.items() if not json.loads(v).get("deleted")
                    }
                    record["id"] = free_id(record["id"], live.__contains__)
                article_id = record["id"]
            key = record["id"]
            entry = json.dumps(
                {"version": _PLACEHOLDER, "record": record, "deleted": False},
                ensure_ascii=False,
                separators=(",", ":"),  # the script looks for '"version":-1'
            )
        keys = [self._key(k) for k in ("kb:state", "kb:version", "kb:articles")]
        args = [message.id, message.decision + "d", key, entry]
        version = int(
            await self._call("record the review", self._scripts["review"](keys=keys, args=args))
        )
        if version < 0:
            return None
        return Reviewed(
            id=message.id,
            decision=message.decision,
            reviewer=reviewer,
            article_id=article_id or None,
            version=version or None,
        )

    async def kb_publish(
        self, records: list[dict[str, Any]], *, deleted: tuple[str, ...] = ()
    ) -> int:
        """Store validated article records (and deletions) as one new knowledge version.

        An administrator's bulk operation (``agent-assist server kb-import``): run it
        from one place at a time; it is not atomic against a concurrent publish.
        """
        entries = await self._call("read knowledge", self._redis.hgetall(self._key("kb:articles")))
        stored = {k.decode(): json.loads(v) for k, v in entries.items()}
        changed = [
            r
            for r in records
            if stored.get(r["id"], {}).get("record") != r or stored[r["id"]].get("deleted")
        ]
        gone = [i for i in deleted if i in stored and not stored[i].get("deleted")]
        if not changed and not gone:
            return int(
                await self._call("read knowledge", self._redis.get(self._key("kb:version"))) or 0
            )
        version = int(
            await self._call("publish knowledge", self._redis.incr(self._key("kb:version")))
        )
        mapping = {
            r["id"]: json.dumps({"version": version, "record": r, "deleted": False})
            for r in changed
        }
        for article_id in gone:
            mapping[article_id] = json.dumps(
                {"version": version, "record": stored[article_id]["record"], "deleted": True}
            )
        await self._call(
            "publish knowledge", self._redis.hset(self._key("kb:articles"), mapping=mapping)
        )
        return version

    # -- team stats (issue 15): agent_assist.marquee.redis_stats ------------------------------

    async def stats_add(self, message: CallStats, *, agent: Identity) -> bool:
        return await RedisStats(self).add(message, agent=agent)

    async def stats_read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        return await RedisStats(self).read(query)


def _change(raw: bytes | None) -> Change | None:
    """A stored frame, or None if missing or unreadable (e.g. written by a newer node)."""
    if raw is None:
        return None
    try:
        change = decode(raw.decode("utf-8"))
    except (ProtocolError, UnicodeDecodeError) as exc:
        log.warning("skipping a stored announcement this node cannot read: %s", exc)
        return None
    return change if isinstance(change, Announcement | Retracted) else None
