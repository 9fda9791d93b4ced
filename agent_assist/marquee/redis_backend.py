"""Scale-out: several marquee server nodes sharing state and fan-out through Redis.

Keys (all under ``prefix``, default ``marquee:``):

* ``seq`` — the one global change counter; ``epoch`` — a random id of the
  state the counter belongs to (made afresh whenever Redis has none: after
  Redis lost its data, seqs start again at 1 *in a new epoch*);
* ``ann`` — hash: announcement id -> its current change: the frame clients
  receive (an ``announcement``, or a ``retracted`` once retracted), a line with
  its routing (audience, scope of its author) and a line with the epoch;
* ``log`` — sorted set: announcement id scored by the seq of its latest change.
  "Everything after seq N" is one range query, which is how a reconnecting
  client *and* a node that missed messages catch up;
* ``idem:<author>:<key>`` — the id a keyed ``announce`` stored (7 days);
* ``acks:<id>`` — hash: agent name -> time acknowledged;
* ``events`` — the pub/sub channel every node subscribes to (same three lines);
* ``tokens``, ``tokens:revoked`` (:mod:`.redis_tokens`), ``kb:*`` (:mod:`.redis_knowledge`),
  ``stats:day:*`` (:mod:`.redis_stats`).

Each change is one Lua script: take the next seq, store the change, index it and
PUBLISH it, atomically, so every node hears changes in seq order. A node that
notices a gap in the seqs, loses its subscription, sees Redis ahead of what it
heard, sees a new epoch, or sees a seq it has already heard come back (Redis
restored an older snapshot: the epoch is then renewed) catches up; after a new
epoch it starts again from 0. Redis must persist its data (AOF) or a restart
loses every announcement and token: :meth:`RedisBackend.warnings` says so.
Redis errors become :class:`BackendUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from agent_assist.errors import BackendUnavailableError
from agent_assist.marquee.backend import Snapshot, receipt_list
from agent_assist.marquee.protocol import (
    Announce,
    Announcement,
    Audience,
    CallStats,
    Edit,
    ProtocolError,
    ReceiptList,
    Retracted,
    Review,
    Submit,
    decode,
    encode,
)
from agent_assist.marquee.redis_knowledge import RedisKnowledge
from agent_assist.marquee.redis_stats import RedisStats
from agent_assist.marquee.redis_tokens import RedisTokens
from agent_assist.marquee.scope import EVERYWHERE, Routed, Scope, delivers_to, reaches
from agent_assist.marquee.scope import receipts_in_scope as in_scope
from agent_assist.marquee.stats import AckDelay, StatsQuery
from agent_assist.marquee.tokens import Identity, TokenInfo

__all__ = ["RedisBackend"]

log = logging.getLogger("agent_assist.marquee.redis")
T = TypeVar("T")

_EPOCH = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
"""
_COMMIT = (
    _EPOCH.replace("KEYS[1]", "KEYS[5]").replace("ARGV[1]", "ARGV[5]")
    + """
if ARGV[6] ~= '' then
  local stored = redis.call('GET', KEYS[6])
  if stored then return {-4, stored, epoch} end
end
local current = redis.call('ZSCORE', KEYS[3], ARGV[1])
if ARGV[3] == 'new' then
  if current then return {-1, '', epoch} end
elseif (not current) or tonumber(current) ~= tonumber(ARGV[3]) then
  return {-2, '', epoch}
end
local seq = redis.call('INCR', KEYS[1])
local frame = string.gsub(ARGV[2], '"seq":%-1', '"seq":' .. seq, 1)
local value = frame .. '\\n' .. ARGV[4] .. '\\n' .. epoch
redis.call('HSET', KEYS[2], ARGV[1], value)
redis.call('ZADD', KEYS[3], seq, ARGV[1])
redis.call('PUBLISH', KEYS[4], value)
if ARGV[6] ~= '' then redis.call('SET', KEYS[6], ARGV[1], 'EX', ARGV[6]) end
return {seq, '', epoch}
"""
)
_SNAPSHOT = (
    _EPOCH.replace("KEYS[1]", "KEYS[4]").replace("ARGV[1]", "ARGV[2]")
    + """
local out = {redis.call('GET', KEYS[1]) or '0', epoch}
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
for _, id in ipairs(ids) do out[#out + 1] = redis.call('HGET', KEYS[2], id) end
return out
"""
)
_POSITION = _EPOCH + "return {redis.call('GET', KEYS[2]) or '0', epoch}"
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])
"""
_PLACEHOLDER = -1  # replaced inside the scripts by the real seq
_WATCHDOG = 3.0  # seconds between checks that this node has heard every change
_POOL = 64  # Redis connections per node
_IDEM_TTL = 7 * 24 * 3600  # seconds a keyed announce is remembered


def _value(routed: Routed) -> str:
    """A change as stored and published: frame, routing (audience and scope), epoch lines."""
    routing = {"s": routed.scope.to_json()}
    if routed.audience is not None:
        routing["a"] = {
            "all": routed.audience.all,
            "sites": list(routed.audience.sites),
            "teams": list(routed.audience.teams),
            "agents": list(routed.audience.agents),
        }
    return encode(routed.message) + "\n" + json.dumps(routing, separators=(",", ":"))


def _routed(raw: bytes | str | None, epoch: str = "") -> Routed | None:
    """A stored or published change, or None if missing or unreadable (e.g. a newer node's)."""
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        frame, _, rest = text.partition("\n")
        routing_text, _, stored_epoch = rest.partition("\n")
        message = decode(frame)
        routing = json.loads(routing_text) if routing_text else {}
        scope = Scope.from_json(routing["s"]) if "s" in routing else EVERYWHERE  # older rows
        audience = message.audience if isinstance(message, Announcement) else None
        if isinstance(routing.get("a"), dict):
            a = routing["a"]
            audience = Audience(
                bool(a["all"]), tuple(a["sites"]), tuple(a["teams"]), tuple(a["agents"])
            )
        elif isinstance(message, Retracted):  # an older row: its audience was not kept
            audience = Audience(all=True)
    except (ProtocolError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        log.warning("skipping a stored change this node cannot read: %s", exc)
        return None
    return Routed(message, scope, audience, epoch or stored_epoch)


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
        self._epoch = ""  # the epoch of what this backend last read or heard
        self._on_change: Callable[[Routed], None] = lambda routed: None
        self._on_resync: Callable[[], None] = lambda: None
        self._scripts: dict[str, Any] = {}
        self.tokens: RedisTokens
        self.knowledge: RedisKnowledge
        self.stats: RedisStats

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
                    ("position", _POSITION),
                    ("renew", _RENEW),
                )
            }
            self.tokens = RedisTokens(self._redis, self._key, self._call)
            self.knowledge = RedisKnowledge(self._redis, self._key, self._call)
            self.stats = RedisStats(self._redis, self._key, self._call, tokens=self.tokens)
        await self._call("connect", self._redis.ping())

    async def start(
        self, *, on_change: Callable[[Routed], None], on_resync: Callable[[], None]
    ) -> Snapshot:
        """Connect, subscribe to the change channel and report changes; returns the epoch and
        seq (no changes)."""
        self._on_change, self._on_resync = on_change, on_resync
        await self.connect()
        self._listener = asyncio.create_task(self._listen())
        try:
            await asyncio.wait_for(self._subscribed.wait(), 10)
        except TimeoutError:
            raise BackendUnavailableError(f"cannot subscribe to Redis at {self.url}") from None
        self._epoch, self._heard = await self.position()
        self._watchdog = asyncio.create_task(self._watch())
        return Snapshot(self._epoch, self._heard, [])

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

    async def position(self) -> tuple[str, int]:
        """(epoch, seq) of the shared state now (an epoch is made if Redis has none)."""
        keys = [self._key("epoch"), self._key("seq")]
        raw = await self._call(
            "read the change counter",
            self._scripts["position"](keys=keys, args=[secrets.token_hex(8)]),
        )
        return raw[1].decode(), int(raw[0])

    async def warnings(self) -> list[str]:
        """A warning when Redis keeps no data on disk (a restart would lose every announcement
        and token), or when its persistence settings cannot be read."""
        from redis.exceptions import RedisError

        try:
            aof = (await self._redis.config_get("appendonly")).get("appendonly", "")
            save = (await self._redis.config_get("save")).get("save", "")
        except (RedisError, OSError):
            return [
                f"cannot read the persistence settings of Redis at {self.url} (CONFIG GET); "
                "make sure it runs with appendonly yes"
            ]
        if aof == "yes":
            return []
        if not save.strip():
            return [
                f'Redis at {self.url} keeps no data on disk (appendonly no, save ""): a Redis '
                "restart erases every announcement and token; run it with appendonly yes"
            ]
        return [
            f"Redis at {self.url} only takes snapshots (save {save!r}, appendonly no): a crash "
            "loses the changes since the last one; run it with appendonly yes"
        ]

    # -- hearing about changes -------------------------------------------------------

    def caught_up(self, seq: int) -> None:
        """See :meth:`~agent_assist.marquee.backend.Backend.caught_up`."""
        self._heard = max(self._heard, seq)  # the node recovered up to here from the log

    def _report(self, routed: Routed) -> None:
        seq = routed.seq
        if routed.epoch and routed.epoch != self._epoch:
            self._epoch, self._heard = routed.epoch, 0  # the node resyncs on seeing it
        if seq is not None:
            self._heard = max(self._heard, seq)
        self._on_change(routed)

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
                    if item.get("type") == "message":
                        routed = _routed(item["data"])
                        if routed is not None:
                            self._report(routed)
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
        """Resync when Redis has a new epoch, went back, or stays ahead of what this node heard
        (a message lost in transit)."""
        behind_before = False
        while not self._closing:
            await asyncio.sleep(_WATCHDOG)
            try:
                epoch, seq = await self.position()
                if epoch == self._epoch and seq < self._heard:
                    epoch = await self._renew(epoch)
            except BackendUnavailableError:
                continue
            if epoch != self._epoch:
                log.warning("the shared state has a new epoch (%s); catching up", epoch)
                self._on_resync()
                behind_before = False
                continue
            behind = seq > self._heard
            if behind and behind_before:
                log.warning("this node missed changes; catching up")
                self._on_resync()
                behind = False
            behind_before = behind

    async def _renew(self, epoch: str) -> str:
        """Redis went back to an older state (a restored snapshot) in the same epoch: seqs
        this node heard will be reused for other changes, so start a new epoch."""
        log.warning("Redis went back to seq below what this node heard; starting a new epoch")
        fresh = await self._call(
            "renew the epoch",
            self._scripts["renew"](keys=[self._key("epoch")], args=[epoch, secrets.token_hex(8)]),
        )
        return str(fresh.decode() if isinstance(fresh, bytes) else fresh)

    # -- tokens ------------------------------------------------------------------------

    async def create_token(self, **fields: Any) -> str:
        """A new bearer token (role, name, site, team as keywords; only its hash is stored)."""
        return await self.tokens.create(**fields)

    async def identify(self, token: str) -> Identity | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.identify`."""
        return await self.tokens.identify(token)

    async def list_tokens(self) -> list[TokenInfo]:
        """Every token, oldest first (revoked ones too, marked)."""
        return await self.tokens.all()

    async def revoke(self, name_or_id: str) -> list[TokenInfo]:
        """Revoke the token with this id, or else every live token of this name; returns them."""
        return await self.tokens.revoke(name_or_id)

    async def revoked_since(self, since: float) -> list[tuple[str, float]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.revoked_since`."""
        return await self.tokens.revoked_since(since)

    # -- announcements -----------------------------------------------------------------

    async def _commit(
        self, routed: Routed, announcement_id: str, expected: str, idem: str = ""
    ) -> tuple[int, str]:
        """Store and publish one change; returns (seq, "") or (negative code, stored id)."""
        keys = [self._key(k) for k in ("seq", "ann", "log", "events", "epoch")]
        keys.append(self._key(f"idem:{idem}") if idem else self._key("idem:-"))
        args = [
            announcement_id,
            encode(routed.message),
            expected,
            _value(routed).partition("\n")[2],
        ]
        args += [secrets.token_hex(8), str(_IDEM_TTL) if idem else ""]
        seq, stored, epoch = await self._call(
            "store the change", self._scripts["commit"](keys=keys, args=args)
        )
        epoch = epoch.decode()
        if int(seq) > 0 and epoch == self._epoch and int(seq) <= self._heard:
            # a seq this node has already heard came back: Redis restored an older state
            epoch = await self._renew(epoch)
        if epoch != self._epoch:
            self._on_resync()
        return int(seq), stored.decode() if isinstance(stored, bytes) else str(stored)

    async def current(self, announcement_id: str) -> Routed | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.current`."""
        raw = await self._call(
            "read the announcement", self._redis.hget(self._key("ann"), announcement_id)
        )
        routed = _routed(raw)
        return routed if routed is not None and isinstance(routed.message, Announcement) else None

    async def snapshot(self, since: int) -> Snapshot:
        """See :meth:`~agent_assist.marquee.backend.Backend.snapshot`."""
        keys = [self._key(k) for k in ("seq", "ann", "log", "epoch")]
        rows = await self._call(
            "catch up", self._scripts["snapshot"](keys=keys, args=[since, secrets.token_hex(8)])
        )
        now, epoch = time.time(), rows[1].decode()
        changes = []
        for raw in rows[2:]:
            routed = _routed(raw, epoch)
            if routed is None:
                continue
            message = routed.message
            if isinstance(message, Retracted) or (
                isinstance(message, Announcement)
                and (message.expires_at is None or message.expires_at > now)
            ):
                changes.append(routed)
        if epoch != self._epoch:
            self._epoch, self._heard = epoch, 0
        return Snapshot(epoch, int(rows[0]), sorted(changes, key=lambda c: c.seq or 0))

    async def announce(
        self, message: Announce, *, author: str, scope: Scope = EVERYWHERE
    ) -> tuple[Routed, bool]:
        """See :meth:`~agent_assist.marquee.backend.Backend.announce`."""
        idem = f"{author}:{message.key}" if message.key else ""
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
            routed = Routed(announcement, scope, message.audience)
            seq, stored = await self._commit(routed, announcement.id, "new", idem)
            if seq == -4:  # a repeat of a keyed announce
                raw = await self._call(
                    "read the announcement", self._redis.hget(self._key("ann"), stored)
                )
                previous = _routed(raw)
                if previous is None:
                    raise BackendUnavailableError("the announcement for this key cannot be read")
                return previous, False
            if seq > 0:
                return Routed(replace(announcement, seq=seq), scope, message.audience), True
        raise BackendUnavailableError("could not find a free announcement id; try again")

    async def edit(self, message: Edit) -> Routed | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.edit`."""
        for _ in range(5):  # optimistic: retry if another node changed it meanwhile
            current = await self.current(message.id)
            if current is None or not isinstance(current.message, Announcement):
                return None
            old = current.message
            edited = replace(
                old,
                seq=_PLACEHOLDER,
                text=message.text if message.text is not None else old.text,
                priority=message.priority if message.priority is not None else old.priority,
                expires_at=old.expires_at if message.expires_at is None else message.expires_at,
                edited_at=time.time(),
            )
            routed = Routed(edited, current.scope, old.audience)
            seq, _ = await self._commit(routed, message.id, str(old.seq))
            if seq > 0:
                return Routed(replace(edited, seq=seq), current.scope, old.audience)
        raise BackendUnavailableError(f"announcement {message.id} keeps changing; try again")

    async def retract(self, announcement_id: str) -> Routed | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.retract`."""
        for _ in range(5):
            current = await self.current(announcement_id)
            if current is None or not isinstance(current.message, Announcement):
                return None
            routed = Routed(
                Retracted(id=announcement_id, seq=_PLACEHOLDER), current.scope, current.audience
            )
            seq, _ = await self._commit(routed, announcement_id, str(current.message.seq))
            if seq > 0:
                return Routed(
                    Retracted(id=announcement_id, seq=seq), current.scope, current.audience
                )
        raise BackendUnavailableError(f"announcement {announcement_id} keeps changing; try again")

    async def ack(self, announcement_id: str, who: Identity) -> bool:
        """See :meth:`~agent_assist.marquee.backend.Backend.ack`."""
        current = await self.current(announcement_id)
        if current is None or current.audience is None or who.role != "agent":
            return False
        if not delivers_to(
            current.audience, current.scope, site=who.site, team=who.team, name=who.name
        ):
            return False
        key = self._key(f"acks:{announcement_id}")
        await self._call(
            "store the read receipt", self._redis.hsetnx(key, who.name, repr(time.time()))
        )
        return True

    async def agents(self) -> list[tuple[str, str, str]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.agents`."""
        return await self.tokens.agents()

    async def receipts(self, announcement_id: str, viewer: Scope) -> ReceiptList | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.receipts`."""
        current = await self.current(announcement_id)
        if current is None or current.audience is None:
            return None
        if not reaches(current.audience, current.scope, viewer):
            return None
        acks = await self._call(
            "read receipts", self._redis.hgetall(self._key(f"acks:{announcement_id}"))
        )
        seen = sorted(((k.decode(), float(v)) for k, v in acks.items()), key=lambda s: s[1])
        agents = await self.tokens.agents()
        return receipt_list(
            announcement_id, in_scope(current.audience, current.scope, seen, agents, viewer)
        )

    async def publish(self, routed: Routed) -> None:
        """See :meth:`~agent_assist.marquee.backend.Backend.publish`."""
        await self._call("publish", self._redis.publish(self._key("events"), _value(routed)))

    # -- knowledge -----------------------------------------------------------------------

    async def kb_changes(self, since: int) -> dict[str, Any]:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_changes`."""
        return await self.knowledge.changes(since)

    async def kb_submit(self, message: Submit, *, who: Identity) -> str:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_submit`."""
        return await self.knowledge.submit(message, who=who)

    async def kb_queue(self, viewer: Scope) -> list[dict[str, Any]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_queue`."""
        return await self.knowledge.queue(viewer)

    async def kb_review(self, message: Review, *, reviewer: str, viewer: Scope) -> Routed | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_review`."""
        return await self.knowledge.review(message, reviewer=reviewer, viewer=viewer)

    async def kb_publish(
        self, records: list[dict[str, Any]], *, deleted: tuple[str, ...] = ()
    ) -> int:
        """Store article records (and deletions) as one new knowledge version, atomically."""
        return await self.knowledge.publish(records, deleted=deleted)

    # -- team stats (issue 15): agent_assist.marquee.redis_stats ------------------------------

    async def stats_add(self, message: CallStats, *, agent: Identity) -> bool:
        """See :meth:`~agent_assist.marquee.backend.Backend.stats_add`."""
        return await self.stats.add(message, agent=agent)

    async def stats_read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.stats_read`."""
        return await self.stats.read(query)
