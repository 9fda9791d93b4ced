"""What a marquee client may send, and what the node does with it.

:class:`Requests` checks each frame against the token's rate limit (per token,
across its connections), decodes it, checks the token's role and scope, and
carries it out on the backend: announce (idempotent with a key), edit, retract,
acknowledge (only what was for the agent), receipts, the directory (whom a
supervisor may address, and who of them is online here), flag summaries, team
stats (``call_stats``, agents only), knowledge submissions (resolutions, or
phrasings of an existing article) and reviews. Refusals are ``error`` messages; nothing a client
sends can fail the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import replace
from typing import Any

from websockets.exceptions import ConnectionClosed

from agent_assist.errors import AgentAssistError
from agent_assist.marquee.backend import Backend
from agent_assist.marquee.fanout import Client
from agent_assist.marquee.guard import Buckets, Limits
from agent_assist.marquee.protocol import (
    Ack,
    Announce,
    Announced,
    Announcement,
    CallStats,
    Directory,
    Edit,
    ErrorMessage,
    FlagNotice,
    FlagSummary,
    ProtocolError,
    Receipts,
    Retract,
    Retracted,
    Review,
    Submit,
    Submitted,
    decode,
    encode,
)
from agent_assist.marquee.scope import Routed, Scope, addressing_problem, directory, reaches
from agent_assist.marquee.tokens import Identity

__all__ = ["Requests"]

log = logging.getLogger("agent_assist.marquee")
_RECEIPTS_DELAY = 0.5  # seconds: many acks of one announcement, one receipts update


class Requests:
    """Carries out clients' messages on ``backend`` within ``limits``."""

    def __init__(
        self,
        backend: Backend,
        *,
        limits: Limits,
        flag_feed: bool,
        metrics: Counter[str],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        online: Callable[[], Iterable[Identity]] = lambda: (),
    ) -> None:
        self.backend = backend
        self._online = online  # who is connected to this node (the directory's presence)
        self.limits = limits
        self.flag_feed = flag_feed
        self.metrics = metrics
        self._spawn = spawn
        self._sent = Buckets(capacity=limits.messages, per=limits.per)
        self._reads = Buckets(capacity=limits.reads, per=limits.per)
        self._dirty: set[str] = set()  # announcements acknowledged since the last update

    async def _flush_receipts(self) -> None:
        await asyncio.sleep(_RECEIPTS_DELAY)
        ids, self._dirty = self._dirty, set()
        for announcement_id in sorted(ids):
            with contextlib.suppress(AgentAssistError):
                current = await self.backend.current(announcement_id)
                if current is not None:
                    receipts = Receipts(id=announcement_id)
                    await self.backend.publish(replace(current, message=receipts))

    async def receive(self, client: Client, frame: str | bytes) -> None:
        """Handle one frame from ``client``: rate limit (per token), decode, role, scope, act."""
        if client.strikes >= self.limits.strikes:
            return  # being closed: ignore what is still queued
        self.metrics["messages"] += 1
        ident = client.identity
        read = ident.can_broadcast and _is_read_request(frame)
        buckets = self._reads if read else self._sent
        if not buckets.take(ident.token, time.monotonic()):
            client.strikes += 1
            self.metrics["rate_limited"] += 1
            if client.strikes >= self.limits.strikes:
                log.warning("closing a connection of %s: flooding", ident.name)
                # not awaited here: the closing handshake needs this connection's reader
                self._spawn(client.connection.close(1008, "too many messages"))
                return
            budget = self.limits.reads if read else self.limits.messages
            await self.error(
                client, "rate_limited", f"at most {budget} messages per {self.limits.per:g} s"
            )
            return
        try:
            message = decode(frame)
        except ProtocolError as exc:
            self.metrics["bad_messages"] += 1
            log.info("bad message from %s: %s", ident.name, exc)
            await self.error(client, exc.code, str(exc))
            return
        if isinstance(message, Announce | Edit | Retract | Receipts | Review | Directory) and not (
            ident.can_broadcast
        ):
            self.metrics["forbidden"] += 1
            await self.error(client, "forbidden", f"{ident.role}s cannot {message.TYPE}")
            return
        try:
            await self._dispatch(client, message)
        except AgentAssistError as exc:  # the backend cannot be reached (e.g. Redis down)
            log.warning("cannot %s for %s: %s", message.TYPE, ident.name, exc)
            await self.error(client, "unavailable", f"the server cannot {message.TYPE} right now")

    async def _dispatch(self, client: Client, message: Any) -> None:
        ident = client.identity
        expires = getattr(message, "expires_at", None)
        if isinstance(message, Announce | Edit) and expires is not None and expires <= time.time():
            await self.error(client, "bad_message", f"{message.TYPE}.expires_at is in the past")
            return
        if isinstance(message, Announce):
            problem = addressing_problem(message.audience, ident.scope)
            if problem is not None:
                self.metrics["forbidden"] += 1
                await self.error(client, "forbidden", problem)
                return
            routed, _ = await self.backend.announce(message, author=ident.name, scope=ident.scope)
            if message.key is not None:
                stored = routed.message
                assert isinstance(stored, Announcement | Retracted)
                await client.connection.send(
                    encode(Announced(key=message.key, id=stored.id, seq=stored.seq))
                )
        elif isinstance(message, Edit | Retract):
            if await self._may_change(client, message.id):
                done = await (
                    self.backend.edit(message)
                    if isinstance(message, Edit)
                    else self.backend.retract(message.id)
                )
                if done is None:
                    await self._not_found(client, message.id)
        elif isinstance(message, Ack):
            if not await self.backend.ack(message.id, ident):
                await self._not_found(client, message.id)
                return
            if not self._dirty:
                self._spawn(self._flush_receipts())
            self._dirty.add(message.id)
        elif isinstance(message, Receipts):
            receipts = await self.backend.receipts(message.id, ident.scope)
            if receipts is None:
                await self._not_found(client, message.id)
            else:
                await client.connection.send(encode(receipts))
        elif isinstance(message, Directory):
            here = {(i.name, i.site, i.team) for i in self._online() if i.role == "agent"}
            for frame in directory(ident.scope, await self.backend.agents(), here):
                await client.connection.send(encode(frame))
        elif isinstance(message, FlagSummary):
            await self._flag_summary(client, message)
        elif isinstance(message, CallStats):  # team stats (issue 15)
            if ident.role != "agent":
                self.metrics["forbidden"] += 1
                await self.error(client, "forbidden", "only agents' apps send call stats")
            elif await self.backend.stats_add(message, agent=ident):
                self.metrics["call_stats"] += 1
        elif isinstance(message, Submit):
            queued = await self.backend.kb_submit(message, who=ident)
            await client.connection.send(encode(Submitted(ref=message.ref, id=queued)))
            self.metrics["submissions"] += 1
        elif isinstance(message, Review):
            reviewed = await self.backend.kb_review(
                message, reviewer=ident.name, viewer=ident.scope
            )
            if reviewed is None:
                await self.error(
                    client, "not_found", f"no pending submission {message.id}", ref=message.id
                )
            else:
                await self.backend.publish(reviewed)
        else:
            await self.error(client, "unexpected", f"clients do not send {message.TYPE}")

    async def _may_change(self, client: Client, announcement_id: str) -> bool:
        """May this supervisor edit or retract it? (Only what was made inside its scope.)"""
        scope = client.identity.scope
        current = await self.backend.current(announcement_id)
        if current is None or current.audience is None:
            await self._not_found(client, announcement_id)
            return False
        if not scope.covers(current.scope):
            if not reaches(current.audience, current.scope, scope):
                await self._not_found(client, announcement_id)  # not even visible to it
                return False
            self.metrics["forbidden"] += 1
            await self.error(
                client,
                "forbidden",
                f"announcement {announcement_id} was made outside your sites and teams",
                ref=announcement_id,
            )
            return False
        return True

    async def _flag_summary(self, client: Client, message: FlagSummary) -> None:
        ident = client.identity
        if not self.flag_feed:
            await self.error(client, "flag_feed_off", "this site does not share flag summaries")
            return
        if ident.role != "agent":
            await self.error(client, "forbidden", "only agents' apps send flag summaries")
            return
        notice = FlagNotice(
            agent=ident.name,
            site=ident.site,
            team=ident.team,
            kind=message.kind,
            severity=message.severity,
            at=message.at,
        )
        await self.backend.publish(Routed(notice, Scope((ident.site,), (ident.team,))))
        self.metrics["flag_summaries"] += 1

    async def _not_found(self, client: Client, announcement_id: str) -> None:
        await self.error(
            client, "not_found", f"no active announcement {announcement_id}", ref=announcement_id
        )

    async def error(self, client: Client, code: str, message: str, ref: str | None = None) -> None:
        """Send ``client`` an ``error`` message (nothing if it has gone)."""
        with contextlib.suppress(ConnectionClosed):
            await client.connection.send(encode(ErrorMessage(code=code, message=message, ref=ref)))


def _is_read_request(frame: str | bytes) -> bool:
    """Receipts or directory? A cheap look at a frame's type, before the full decode (which
    the rate limit guards)."""
    if not isinstance(frame, str) or len(frame) >= 200:
        return False
    squeezed = frame.replace(" ", "")
    return '"type":"receipts"' in squeezed or '"type":"directory"' in squeezed
