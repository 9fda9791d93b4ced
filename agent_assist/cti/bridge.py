"""The CTI bridge server: a WebSocket endpoint on 127.0.0.1 for the softphone.

Runs its own asyncio loop on its own thread (the app's threads never block on
it). Listens on loopback only: call state never leaves the PC. An optional
shared token (``?token=...`` in the URL) keeps other local programs out.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from agent_assist.cti.protocol import MAX_MESSAGE_BYTES, handle_message
from agent_assist.errors import AgentAssistError
from agent_assist.events import Event

__all__ = ["CtiBridge"]

HOST = "127.0.0.1"


class CtiBridge:
    """Serves the CTI protocol on ws://127.0.0.1:PORT/ and hands events to ``on_event``.

    Args:
        on_event: called from the bridge's thread with each call/mute event.
        now: the call clock (seconds), used to stamp events.
        port: TCP port; 0 picks a free one (see ``port`` after ``start``).
        token: if set, clients must connect with ``?token=`` equal to it.
    """

    def __init__(
        self,
        *,
        on_event: Callable[[Event], None],
        now: Callable[[], float],
        port: int = 0,
        token: str | None = None,
    ) -> None:
        self._on_event = on_event
        self._now = now
        self.port = port
        self._token = token
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._run, name="cti-bridge", daemon=True)

    def start(self) -> int:
        """Start serving; returns the port. Raises AgentAssistError if it cannot listen."""
        self._thread.start()
        self._ready.wait(10)
        if self._failure is not None:
            raise AgentAssistError(self._failure)
        return self.port

    def stop(self) -> None:
        """Stop serving and wait (up to 5 s) for the bridge's thread to end."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server = await serve(
                self._handle,
                HOST,
                self.port,
                max_size=MAX_MESSAGE_BYTES,
                compression=None,
                process_request=self._check_token,
            )
        except OSError as exc:
            self._failure = f"the CTI bridge cannot listen on {HOST}:{self.port} ({exc.strerror})"
            self._ready.set()
            return
        async with server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _check_token(self, connection: Any, request: Any) -> Any:
        if self._token is None:
            return None
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        given = (query.get("token") or [""])[0]
        if hmac.compare_digest(given, self._token):
            return None
        return connection.respond(401, "missing or wrong token\n")

    async def _handle(self, websocket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for message in websocket:
                result = handle_message(message, t=self._now())
                for event in result.events:
                    self._on_event(event)
                await websocket.send(result.reply)
        except ConnectionClosed:
            pass  # the softphone went away; it reconnects when it wants
