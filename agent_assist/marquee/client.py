"""The marquee client: survives offshore networks and server restarts, loses nothing.

Runs its own asyncio loop on its own thread; the app talks to it through a
thread-safe API (:meth:`MarqueeClient.send`) and receives messages through the
``on_message`` callback (called on the client's thread: the Qt app forwards
them with a signal).

* Reconnects with exponential back-off and full jitter (thousands of desktops
  must not reconnect in lock-step after a server restart), resetting after a
  connection that lived a while.
* Resumes: every ``hello`` carries the last change ``seq`` it saw and the
  ``epoch`` it belongs to; the server replays exactly what was missed. Changes
  at or below that seq are dropped, so nothing is delivered twice. A
  ``welcome`` with another epoch (the server's state was reset, even in the
  middle of a connection) starts the count again from 0; what the server then
  resends that was already delivered (the same id and version) is not delivered
  again.
* A server that speaks another protocol version, or refuses the token, stops
  the retries (``failure`` says why); "full" (HTTP 503, 429) is retried.
* WebSocket pings detect dead links (20 s); a refused token stops retrying.
* Scheduled announcements (``starts_at`` in the future) are held and delivered
  when they start, by this machine's clock; an edit reschedules, a retraction
  cancels.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from agent_assist.errors import AgentAssistError
from agent_assist.marquee.protocol import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    Announcement,
    ErrorMessage,
    Hello,
    Message,
    ProtocolError,
    Retracted,
    Submit,
    Submitted,
    Welcome,
    decode,
    encode,
)

__all__ = ["MarqueeClient"]

_REMEMBER = 10_000  # announcement versions remembered to recognise a resend after a reset


class MarqueeClient:
    """Connects to ``url`` with ``token`` and delivers messages to ``on_message``.

    Args:
        on_state: called with "connected" / "disconnected: reason" for the UI.
        backoff: first and longest reconnect delay in seconds.
        last_seq: resume point; 0 (a fresh app) receives every active announcement.
        ssl_context: for wss://, e.g. :func:`agent_assist.marquee.tls.client_context`
            with the site's CA and certificate pin.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        on_message: Callable[[Message], None],
        on_state: Callable[[str], None] | None = None,
        backoff: tuple[float, float] = (0.5, 30.0),
        last_seq: int = 0,
        epoch: str = "",
        ssl_context: ssl.SSLContext | None = None,
        client_name: str = "agent-assist",
    ) -> None:
        self.url, self._token = url, token
        self._on_message = on_message
        self._on_state = on_state or (lambda state: None)
        self._backoff = backoff
        self.last_seq = last_seq
        self.epoch = epoch
        self._ssl = ssl_context
        self._client_name = client_name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection: Any = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._scheduled: dict[str, asyncio.TimerHandle] = {}
        self._awaiting: dict[str, concurrent.futures.Future[Submitted]] = {}
        self._shown: dict[
            str, tuple[object, ...]
        ] = {}  # id -> version delivered (see _already_shown)
        self.failure: str | None = None  # set when retrying cannot help (e.g. bad token)
        self._thread = threading.Thread(target=self._run, name="marquee-client", daemon=True)

    # -- the thread-safe API -------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def send(self, message: Message, timeout: float = 10.0) -> None:
        """Send ``message`` now; raises AgentAssistError if not connected."""
        loop, connection = self._loop, self._connection
        if loop is None or connection is None:
            raise AgentAssistError("not connected to the marquee server")
        future = asyncio.run_coroutine_threadsafe(connection.send(encode(message)), loop)
        try:
            future.result(timeout)
        except Exception as exc:
            raise AgentAssistError(f"could not send to the marquee server ({exc})") from None

    def submit(self, message: Submit, timeout: float = 15.0) -> Submitted:
        """Send a resolution for review and wait for the server's receipt (thread-safe).

        Raises AgentAssistError when not connected or no receipt arrives in time:
        the caller keeps the submission queued and tries again later.
        """
        future: concurrent.futures.Future[Submitted] = concurrent.futures.Future()
        self._awaiting[message.ref] = future
        try:
            self.send(message, timeout)
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise AgentAssistError("the marquee server did not confirm the submission") from None
        finally:
            self._awaiting.pop(message.ref, None)

    def stop(self) -> None:
        self._stopping.set()
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile (e.g. a refusal)
                loop.call_soon_threadsafe(lambda: None)  # wake the loop so it notices
                connection = self._connection
                if connection is not None:
                    asyncio.run_coroutine_threadsafe(connection.close(), loop)
        if self._thread.is_alive():
            self._thread.join(10)

    # -- the client's own thread ---------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        self._loop = asyncio.get_running_loop()
        delay, longest = self._backoff
        while not self._stopping.is_set():
            started = self._loop.time()
            reason = "the server closed the connection"
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self._token}"},
                    compression=None,
                    max_size=MAX_FRAME,
                    ssl=self._ssl,
                    ping_interval=20,
                    ping_timeout=20,
                    open_timeout=10,
                ) as connection:
                    await connection.send(
                        encode(
                            Hello(
                                v=PROTOCOL_VERSION,
                                last_seq=self.last_seq,
                                client=self._client_name,
                                epoch=self.epoch,
                            )
                        )
                    )
                    self._connection = connection
                    self._connected.set()
                    self._on_state("connected")
                    async for frame in connection:
                        self._deliver(frame)
            except InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    self.failure = "the marquee server refused this token"
                    self._on_state(f"disconnected: {self.failure}")
                    return
                if exc.response.status_code == 429:  # this token holds too many connections
                    delay = max(delay, 5.0)
                reason = f"HTTP {exc.response.status_code}"
            except ssl.SSLCertVerificationError as exc:  # includes a pin that does not match
                reason = f"the server's certificate was refused ({exc.verify_message or exc})"
            except (OSError, TimeoutError, ConnectionClosed) as exc:
                reason = exc.__class__.__name__
            finally:
                self._connection = None
                self._connected.clear()
            if self.failure is not None:
                self._on_state(f"disconnected: {self.failure}")
            elif not self._stopping.is_set():
                self._on_state(f"disconnected: {reason}")
            if self._loop.time() - started > 60:
                delay = self._backoff[0]  # it was a healthy connection: start over
            wait = random.uniform(0, delay)  # full jitter
            delay = min(longest, delay * 2)
            end = self._loop.time() + wait
            while not self._stopping.is_set() and self._loop.time() < end:
                await asyncio.sleep(min(0.1, end - self._loop.time()))

    def _deliver(self, frame: str | bytes) -> None:
        try:
            message = decode(frame)
        except ProtocolError:
            return  # a newer server's message type: ignore rather than fail
        if isinstance(message, Welcome):
            reset = message.epoch and self.epoch and message.epoch != self.epoch
            if reset or message.seq < self.last_seq:
                self.last_seq = 0  # the server's state was reset: take everything it has again
            self.epoch = message.epoch or self.epoch
        if isinstance(message, ErrorMessage) and message.code == "unsupported_version":
            self.failure = message.message  # retrying cannot help: the app needs an update
            self._stopping.set()
        if isinstance(message, Submitted):
            waiting = self._awaiting.get(message.ref)
            if waiting is not None and not waiting.done():
                waiting.set_result(message)
        if isinstance(message, Announcement | Retracted):
            if message.seq <= self.last_seq:
                return  # already seen before a reconnect
            self.last_seq = message.seq
            if self._already_shown(message):
                return  # resent after a reset (new epoch): the same announcement, not a new one
            held = self._scheduled.pop(message.id, None)
            if held is not None:
                held.cancel()
            if isinstance(message, Announcement) and self._loop is not None:
                wait = (message.starts_at or 0) - time.time()
                if wait > 0:
                    self._scheduled[message.id] = self._loop.call_later(wait, self._start, message)
                    return
        self._on_message(message)

    def _already_shown(self, message: Announcement | Retracted) -> bool:
        """True if exactly this version of the announcement (or its retraction) was delivered
        before; remembers the newest ``_REMEMBER`` versions delivered."""
        version: tuple[object, ...] = (
            ("retracted",)
            if isinstance(message, Retracted)
            else (
                message.text,
                message.priority,
                message.starts_at,
                message.expires_at,
                message.edited_at,
            )
        )
        if self._shown.get(message.id) == version:
            return True
        self._shown.pop(message.id, None)
        self._shown[message.id] = version
        while len(self._shown) > _REMEMBER:
            del self._shown[next(iter(self._shown))]
        return False

    def _start(self, message: Announcement) -> None:
        self._scheduled.pop(message.id, None)
        self._on_message(message)
