"""The marquee client: survives offshore networks and server restarts, loses nothing.

Runs its own asyncio loop on its own thread; the app talks to it through a
thread-safe API (:meth:`MarqueeClient.send`) and receives messages through the
``on_message`` callback (called on the client's thread: the Qt app forwards
them with a signal).

* Reconnects with exponential back-off and full jitter (thousands of desktops
  must not reconnect in lock-step after a server restart), resetting after a
  connection that lived a while.
* Resumes: every ``hello`` carries the last change ``seq`` it saw and the
  ``epoch`` it belongs to; the server replays exactly what was missed. A change
  already seen is dropped, so nothing is delivered twice. A ``welcome`` with
  another epoch (the server's state was reset, even in the middle of a
  connection) starts the count again from 0; what the server then resends that
  was already delivered (the same id and version) is not delivered again (the
  rules: :class:`~agent_assist.marquee.state.ClientState`).
* A server that speaks another protocol version, or refuses the token, stops
  the retries (``failure`` says why); "full" (HTTP 503, 429) is retried.
* WebSocket pings detect dead links (20 s).
* Scheduled announcements (``starts_at`` in the future) are held and delivered
  when they start, by this machine's clock; an edit reschedules, a retraction
  cancels (the rules live in ``ClientState``; this class only keeps one timer).
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
from typing import TYPE_CHECKING

from agent_assist import __version__
from agent_assist.errors import AgentAssistError
from agent_assist.marquee.protocol import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    ErrorMessage,
    Hello,
    Message,
    ProtocolError,
    Submit,
    Submitted,
    decode,
    encode,
)
from agent_assist.marquee.state import ClientState

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

__all__ = ["MarqueeClient"]

_NOT_CONNECTED = "not connected to the marquee server"


def _failed_send(error: BaseException | None) -> str:
    if isinstance(error, AgentAssistError):
        return str(error)
    return f"could not send to the marquee server ({error})"


class MarqueeClient:
    """Connects to ``url`` with ``token`` and delivers messages to ``on_message``.

    Args:
        on_state: called with "connected" / "disconnected: reason" for the UI.
        backoff: first and longest reconnect delay in seconds.
        last_seq: resume point; 0 (a fresh app) receives every active announcement.
        epoch: the server state ``last_seq`` belongs to ("" when not known).
        ssl_context: for wss://, e.g. :func:`agent_assist.marquee.tls.client_context`
            with the site's CA and certificate pin.
        channel: this PC's update channel; ``hello`` reports it with the app's version.
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
        channel: str = "",
    ) -> None:
        self.url, self._token = url, token
        self._on_message = on_message
        self._on_state = on_state or (lambda state: None)
        self._backoff = backoff
        self._state = ClientState(last_seq=last_seq, epoch=epoch)  # the client's thread only
        self._ssl = ssl_context
        self._client_name = client_name
        self._channel = channel  # the update channel, reported in hello for `fleet versions`
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection: ClientConnection | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._timer: asyncio.TimerHandle | None = None  # releases held announcements
        self._awaiting: dict[str, concurrent.futures.Future[Submitted]] = {}
        self.failure: str | None = None  # set when retrying cannot help (e.g. bad token)
        self._thread = threading.Thread(target=self._run, name="marquee-client", daemon=True)

    # -- the thread-safe API -------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The newest change seen: where the next connection resumes."""
        return self._state.last_seq

    @property
    def epoch(self) -> str:
        """The server state ``last_seq`` belongs to (resume with both)."""
        return self._state.epoch

    def start(self) -> None:
        """Connect (and keep reconnecting) on the client's own thread."""
        self._loop = asyncio.new_event_loop()  # now, so sends can be queued before it runs
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a live connection; True when connected."""
        return self._connected.wait(timeout)

    def send(self, message: Message, timeout: float = 10.0) -> None:
        """Send ``message`` now and wait until it is written; raises AgentAssistError if not
        connected. Not for a GUI thread: use :meth:`send_soon` there."""
        loop = self._loop
        if loop is None or self._connection is None:
            raise AgentAssistError(_NOT_CONNECTED)
        future = asyncio.run_coroutine_threadsafe(self._send(message, wait=0.0), loop)
        try:
            future.result(timeout)
        except Exception as exc:
            raise AgentAssistError(_failed_send(exc)) from None

    def send_soon(
        self,
        message: Message,
        *,
        on_failure: Callable[[str], None],
        on_sent: Callable[[], None] | None = None,
        wait: float = 0.0,
    ) -> None:
        """Send ``message`` without waiting (safe on a GUI thread).

        Later, on the client's thread, ``on_sent()`` once it is written or
        ``on_failure(reason)`` if it cannot be: not connected within ``wait``
        seconds, or the connection failed.
        """
        loop = self._loop
        try:
            if loop is None or self._stopping.is_set():
                raise RuntimeError("not running")
            future = asyncio.run_coroutine_threadsafe(self._send(message, wait=wait), loop)
        except RuntimeError:  # never started, or stopped (its loop is closed)
            on_failure(_NOT_CONNECTED)
            return

        def done(finished: concurrent.futures.Future[None]) -> None:
            error = finished.exception() if not finished.cancelled() else None
            if finished.cancelled() or error is not None:
                on_failure(_NOT_CONNECTED if finished.cancelled() else _failed_send(error))
            elif on_sent is not None:
                on_sent()

        future.add_done_callback(done)

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
        """Close the connection and stop reconnecting; waits up to 10 s for the thread."""
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
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:  # as asyncio.run: sends still queued are cancelled (their callers hear so)
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    async def _main(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

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
                                version=__version__,
                                channel=self._channel,
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
            except InvalidHandshake as exc:
                # e.g. a server killed between accepting and answering (InvalidMessage):
                # like any other lost connection, try again after the back-off
                reason = f"no valid answer from the server ({exc.__class__.__name__})"
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

    async def _send(self, message: Message, *, wait: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while self._connection is None:  # (re)connecting: wait up to ``wait`` seconds
            if loop.time() >= deadline or self._stopping.is_set():
                raise AgentAssistError(_NOT_CONNECTED)
            await asyncio.sleep(min(0.05, deadline - loop.time()))
        await self._connection.send(encode(message))

    def _deliver(self, frame: str | bytes) -> None:
        try:
            message = decode(frame)
        except ProtocolError:
            return  # a newer server's message type: ignore rather than fail
        if isinstance(message, ErrorMessage) and message.code == "unsupported_version":
            self.failure = message.message  # retrying cannot help: the app needs an update
            self._stopping.set()
        if isinstance(message, Submitted):
            waiting = self._awaiting.get(message.ref)
            if waiting is not None and not waiting.done():
                waiting.set_result(message)
        for out in self._state.receive(message, time.time()):
            self._on_message(out)
        self._arm()

    def _arm(self) -> None:
        """Set the one timer for the next held announcement (an edit may have moved it)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        start = self._state.next_start()
        if start is not None and self._loop is not None:
            self._timer = self._loop.call_later(max(0.0, start - time.time()), self._release)

    def _release(self) -> None:
        self._timer = None
        for announcement in self._state.due(time.time()):
            self._on_message(announcement)
        self._arm()  # a timer that fired a little early by the wall clock tries again
