"""A bench client process for ``bench/marquee.py``: holds many idle WebSocket clients.

Driven by JSON lines on stdin, answering on stdout (one line per command):

* ``{"cmd": "connect", "jobs": [{"group", "url", "tokens": [...]}, ...], "batch", "timeout",
  "light"}`` — for every job at once, one client per token (websockets' asyncio client, no
  compression, no pings), ``batch`` handshakes at a time per job; each says ``hello`` and
  reads until ``synced``. With ``light`` each synced client's
  transport is handed to :class:`LightReader` (a minimal frame reader: timestamps
  announcement frames, answers pings), so the bench spends a few microseconds a frame instead
  of websockets' ~24 us. Answers ``{"groups": {group: {"connected", "errors", "seconds"}}}``.
* ``{"cmd": "wait", "group", "count": k, "timeout": s}`` — until every client of the group
  has received ``k`` announcements (or the timeout): ``{"complete": n}``.
* ``{"cmd": "times"}`` — ``{"times": {group: [[t, ...], ...]}}``: per client, the
  ``time.perf_counter()`` (CLOCK_MONOTONIC: the same clock in every process) at which each
  announcement frame was read.
* ``{"cmd": "close"}`` — close every client; ``{"closed": n}``. ``{"cmd": "quit"}`` ends.

Run only by bench/marquee.py; 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import resource
import sys
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HELLO = json.dumps({"type": "hello", "v": 1, "last_seq": 0})
ANNOUNCEMENT = '{"type":"announcement"'  # how both servers start this message


class LightReader(asyncio.Protocol):
    """Takes over a synced client's transport from websockets. Parses the server's unmasked
    frames by hand, timestamps announcements, answers pings."""

    PREFIX = ANNOUNCEMENT.encode()

    def __init__(self, ws: ClientConnection, times: list[float]) -> None:
        self.transport: Any = ws.transport
        self.times, self.buf = times, b""
        self.transport.set_protocol(self)

    def data_received(self, data: bytes) -> None:
        now, buf, at = time.perf_counter(), self.buf + data if self.buf else data, 0
        while len(buf) - at >= 2:
            size, head = buf[at + 1] & 0x7F, 2
            if size >= 126:
                head = 4 if size == 126 else 10
                if len(buf) - at < head:
                    break
                size = int.from_bytes(buf[at + 2 : at + head], "big")
            if len(buf) - at < head + size:
                break
            opcode, payload = buf[at] & 0x0F, buf[at + head : at + head + size]
            at += head + size
            if opcode == 1 and payload.startswith(self.PREFIX):
                self.times.append(now)
            elif opcode == 9:  # ping -> pong, masked with a zero key (payload <= 125 bytes)
                self.transport.write(bytes((0x8A, 0x80 | size)) + bytes(4) + payload)
        self.buf = buf[at:]

    def close(self) -> None:
        """Send a masked close frame (1000) and close the transport."""
        with contextlib.suppress(Exception):
            self.transport.write(b"\x88\x82" + bytes(4) + (1000).to_bytes(2, "big"))
            self.transport.close()


async def read_all(ws: ClientConnection, times: list[float]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for frame in ws:
            now = time.perf_counter()
            if isinstance(frame, str) and frame.startswith(ANNOUNCEMENT):
                times.append(now)


async def open_client(url: str, token: str, timeout: float) -> ClientConnection:
    ws = await connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        ping_interval=None,
        proxy=None,
        open_timeout=timeout,
        close_timeout=timeout,
    )
    try:
        async with asyncio.timeout(timeout):
            await ws.send(HELLO)
            while not str(await ws.recv()).startswith('{"type":"synced"'):
                pass
    except BaseException:
        ws.transport.abort()
        raise
    return ws


class Clients:
    def __init__(self) -> None:
        self.times: dict[str, list[list[float]]] = {}
        self.conns: list[ClientConnection] = []
        self.light: list[LightReader] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self, command: dict[str, Any]) -> dict[str, Any]:
        """Every job (group, url, tokens) at once, each with its own ``batch`` of handshakes."""
        answers = await asyncio.gather(*(self._connect(job, command) for job in command["jobs"]))
        gc.collect()
        gc.freeze()  # a GC pass over thousands of connections must not land mid-measurement
        return {"groups": dict(answers)}

    async def _connect(
        self, job: dict[str, Any], command: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        gate, started = asyncio.Semaphore(command["batch"]), time.perf_counter()

        async def one(token: str) -> ClientConnection:
            async with gate:
                return await open_client(job["url"], token, command["timeout"])

        results = await asyncio.gather(*(one(t) for t in job["tokens"]), return_exceptions=True)
        seconds = time.perf_counter() - started
        errors = Counter(repr(r)[:70] for r in results if isinstance(r, BaseException))
        group = self.times.setdefault(job["group"], [])
        for ws in (r for r in results if isinstance(r, ClientConnection)):
            times: list[float] = []
            group.append(times)
            if command["light"]:
                self.light.append(LightReader(ws, times))
            else:
                self.conns.append(ws)
                self.tasks.append(asyncio.create_task(read_all(ws, times)))
        return job["group"], {"connected": len(group), "errors": dict(errors), "seconds": seconds}

    async def wait(self, command: dict[str, Any]) -> dict[str, Any]:
        deadline, group = (
            time.monotonic() + command["timeout"],
            self.times.get(command["group"], []),
        )
        while time.monotonic() < deadline:
            if all(len(t) >= command["count"] for t in group):
                break
            await asyncio.sleep(0.005)
        return {"complete": sum(len(t) >= command["count"] for t in group)}

    async def close(self) -> dict[str, Any]:
        gc.unfreeze()
        closed = sum(len(group) for group in self.times.values())
        for reader in self.light:
            reader.close()
        gate = asyncio.Semaphore(500)

        async def one(ws: ClientConnection) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 10)

        await asyncio.gather(*(one(ws) for ws in self.conns))
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.__init__()  # type: ignore[misc]
        return {"closed": closed}


async def main() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    clients = Clients()
    while line := await stdin.readline():
        command = json.loads(line)
        if command["cmd"] == "quit":
            break
        if command["cmd"] == "connect":
            answer = await clients.connect(command)
        elif command["cmd"] == "wait":
            answer = await clients.wait(command)
        elif command["cmd"] == "times":
            answer = {"times": clients.times}
        else:
            answer = await clients.close()
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
