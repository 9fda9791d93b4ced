"""The marquee server: supervisors' announcements to agents' desktops, in real time.

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
* Fan-out uses ``websockets.broadcast`` without compression (short texts gain
  nothing; it costs memory per connection) and skips, and counts, connections
  whose write buffer is full, so one slow client cannot stall the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import ssl
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from agent_assist.marquee.protocol import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    Ack,
    Announce,
    Announcement,
    Edit,
    ErrorMessage,
    Hello,
    Message,
    ProtocolError,
    ReceiptList,
    Receipts,
    Retract,
    Retracted,
    Seen,
    Synced,
    Welcome,
    decode,
    encode,
)
from agent_assist.marquee.store import Identity, MarqueeStore

__all__ = ["MarqueeServer"]

log = logging.getLogger("agent_assist.marquee")
_HELLO_TIMEOUT = 10.0
_WRITE_BUFFER_LIMIT = 256 * 1024  # bytes queued for one client before we skip it
_RATE = 20  # messages
_PER = 10.0  # seconds
_STRIKES = 3  # rate-limit errors before the connection is closed


@dataclass(eq=False)  # identity semantics: clients live in a set
class _Client:
    connection: ServerConnection
    identity: Identity
    sent: list[float] = field(default_factory=list)
    strikes: int = 0

    def allowed(self, now: float) -> bool:
        self.sent = [t for t in self.sent if t > now - _PER]
        self.sent.append(now)
        return len(self.sent) <= _RATE


class MarqueeServer:
    """Serve announcements from ``store`` on ``host:port`` (loopback by default)."""

    def __init__(
        self,
        store: MarqueeStore,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.store = store
        self.host, self.port = host, port
        self._ssl = ssl_context
        self._clients: set[_Client] = set()
        self.metrics: Counter[str] = Counter()
        self._closing: set[asyncio.Task[None]] = set()
        self._server: Server | None = None

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> int:
        """Start listening; returns the port (useful with port 0)."""
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
        await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- HTTP: health, metrics, auth ---------------------------------------------------

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urllib.parse.urlsplit(request.path).path
        if path == "/healthz":
            return _text(200, "ok\n")
        if path == "/metrics":
            return _text(200, self._metrics_text(), "text/plain; version=0.0.4")
        if path != "/":
            return _text(404, "not found\n")
        token = _bearer(request)
        identity = self.store.identify(token) if token else None
        if identity is None:
            self.metrics["auth_failures"] += 1
            return _text(401, "missing or unknown token\n")
        connection.identity = identity  # type: ignore[attr-defined]
        return None

    def _metrics_text(self) -> str:
        lines = [
            "# TYPE marquee_connections gauge",
            f"marquee_connections {len(self._clients)}",
            "# TYPE marquee_seq gauge",
            f"marquee_seq {self.store.seq}",
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
        await connection.send(
            encode(
                Welcome(
                    v=PROTOCOL_VERSION,
                    role=ident.role,
                    name=ident.name,
                    site=ident.site,
                    team=ident.team,
                    seq=self.store.seq,
                )
            )
        )
        # snapshot, register and write the catch-up without yielding to the event loop, so
        # no live broadcast can slip in between and arrive out of order
        self._catch_up(client, hello.last_seq)
        self._clients.add(client)
        self.metrics["connections_opened"] += 1
        try:
            async for frame in connection:
                await self._receive(client, frame)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)

    def _catch_up(self, client: _Client, last_seq: int) -> None:
        active, gone = self.store.changes_since(last_seq)
        changes: list[Message] = [a for a in active if self._for(client, a)]
        changes += [Retracted(id=i, seq=s) for i, s in gone]
        for message in sorted(changes, key=lambda m: m.seq):  # type: ignore[union-attr]
            broadcast([client.connection], encode(message))  # synchronous write
        broadcast([client.connection], encode(Synced(seq=self.store.seq)))

    def _for(self, client: _Client, announcement: Announcement) -> bool:
        ident = client.identity
        return ident.can_broadcast or announcement.audience.includes(
            site=ident.site, team=ident.team, name=ident.name
        )

    async def _receive(self, client: _Client, frame: str | bytes) -> None:
        if client.strikes >= _STRIKES:
            return  # being closed: ignore what is still queued
        self.metrics["messages"] += 1
        if not client.allowed(time.monotonic()):
            client.strikes += 1
            self.metrics["rate_limited"] += 1
            if client.strikes >= _STRIKES:
                log.warning("closing %s: flooding", client.identity.name)
                # not awaited here: the closing handshake needs this connection's reader
                task = asyncio.create_task(client.connection.close(1008, "too many messages"))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
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
            isinstance(message, Announce | Edit | Retract | Receipts)
            and not client.identity.can_broadcast
        ):
            self.metrics["forbidden"] += 1
            await self._error(client, "forbidden", f"{client.identity.role}s cannot {message.TYPE}")
            return
        await self._dispatch(client, message)

    async def _dispatch(self, client: _Client, message: Message) -> None:
        if isinstance(message, Announce):
            self._fan_out(self.store.announce(message, author=client.identity.name), origin=client)
        elif isinstance(message, Edit):
            edited = self.store.edit(message)
            if edited is None:
                await self._error(
                    client, "not_found", f"no active announcement {message.id}", ref=message.id
                )
            else:
                self._fan_out(edited, origin=client)
        elif isinstance(message, Retract):
            seq = self.store.retract(message.id)
            if seq is None:
                await self._error(
                    client, "not_found", f"no active announcement {message.id}", ref=message.id
                )
            else:
                self._send_to(list(self._clients), encode(Retracted(id=message.id, seq=seq)))
        elif isinstance(message, Ack):
            if not self.store.ack(message.id, client.identity.name):
                await self._error(
                    client, "not_found", f"no active announcement {message.id}", ref=message.id
                )
                return
            receipts = self._receipt_list(message.id)
            if receipts is not None:  # live read receipts for supervisors
                self._send_to(
                    [c for c in self._clients if c.identity.can_broadcast], encode(receipts)
                )
        elif isinstance(message, Receipts):
            receipts = self._receipt_list(message.id)
            if receipts is None:
                await self._error(
                    client, "not_found", f"no active announcement {message.id}", ref=message.id
                )
            else:
                await client.connection.send(encode(receipts))
        else:
            await self._error(client, "unexpected", f"clients do not send {message.TYPE}")

    def _receipt_list(self, announcement_id: str) -> ReceiptList | None:
        data = self.store.receipts(announcement_id)
        if data is None:
            return None
        seen, pending = data
        return ReceiptList(
            id=announcement_id, seen=tuple(Seen(n, at) for n, at in seen), pending=tuple(pending)
        )

    def _fan_out(self, announcement: Announcement, *, origin: _Client) -> None:
        targets = [c for c in self._clients if self._for(c, announcement) or c is origin]
        self._send_to(targets, encode(announcement))
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

    async def _error(
        self, client: _Client, code: str, message: str, ref: str | None = None
    ) -> None:
        with contextlib.suppress(ConnectionClosed):
            await client.connection.send(encode(ErrorMessage(code=code, message=message, ref=ref)))


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


def run(
    store: MarqueeStore, *, host: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> None:
    """Serve until interrupted (the ``agent-assist server`` command)."""
    server = MarqueeServer(store, host=host, port=port, ssl_context=ssl_context)

    async def main() -> None:
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
