"""The marquee server: supervisors' announcements to agents' desktops, in real time.

* State lives in a :class:`~agent_assist.marquee.backend.Backend`: SQLite for
  one node, Redis for several nodes sharing fan-out (``agent-assist server
  --redis URL``). Each node fans out only what its backend reports, skips what
  a client has already had (per-client ``seq`` floor) and catches up from the
  backend after a gap, so a supervisor on node A reaches agents on node B,
  once each, in order. When the shared state is reset (a new ``epoch``: Redis
  lost its data, a new database) the node resynchronises and tells its clients
  with a new ``welcome``, then sends them everything again: nothing is dropped
  because its seq looks old.
* WebSocket on ``/`` with a bearer token (``Authorization: Bearer ...``, or
  ``?token=`` for clients that cannot set headers); ``/healthz`` and Prometheus
  ``/metrics`` (behind ``metrics_token`` when one is set) over plain HTTP on the
  same port; no ``Server`` header names what runs here. TLS with ``ssl_context``.
* A connection starts with ``hello`` (protocol version, ``last_seq``, ``epoch``);
  the server answers ``welcome`` and then every change the client missed that is
  for it, so a reconnect or a server restart loses nothing and repeats nothing.
* Scope (:mod:`agent_assist.marquee.scope`): every read and write is limited to
  the token's sites and teams; agents get, and may acknowledge, only what is
  addressed to them; retractions go only to whom the announcement went.
* Bad input gets an ``error`` message (frames over 16 KiB: close 1009). Rate
  limits are per token across its connections; a flood is closed with 1008.
  Beyond the connections a token (HTTP 429) or the node (HTTP 503: its open-file
  limit, raised to the hard limit at start) can hold, handshakes are refused.
* Updates: with ``updates=DIR``, ``GET /updates/<channel>/...`` serves the signed
  releases IT put in ``DIR`` (:mod:`agent_assist.marquee.updates`; no token).
* Fleet and team stats: every ``hello`` says the app's version and update
  channel; agents' apps send ``call_stats`` (numbers only, where their site
  shares stats). ``GET /fleet/versions`` and ``GET /stats`` answer what the
  token's scope allows (:mod:`agent_assist.marquee.web`).
* Fan-out uses ``websockets.broadcast`` without compression and skips, and
  counts, connections whose write buffer is full, so one slow client cannot
  stall the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import logging
import signal
import ssl
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from agent_assist.errors import AgentAssistError
from agent_assist.marquee.backend import Backend, LocalBackend
from agent_assist.marquee.fanout import Client, Fanout
from agent_assist.marquee.guard import Limits, QuietLog, raise_open_file_limit
from agent_assist.marquee.protocol import MAX_FRAME, PROTOCOL_VERSION, Hello, ProtocolError, decode
from agent_assist.marquee.requests import Requests
from agent_assist.marquee.store import MarqueeStore
from agent_assist.marquee.updates import update_response
from agent_assist.marquee.web import ROUTES, Web, bearer, metrics_text, text_response

__all__ = ["Limits", "MarqueeServer", "run"]

log = logging.getLogger("agent_assist.marquee")
_HELLO_TIMEOUT = 10.0
_REVOCATION_CHECK = 5.0  # seconds between looks for revoked tokens


class MarqueeServer:
    """Serve announcements from ``backend`` on ``host:port`` (loopback by default).

    ``backend`` may be a :class:`MarqueeStore` (wrapped in a LocalBackend).
    ``flag_feed``: relay agents' flag summaries to supervisors (a site opt-in).
    ``metrics_token``: required as the bearer token of ``/metrics`` when given.
    ``limits``: rate, connection and capacity bounds (:class:`Limits`).
    ``updates``: the folder served at ``/updates/`` (None: not served).
    """

    def __init__(
        self,
        backend: Backend | MarqueeStore,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        ssl_context: ssl.SSLContext | None = None,
        flag_feed: bool = False,
        metrics_token: str | None = None,
        limits: Limits | None = None,
        updates: Path | None = None,
    ) -> None:
        self.updates = updates
        self.backend: Backend = (
            LocalBackend(backend) if isinstance(backend, MarqueeStore) else backend
        )
        self.host, self.port = host, port
        self.limits = limits or Limits()
        self._metrics_token = metrics_token
        self._ssl = ssl_context
        self._per_token: Counter[str] = Counter()  # open connections per token id
        self.metrics: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self.capacity = 0  # connections this node accepts in all
        self._refusing = 0  # connections answered 503 whose handler has not ended yet
        self._warnings: list[str] = []
        self.fanout = Fanout(self.backend, metrics=self.metrics, spawn=self._spawn)
        self.requests = Requests(
            self.backend,
            limits=self.limits,
            flag_feed=flag_feed,
            metrics=self.metrics,
            spawn=self._spawn,
            online=lambda: (client.identity for client in self.fanout.clients),
        )
        self.web = Web(self.backend, limits=self.limits, metrics=self.metrics)
        self.fleet = self.web.fleet  # what each desktop said in its last hello

    @property
    def seq(self) -> int:
        """The newest change this node has fanned out."""
        return self.fanout.seq

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> int:
        """Start listening; returns the port (useful with port 0)."""
        try:
            position = await self.backend.start(
                on_change=self.fanout.on_change, on_resync=self.fanout.on_resync
            )
            self.fanout.epoch, self.fanout.seq = position.epoch, position.seq
            self._warnings = await self.backend.warnings()
        except BaseException:
            await self.backend.close()
            raise
        for warning in self._warnings:
            log.warning("WARNING: %s", warning)
        loop = asyncio.get_running_loop()
        if loop.get_exception_handler() is None:
            loop.set_exception_handler(self._loop_trouble)
        fds = raise_open_file_limit()
        self.capacity = max(1, fds - self.limits.reserve_fds)
        if self.limits.max_connections is not None:
            self.capacity = min(self.capacity, self.limits.max_connections)
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
            server_header=None,  # no version banner
        )
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self.port
        self._spawn(self._watch_revocations())
        log.info(
            "marquee server on %s:%s (open-file limit %d: up to %d connections)",
            self.host,
            self.port,
            fds,
            self.capacity,
        )
        return self.port

    async def serve_forever(self) -> None:
        """Start, then serve until cancelled."""
        await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop accepting, cancel background work (e.g. a recovery still retrying), then close
        the backend."""
        self.fanout.closing = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):  # e.g. a recovery still retrying
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.backend.close()

    def _loop_trouble(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """A burst of connections beyond the open-file limit makes accept() fail (asyncio
        retries a second later): one line, counted, instead of a traceback each time."""
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
            self.metrics["accept_out_of_files"] += 1
            log.warning("out of open files (%s): new connections wait a second", exc.strerror)
            return
        loop.default_exception_handler(context)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- HTTP: health, metrics, knowledge, auth ----------------------------------------

    async def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urllib.parse.urlsplit(request.path)
        if url.path == "/healthz":
            return text_response(200, "ok\n" + "".join(f"warning: {w}\n" for w in self._warnings))
        if url.path == "/metrics":
            return self._metrics(request)
        if url.path.startswith("/updates/") and self.updates is not None:
            self.metrics["update_requests"] += 1
            return await asyncio.to_thread(
                update_response, self.updates, url.path, request.headers.get("Range")
            )
        if url.path != "/" and url.path not in ROUTES:
            return text_response(404, "not found\n")
        if url.path == "/" and self._full():
            self.metrics["refused_full"] += 1
            task = asyncio.current_task()  # this connection's handler
            if task is not None:  # not counted until its handler ends (the 503 is on its way)
                self._refusing += 1
                task.add_done_callback(self._refused_done)
            return text_response(503, "the server is full; try again later\n", retry_after=5)
        token = bearer(request)
        try:
            identity = await self.backend.identify(token) if token else None
        except AgentAssistError as exc:  # shared state unreachable: clients back off and retry
            log.warning("cannot check a token: %s", exc)
            self.metrics["unavailable"] += 1
            return text_response(503, "the server cannot check tokens right now; try again\n")
        if identity is None:
            self.metrics["auth_failures"] += 1
            return text_response(401, "missing or unknown token\n")
        if url.path != "/":
            return await self.web.answer(url.path, url.query, identity)
        if self._per_token[identity.token] >= self.limits.connections_per_token:
            self.metrics["refused_token_connections"] += 1
            return text_response(
                429,
                f"this token already has {self.limits.connections_per_token} connections\n",
                retry_after=30,
            )
        connection.identity = identity  # type: ignore[attr-defined]
        return None

    def _full(self) -> bool:
        """Whether the connection now handshaking would take this node past its capacity.

        Counted are the connection handlers websockets runs (established and still
        handshaking, this one included): a half-open socket holds a file too. Those
        already refused are not: in a storm they would crowd out clients it can serve.
        """
        if self._server is None:
            return False
        return len(self._server.handler_tasks) - self._refusing > self.capacity

    def _refused_done(self, _task: asyncio.Task[None]) -> None:
        self._refusing -= 1

    def _metrics(self, request: Request) -> Response:
        if self._metrics_token is not None and not hmac.compare_digest(
            (bearer(request) or "").encode(), self._metrics_token.encode()
        ):
            return text_response(401, "/metrics needs the metrics token\n")
        gauges = {
            "connections": len(self.fanout.clients),
            "capacity": self.capacity,
            "seq": self.seq,
        }
        return text_response(200, metrics_text(gauges, self.metrics), "text/plain; version=0.0.4")

    # -- connections -------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        client = Client(connection, connection.identity)  # type: ignore[attr-defined]
        try:
            hello = decode(await asyncio.wait_for(connection.recv(), _HELLO_TIMEOUT))
            if not isinstance(hello, Hello):
                raise ProtocolError("the first message must be hello")
            if hello.v != PROTOCOL_VERSION:
                message = (
                    f"this server speaks marquee protocol {PROTOCOL_VERSION}, not {hello.v}; "
                    "update the app"
                )
                await self.requests.error(client, "unsupported_version", message)
                raise ProtocolError(message)
        except (TimeoutError, ProtocolError) as exc:
            with contextlib.suppress(ConnectionClosed):
                await connection.close(1008, str(exc)[:120] or "hello expected")
            return
        except ConnectionClosed:
            return
        ident = client.identity
        self.fanout.clients.add(client)  # from here live changes are held for it until caught up
        self._per_token[ident.token] += 1
        self.metrics["connections_opened"] += 1
        self.fleet.hello(ident, hello, now=time.time())
        try:
            try:
                # a client whose seq belongs to another epoch starts again from 0
                same = not hello.epoch or hello.epoch == self.fanout.epoch
                await self.fanout.catch_up(client, hello.last_seq if same else 0)
            except AgentAssistError as exc:  # shared state unreachable: the client retries
                log.warning("cannot catch %s up: %s", ident.name, exc)
                self.metrics["unavailable"] += 1
                await connection.close(1013, "try again later")
                return
            async for frame in connection:
                await self.requests.receive(client, frame)
        except ConnectionClosed:
            pass
        finally:
            self.fanout.clients.discard(client)
            self._per_token[ident.token] -= 1
            if self._per_token[ident.token] <= 0:
                del self._per_token[ident.token]
            self.fleet.left(ident, still_connected=ident.token in self._per_token, now=time.time())

    async def _watch_revocations(self) -> None:
        """Close the connections of tokens revoked since the server started."""
        since = time.time()
        while True:
            await asyncio.sleep(_REVOCATION_CHECK)
            try:
                revoked = await self.backend.revoked_since(since)
            except AgentAssistError:
                continue
            if not revoked:
                continue
            since = max(at for _, at in revoked)
            ids = {token for token, _ in revoked}
            for client in [c for c in self.fanout.clients if c.identity.token in ids]:
                self.metrics["revoked_closed"] += 1
                self._spawn(client.connection.close(1008, "this token was revoked"))


def run(
    backend: Backend | MarqueeStore,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    flag_feed: bool = False,
    metrics_token: str | None = None,
    updates: Path | None = None,
) -> None:
    """Serve until interrupted (the ``agent-assist server`` command); logs to stderr, each
    kind of message a few times a minute at most."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(QuietLog())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    server = MarqueeServer(
        backend,
        host=host,
        port=port,
        ssl_context=ssl_context,
        flag_feed=flag_feed,
        metrics_token=metrics_token,
        updates=updates,
    )

    async def main() -> None:
        # SIGTERM (systemd stop) and Ctrl-C close the server cleanly: clients are told
        # "going away" and reconnect; no exception lands in a connection's task
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)
        await server.start()
        try:
            await stop.wait()
        finally:
            await server.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
