"""The marquee server: supervisors' announcements to agents' desktops, in real time.

* State lives in a :class:`~agent_assist.marquee.backend.Backend`: SQLite for
  one node, Redis for several nodes sharing fan-out (``agent-assist server
  --redis URL``). Each node fans out only what its backend reports, skips what
  a client has already had (per-client ``seq`` floor) and catches up from the
  backend after a gap, so a supervisor on node A reaches agents on node B,
  once each, in order.

* WebSocket on ``/`` with a bearer token (``Authorization: Bearer ...``, or
  ``?token=`` for clients that cannot set headers); ``/healthz`` and Prometheus
  ``/metrics`` over plain HTTP on the same port. TLS with ``ssl_context``.
* A connection starts with ``hello`` (``last_seq``); the server answers
  ``welcome`` and then every change the client missed for its audience, so a
  reconnect or a server restart loses nothing and repeats nothing.
* Supervisors and admins ``announce``, ``edit``, ``retract`` and ask for
  ``receipts``; anyone may ``ack``. Agents who try to broadcast get an error.
* Bad input (malformed JSON, unknown fields, markup, oversize frames) gets an
  ``error`` message or, for frames over 16 KiB, a close with code 1009; a
  flood from one token is rate limited, then closed with 1008. Everyone else
  keeps being served.
* Knowledge: ``GET /kb/changes?since=N`` answers the sync payload of
  :mod:`kb_cache.sync`; ``GET /kb/review`` lists the review queue for
  supervisors; agents ``submit`` resolutions and supervisors ``review`` them.
* The agent flag feed (``flag_feed=True``, a site's opt-in) relays agents'
  ``flag_summary`` to supervisors of their site as ``flag_notice``.
* Updates: with ``updates=DIR``, ``GET /updates/<channel>/...`` serves the signed
  releases IT put in ``DIR`` (:mod:`agent_assist.marquee.updates`; no token).
* Fleet: every ``hello`` says the app's version and update channel; admins read
  ``GET /fleet/versions`` (the desktops this node has seen since it started).
* Team stats: agents' apps send ``call_stats`` (numbers only, where their site
  shares stats); ``GET /stats?from=DAY&to=DAY&by=agent|team|site`` answers the
  aggregates a supervisor's or admin's scope allows (:mod:`agent_assist.marquee.stats`).
* Fan-out uses ``websockets.broadcast`` without compression (short texts gain
  nothing; it costs memory per connection) and skips, and counts, connections
  whose write buffer is full, so one slow client cannot stall the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import ssl
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from agent_assist.errors import AgentAssistError, KnowledgeConflict
from agent_assist.marquee.backend import Backend, Change, LocalBackend
from agent_assist.marquee.protocol import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    Ack,
    Announce,
    Announcement,
    CallStats,
    Edit,
    ErrorMessage,
    FlagNotice,
    FlagSummary,
    Hello,
    Message,
    ProtocolError,
    Receipts,
    Retract,
    Retracted,
    Review,
    Submit,
    Submitted,
    Synced,
    Welcome,
    decode,
    encode,
)
from agent_assist.marquee.store import Identity, MarqueeStore
from agent_assist.marquee.updates import update_response

__all__ = ["MarqueeServer"]

log = logging.getLogger("agent_assist.marquee")
_HELLO_TIMEOUT = 10.0
_WRITE_BUFFER_LIMIT = 256 * 1024  # bytes queued for one client before we skip it
_RATE = 20  # messages
_PER = 10.0  # seconds
_READS = 200  # receipt requests from a supervisor, per _PER seconds
_STRIKES = 3  # rate-limit errors before the connection is closed


@dataclass(eq=False)  # identity semantics: clients live in a set
class _Client:
    connection: ServerConnection
    identity: Identity
    sent: list[float] = field(default_factory=list)
    strikes: int = 0
    floor: int = 0  # the newest change seq this client has been sent
    catching_up: bool = True
    held: list[Message] = field(default_factory=list)  # live changes during catch-up

    reads: list[float] = field(default_factory=list)

    def allowed(self, now: float, *, read: bool = False) -> bool:
        """Within the rate limit? Supervisors' receipt requests have a larger budget of their own:
        a console opening with many active announcements asks for all their receipts at once."""
        times = self.reads if read else self.sent
        times[:] = [t for t in times if t > now - _PER]
        times.append(now)
        return len(times) <= (_READS if read else _RATE)


class MarqueeServer:
    """Serve announcements from ``backend`` on ``host:port`` (loopback by default).

    ``backend`` may be a :class:`MarqueeStore` (wrapped in a LocalBackend).
    ``flag_feed``: relay agents' flag summaries to supervisors (a site opt-in).
    """

    def __init__(
        self,
        backend: Backend | MarqueeStore,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        ssl_context: ssl.SSLContext | None = None,
        flag_feed: bool = False,
        updates: Path | None = None,
    ) -> None:
        self.updates = updates  # the folder served at /updates/ (None: not served)
        self.fleet: dict[str, dict[str, Any]] = {}  # token name -> what its last hello said
        self.backend: Backend = (
            LocalBackend(backend) if isinstance(backend, MarqueeStore) else backend
        )
        self.host, self.port = host, port
        self.flag_feed = flag_feed
        self._ssl = ssl_context
        self._clients: set[_Client] = set()
        self.metrics: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self.seq = 0  # the newest change this node has fanned out
        self._recovering = False
        self._held: list[Message] = []

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> int:
        """Start listening; returns the port (useful with port 0)."""
        try:
            self.seq = await self.backend.start(
                on_change=self._on_change, on_resync=self._on_resync
            )
        except BaseException:
            await self.backend.close()
            raise
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._http,
            compression=None,
            max_size=MAX_FRAME,
            ssl=self._ssl,
            ping_interval=20,
            ping_timeout=20,
        )
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self.port
        log.info("marquee server on %s:%s", self.host, self.port)
        return self.port

    async def serve_forever(self) -> None:
        """Start, then serve until cancelled."""
        await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop accepting, cancel catch-ups still running, then close the backend."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):  # e.g. a recovery still retrying
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.backend.close()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- HTTP: health, metrics, knowledge, auth ----------------------------------------

    async def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urllib.parse.urlsplit(request.path)
        if url.path == "/healthz":
            return _text(200, "ok\n")
        if url.path == "/metrics":
            return _text(200, self._metrics_text(), "text/plain; version=0.0.4")
        if url.path.startswith("/updates/") and self.updates is not None:
            self.metrics["update_requests"] += 1
            return await asyncio.to_thread(
                update_response, self.updates, url.path, request.headers.get("Range")
            )
        if url.path not in ("/", "/kb/changes", "/kb/review", "/fleet/versions", "/stats"):
            return _text(404, "not found\n")
        token = _bearer(request)
        try:
            identity = await self.backend.identify(token) if token else None
        except AgentAssistError as exc:  # shared state unreachable: clients back off and retry
            log.warning("cannot check a token: %s", exc)
            self.metrics["unavailable"] += 1
            return _text(503, "the server cannot check tokens right now; try again\n")
        if identity is None:
            self.metrics["auth_failures"] += 1
            return _text(401, "missing or unknown token\n")
        try:
            if url.path == "/kb/changes":
                return await self._kb_changes(url.query)
            if url.path == "/stats":
                return await self._stats(identity, url.query)
            if url.path == "/kb/review":
                if not identity.can_broadcast:
                    return _text(403, "only supervisors and admins review submissions\n")
                return _json(200, {"pending": await self.backend.kb_queue()})
            if url.path == "/fleet/versions":
                if identity.role != "admin":
                    return _text(403, "only admins list the fleet's versions\n")
                return _json(200, {"clients": sorted(self.fleet.values(), key=_by_name)})
        except AgentAssistError as exc:
            log.warning("cannot answer %s: %s", url.path, exc)
            return _text(503, "the server cannot answer right now; try again\n")
        connection.identity = identity  # type: ignore[attr-defined]
        return None

    async def _kb_changes(self, query: str) -> Response:
        since = urllib.parse.parse_qs(query).get("since", ["0"])[0]
        if not (since.isascii() and since.isdecimal()):
            return _text(400, "since must be a knowledge version (a whole number)\n")
        try:
            return _json(200, await self.backend.kb_changes(int(since)))
        except KnowledgeConflict as exc:
            return _text(409, f"{exc}\n")

    async def _stats(self, identity: Identity, query: str) -> Response:
        """Team stats for a supervisor's scope, or an admin's (issue 15)."""
        from agent_assist.marquee.stats import aggregate, parse_query

        if not identity.can_broadcast:
            return _text(403, "only supervisors and admins read team stats\n")
        try:
            wanted = parse_query(query)
        except ValueError as exc:
            return _text(400, f"{exc}\n")
        calls, acks = await self.backend.stats_read(wanted)
        rows = aggregate(calls, acks, query=wanted, viewer=identity)
        return _json(200, {"from": wanted.first, "to": wanted.last, "by": wanted.by, "rows": rows})

    def _metrics_text(self) -> str:
        lines = [
            "# TYPE marquee_connections gauge",
            f"marquee_connections {len(self._clients)}",
            "# TYPE marquee_seq gauge",
            f"marquee_seq {self.seq}",
        ]
        for name, value in sorted(self.metrics.items()):
            lines += [f"# TYPE marquee_{name}_total counter", f"marquee_{name}_total {value}"]
        return "\n".join(lines) + "\n"

    # -- connections -------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        client = _Client(connection, connection.identity)  # type: ignore[attr-defined]
        try:
            first = await asyncio.wait_for(connection.recv(), _HELLO_TIMEOUT)
            hello = decode(first)
            if not isinstance(hello, Hello):
                raise ProtocolError("the first message must be hello")
        except (TimeoutError, ProtocolError) as exc:
            await connection.close(1008, str(exc)[:120] or "hello expected")
            return
        except ConnectionClosed:
            return
        ident = client.identity
        self._clients.add(client)  # from here live changes are held for it until caught up
        self.metrics["connections_opened"] += 1
        seen = self.fleet[ident.name] = {
            "name": ident.name,
            "role": ident.role,
            "site": ident.site,
            "team": ident.team,
            "version": hello.version,
            "channel": hello.channel,
            "client": hello.client,
            "connected": True,
            "last_seen": time.time(),
        }
        try:
            await connection.send(
                encode(
                    Welcome(
                        v=PROTOCOL_VERSION,
                        role=ident.role,
                        name=ident.name,
                        site=ident.site,
                        team=ident.team,
                        seq=self.seq,
                    )
                )
            )
            try:
                await self._catch_up(client, hello.last_seq)
            except AgentAssistError as exc:  # shared state unreachable: the client retries
                log.warning("cannot catch %s up: %s", ident.name, exc)
                self.metrics["unavailable"] += 1
                await connection.close(1013, "try again later")
                return
            async for frame in connection:
                await self._receive(client, frame)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            if not any(c.identity.name == ident.name for c in self._clients):
                seen.update(connected=False, last_seen=time.time())

    async def _catch_up(self, client: _Client, last_seq: int) -> None:
        seq, changes = await self.backend.snapshot(last_seq)
        # a client ahead of the server (its state was reset) must not skip the new changes;
        # the client sees Welcome.seq below its own and starts again from 0
        client.floor = min(last_seq, seq)
        self._send_changes(client, changes)
        client.floor = max(client.floor, seq)
        broadcast([client.connection], encode(Synced(seq=client.floor)))
        # what arrived while the snapshot was read, without yielding in between
        client.catching_up = False
        held, client.held = client.held, []
        for message in held:
            self._deliver(message, only=client)

    def _send_changes(self, client: _Client, changes: list[Change]) -> None:
        for change in changes:
            if change.seq > client.floor and self._wants(client, change):
                broadcast([client.connection], encode(change))  # synchronous write
                client.floor = change.seq

    def _for(self, client: _Client, announcement: Announcement) -> bool:
        ident = client.identity
        return ident.can_broadcast or announcement.audience.includes(
            site=ident.site, team=ident.team, name=ident.name
        )

    def _wants(self, client: _Client, message: Message) -> bool:
        if isinstance(message, Announcement):
            return self._for(client, message)
        if isinstance(message, Retracted):
            return True  # cheap, and the agent may hold it from before an audience change
        if isinstance(message, FlagNotice):
            ident = client.identity
            return ident.role == "admin" or (
                ident.role == "supervisor" and ident.site in ("", message.site)
            )
        return client.identity.can_broadcast  # receipt lists, reviews

    # -- fan-out of what the backend reports -----------------------------------------

    def _on_change(self, message: Message) -> None:
        if self._recovering:
            self._held.append(message)
            return
        seq = getattr(message, "seq", None)
        if isinstance(message, Announcement | Retracted) and seq is not None:
            if seq <= self.seq:
                return  # already fanned out (e.g. during a recovery)
            if seq > self.seq + 1:
                self.metrics["gaps"] += 1
                self._held.append(message)
                self._on_resync()
                return
            self.seq = seq
        self._deliver(message)

    def _on_resync(self) -> None:
        if not self._recovering:
            self._recovering = True
            self._spawn(self._recover())

    async def _recover(self) -> None:
        """Catch this node up after a gap: fan out every change since the last one seen."""
        try:
            while True:
                try:
                    seq, changes = await self.backend.snapshot(self.seq)
                    break
                except AgentAssistError as exc:
                    log.warning("cannot catch up yet: %s", exc)
                    await asyncio.sleep(1.0)
            for change in changes:
                self._deliver(change)
            self.seq = max(self.seq, seq)
            self.backend.caught_up(self.seq)
            self.metrics["recoveries"] += 1
        finally:
            self._recovering = False
            held, self._held = self._held, []
            for message in held:
                self._on_change(message)

    def _deliver(self, message: Message, *, only: _Client | None = None) -> None:
        seq = (
            getattr(message, "seq", None) if isinstance(message, Announcement | Retracted) else None
        )
        targets = []
        for client in [only] if only is not None else self._clients:
            if not self._wants(client, message):
                continue
            if client.catching_up:
                client.held.append(message)
                continue
            if seq is not None:
                if seq <= client.floor:
                    continue
                client.floor = seq
            targets.append(client)
        self._send_to(targets, encode(message))
        if isinstance(message, Announcement):
            self.metrics["broadcasts"] += 1

    def _send_to(self, clients: list[_Client], frame: str) -> None:
        ready = []
        for client in clients:
            transport = client.connection.transport
            if transport is not None and transport.get_write_buffer_size() > _WRITE_BUFFER_LIMIT:
                self.metrics["skipped_slow_clients"] += 1
                continue
            ready.append(client.connection)
        broadcast(ready, frame)
        self.metrics["frames_sent"] += len(ready)

    # -- what clients send -------------------------------------------------------------

    async def _receive(self, client: _Client, frame: str | bytes) -> None:
        if client.strikes >= _STRIKES:
            return  # being closed: ignore what is still queued
        self.metrics["messages"] += 1
        read = client.identity.can_broadcast and _is_receipts_request(frame)
        if not client.allowed(time.monotonic(), read=read):
            client.strikes += 1
            self.metrics["rate_limited"] += 1
            if client.strikes >= _STRIKES:
                log.warning("closing %s: flooding", client.identity.name)
                # not awaited here: the closing handshake needs this connection's reader
                self._spawn(client.connection.close(1008, "too many messages"))
                return
            await self._error(client, "rate_limited", f"at most {_RATE} messages per {_PER:g} s")
            return
        try:
            message = decode(frame)
        except ProtocolError as exc:
            self.metrics["bad_messages"] += 1
            log.info("bad message from %s: %s", client.identity.name, exc)
            await self._error(client, exc.code, str(exc))
            return
        if (
            isinstance(message, Announce | Edit | Retract | Receipts | Review)
            and not client.identity.can_broadcast
        ):
            self.metrics["forbidden"] += 1
            await self._error(client, "forbidden", f"{client.identity.role}s cannot {message.TYPE}")
            return
        try:
            await self._dispatch(client, message)
        except AgentAssistError as exc:  # the backend cannot be reached (e.g. Redis down)
            log.warning("cannot %s for %s: %s", message.TYPE, client.identity.name, exc)
            await self._error(client, "unavailable", f"the server cannot {message.TYPE} right now")

    async def _dispatch(self, client: _Client, message: Message) -> None:
        ident = client.identity
        if isinstance(message, Announce):
            await self.backend.announce(message, author=ident.name)
        elif isinstance(message, Edit):
            if await self.backend.edit(message) is None:
                await self._not_found(client, message.id)
        elif isinstance(message, Retract):
            if await self.backend.retract(message.id) is None:
                await self._not_found(client, message.id)
        elif isinstance(message, Ack):
            if not await self.backend.ack(message.id, ident.name):
                await self._not_found(client, message.id)
                return
            receipts = await self.backend.receipts(message.id)
            if receipts is not None:  # live read receipts for supervisors, on every node
                await self.backend.publish(receipts)
        elif isinstance(message, Receipts):
            receipts = await self.backend.receipts(message.id)
            if receipts is None:
                await self._not_found(client, message.id)
            else:
                await client.connection.send(encode(receipts))
        elif isinstance(message, FlagSummary):
            await self._flag_summary(client, message)
        elif isinstance(message, CallStats):  # team stats (issue 15)
            if ident.role != "agent":
                await self._error(client, "forbidden", "only agents' apps send call stats")
            elif await self.backend.stats_add(message, agent=ident):
                self.metrics["call_stats"] += 1
        elif isinstance(message, Submit):
            if ident.role != "agent" and not ident.can_broadcast:
                return
            queued = await self.backend.kb_submit(message, author=ident.name, site=ident.site)
            await client.connection.send(encode(Submitted(ref=message.ref, id=queued)))
            self.metrics["submissions"] += 1
        elif isinstance(message, Review):
            reviewed = await self.backend.kb_review(message, reviewer=ident.name)
            if reviewed is None:
                await self._error(
                    client, "not_found", f"no pending submission {message.id}", ref=message.id
                )
            else:
                await self.backend.publish(reviewed)
        else:
            await self._error(client, "unexpected", f"clients do not send {message.TYPE}")

    async def _flag_summary(self, client: _Client, message: FlagSummary) -> None:
        ident = client.identity
        if not self.flag_feed:
            await self._error(client, "flag_feed_off", "this site does not share flag summaries")
            return
        if ident.role != "agent":
            await self._error(client, "forbidden", "only agents' apps send flag summaries")
            return
        notice = FlagNotice(
            agent=ident.name,
            site=ident.site,
            team=ident.team,
            kind=message.kind,
            severity=message.severity,
            at=message.at,
        )
        await self.backend.publish(notice)
        self.metrics["flag_summaries"] += 1

    async def _not_found(self, client: _Client, announcement_id: str) -> None:
        await self._error(
            client, "not_found", f"no active announcement {announcement_id}", ref=announcement_id
        )

    async def _error(
        self, client: _Client, code: str, message: str, ref: str | None = None
    ) -> None:
        with contextlib.suppress(ConnectionClosed):
            await client.connection.send(encode(ErrorMessage(code=code, message=message, ref=ref)))


def _is_receipts_request(frame: str | bytes) -> bool:
    """A cheap look at a frame's type, before the full decode (which the rate limit guards)."""
    return (
        isinstance(frame, str)
        and len(frame) < 200
        and '"type":"receipts"' in frame.replace(" ", "")
    )


def _by_name(entry: dict[str, Any]) -> str:
    return str(entry["name"])


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    tokens = query.get("token")
    return tokens[0] if tokens else None


def _text(status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> Response:
    data = body.encode()
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


def _json(status: int, data: object) -> Response:
    return _text(status, json.dumps(data, ensure_ascii=False), "application/json")


def run(
    backend: Backend | MarqueeStore,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    flag_feed: bool = False,
    updates: Path | None = None,
) -> None:
    """Serve until interrupted (the ``agent-assist server`` command)."""
    server = MarqueeServer(
        backend,
        host=host,
        port=port,
        ssl_context=ssl_context,
        flag_feed=flag_feed,
        updates=updates,
    )

    async def main() -> None:
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
