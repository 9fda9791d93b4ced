"""Real marquee server nodes and raw WebSocket sessions for tests (127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from agent_assist.marquee.backend import Backend
from agent_assist.marquee.server import MarqueeServer


class Node:
    """One MarqueeServer on its own thread and event loop, with a backend made on that loop."""

    def __init__(self, make_backend: Callable[[], Any], **options: Any) -> None:
        self._make_backend = make_backend
        self._options = options
        self.port = 0
        self.server: MarqueeServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Node:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self.server = MarqueeServer(self._make_backend(), port=self.port, **self._options)
            try:
                self.port = loop.run_until_complete(self.server.start())
            except BaseException as exc:  # reported to the test thread
                failure.append(exc)
                loop.close()
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.close())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(15)
        if failure:
            raise failure[0]
        return self

    def call(self, coroutine: Any, timeout: float = 10) -> Any:
        """Run ``coroutine`` on the node's loop (e.g. a backend call) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def backend(self) -> Backend:
        assert self.server is not None
        return self.server.backend

    def stop(self) -> None:
        assert self._loop is not None
        assert self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def get(self, path: str, token: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def open_session(
    stack: contextlib.ExitStack, url: str, token: str, last_seq: int = 0
) -> tuple[ClientConnection, list[dict[str, Any]]]:
    """Connect, say hello, and return the connection and everything up to 'synced'."""
    ws = stack.enter_context(connect(url, additional_headers={"Authorization": f"Bearer {token}"}))
    ws.send(json.dumps({"type": "hello", "v": 1, "last_seq": last_seq}))
    seen = []
    while True:
        message = json.loads(ws.recv(timeout=30))
        seen.append(message)
        if message["type"] == "synced":
            return ws, seen


def next_of(ws: ClientConnection, kind: str, timeout: float = 30) -> dict[str, Any]:
    """The next message of type ``kind`` (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


def quiet(ws: ClientConnection, seconds: float = 0.4) -> list[dict[str, Any]]:
    """Everything that arrives within ``seconds`` (to show nothing more was sent)."""
    got = []
    deadline = time.monotonic() + seconds
    with contextlib.suppress(TimeoutError):
        while (left := deadline - time.monotonic()) > 0:
            got.append(json.loads(ws.recv(timeout=left)))
    return got


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on a free loopback port; without persistence unless given
    ``options`` (e.g. ``("--appendonly", "yes")``) and a ``folder`` for its files.
    ``kill()`` is a real SIGKILL; ``start()`` brings it back on the same port."""

    def __init__(self, *options: str, folder: Path | None = None) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (scripts/bootstrap installs it)")
        self.port = free_port()
        self.options = options or ("--save", "", "--appendonly", "no")
        self.folder = folder
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        where = ("--dir", str(self.folder)) if self.folder is not None else ()
        self._process = subprocess.Popen(
            [str(shutil.which("redis-server")), "--port", str(self.port), "--bind", "127.0.0.1",
             "--protected-mode", "yes", *where, *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *args: str) -> bytes:
        """One command (RESP, so arguments may hold spaces); returns the first reply bytes."""
        request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), 2) as s:
            s.sendall(request.encode())
            return s.recv(4096)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save (what a crash or an OOM kill does)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
