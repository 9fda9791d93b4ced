"""A server process at a real low open-file limit (set with ``resource`` in the child):
it serves what it can hold, refuses the rest with 503, keeps accepting, and logs little."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from agent_assist.marquee.guard import QuietLog
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import free_port

pytestmark = pytest.mark.slow


def start_server(db: Path, soft: int, hard: int) -> tuple[subprocess.Popen[str], int]:
    port = free_port()

    def limit() -> None:  # runs in the child before exec: a real ulimit -n
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    process = subprocess.Popen(
        [sys.executable, "-m", "agent_assist", "server", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=limit,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


@pytest.fixture
def tokens(tmp_path: Path) -> list[str]:
    store = MarqueeStore(tmp_path / "marquee.db")
    return [store.create_token(role="agent", name=f"agent{i}") for i in range(300)]


def metric(port: int, name: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(f"marquee_{name} "):
                return int(line.split()[1])
    raise AssertionError(f"no metric {name}")


async def open_client(port: int, token: str) -> ClientConnection:
    ws = await connect(
        f"ws://127.0.0.1:{port}/",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    )
    await ws.send(json.dumps({"type": "hello", "v": 1}))
    while json.loads(await ws.recv())["type"] != "synced":
        pass
    return ws


def outcome(result: object) -> str:
    if isinstance(result, ClientConnection):
        return "served"
    if isinstance(result, InvalidStatus):
        return f"HTTP {result.response.status_code}"
    return repr(result)[:60]


def test_at_a_low_open_file_limit_the_rest_get_503_and_the_server_keeps_serving(
    tmp_path: Path, tokens: list[str]
) -> None:
    server, port = start_server(tmp_path / "marquee.db", soft=200, hard=200)
    try:
        assert metric(port, "capacity") == 100  # 200 descriptors, 100 kept for itself

        async def scenario() -> tuple[Counter[str], str]:
            results = await asyncio.gather(
                *(open_client(port, t) for t in tokens[:250]), return_exceptions=True
            )
            tally = Counter(outcome(r) for r in results)
            held = [r for r in results if isinstance(r, ClientConnection)]
            for ws in held[:50]:
                await ws.close()
            await asyncio.sleep(0.5)
            (late,) = await asyncio.gather(open_client(port, tokens[299]), return_exceptions=True)
            if isinstance(late, ClientConnection):
                await late.close()
            for ws in held[50:]:
                await ws.close()
            return tally, outcome(late)

        tally, late = asyncio.run(scenario())
        assert set(tally) == {"served", "HTTP 503"}, tally  # nothing else: no timeouts, no resets
        assert 90 <= tally["served"] <= 100, tally  # never past its capacity
        assert late == "served"  # after some left, new clients are served again
    finally:
        server.terminate()
        _, log = server.communicate(timeout=20)
    assert "Traceback" not in log
    assert len(log.splitlines()) < 20, log


def test_half_open_sockets_count_against_the_capacity(tmp_path: Path, tokens: list[str]) -> None:
    """Sockets that connect and say nothing hold descriptors too: with 60 of them open, the
    server serves at most 40 more and answers the rest 503 instead of running out of files."""
    import socket

    server, port = start_server(tmp_path / "marquee.db", soft=200, hard=200)
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
    try:
        time.sleep(0.5)  # let the server accept them all

        async def scenario() -> Counter[str]:
            results = await asyncio.gather(
                *(open_client(port, t) for t in tokens[:150]), return_exceptions=True
            )
            for ws in results:
                if isinstance(ws, ClientConnection):
                    await ws.close()
            return Counter(outcome(r) for r in results)

        tally = asyncio.run(scenario())
        assert set(tally) == {"served", "HTTP 503"}, tally  # no timeouts, no resets
        assert 1 <= tally["served"] <= 40, tally
    finally:
        for sock in silent:
            sock.close()
        server.terminate()
        _, log = server.communicate(timeout=20)
    assert "Traceback" not in log


def test_the_server_raises_its_open_file_limit_to_the_hard_limit(
    tmp_path: Path, tokens: list[str]
) -> None:
    server, port = start_server(tmp_path / "marquee.db", soft=150, hard=400)
    try:
        assert metric(port, "capacity") == 300
    finally:
        server.terminate()
        server.communicate(timeout=20)


def test_a_storm_of_one_error_is_logged_a_few_times_then_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("test.storm")
    quiet = QuietLog(burst=5, per=60.0)
    handler = caplog.handler
    handler.addFilter(quiet)
    try:
        with caplog.at_level(logging.WARNING, logger="test.storm"):
            for i in range(10_000):
                logger.warning("accept failed: %s", f"EMFILE {i}")
            logger.error("something else")
    finally:
        handler.removeFilter(quiet)
    assert len(caplog.records) == 6
    assert quiet.dropped[f"test.storm\0{logging.WARNING}\0accept failed: %s"] == 9_995
