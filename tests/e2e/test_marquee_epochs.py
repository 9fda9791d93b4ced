"""Shared state that is reset or goes back: real redis-server kill -9s, no silent loss.

Redis without persistence comes back empty (seqs restart at 1); Redis restoring an
older snapshot comes back with seqs the nodes have already seen. Either way the
next announcements must reach every agent exactly once, and the supervisor's send
must be answered, not time out.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection

from agent_assist.marquee.client import MarqueeClient
from agent_assist.marquee.protocol import Announcement, Message
from agent_assist.marquee.redis_backend import RedisBackend
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, RedisServer, open_session, quiet


def token(node: Node, role: str, name: str) -> str:
    backend = node.backend
    assert isinstance(backend, RedisBackend)
    return str(node.call(backend.create_token(role=role, name=name)))


def send_keyed(ws: ClientConnection, text: str, key: str, deadline: float = 20) -> dict[str, Any]:
    """Announce with an idempotency key until the server says it is stored (as the CLI does)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        ws.send(json.dumps({"type": "announce", "text": text, "key": key}))
        with contextlib.suppress(TimeoutError):
            while True:
                message = json.loads(ws.recv(timeout=2))
                if message["type"] == "announced" and message["key"] == key:
                    return message  # type: ignore[no-any-return]
                if message["type"] == "error":
                    assert message["code"] == "unavailable", message
                    break
        time.sleep(0.3)
    raise AssertionError(f"{text!r} was never stored")


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if m["type"] == "announcement"]


def drain(ws: ClientConnection, want: int, seconds: float = 15) -> list[dict[str, Any]]:
    """Messages until ``want`` announcements arrived (or ``seconds``), then 1 s more."""
    got: list[dict[str, Any]] = []
    end = time.monotonic() + seconds
    while len(texts(got)) < want and time.monotonic() < end:
        with contextlib.suppress(TimeoutError):
            got.append(json.loads(ws.recv(timeout=0.5)))
    return got + quiet(ws, 1.0)


def test_redis_restarted_without_its_data_loses_and_repeats_nothing(
    stack: contextlib.ExitStack,
) -> None:
    redis = RedisServer()  # no persistence: a restart comes back empty
    stack.callback(redis.stop)
    a = Node(lambda: RedisBackend(redis.url)).start()
    b = Node(lambda: RedisBackend(redis.url)).start()
    stack.callback(a.stop)
    stack.callback(b.stop)
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    agent = token(b, "agent", "ana")
    ana, _ = open_session(stack, b.url, agent)
    for i in range(5):  # the nodes are at seq 5
        send_keyed(sup, f"before {i}", f"k-before-{i}")
    assert texts(drain(ana, 5)) == [f"before {i}" for i in range(5)]
    assert b.server is not None
    epoch = first_epoch = b.server.fanout.epoch

    delivered: list[str] = []
    for kill in range(3):
        redis.kill()
        redis.start()  # empty: no tokens, no announcements, seq 0, no epoch
        stored = [send_keyed(sup, f"after {kill}.{i}", f"k-{kill}-{i}") for i in range(2)]
        got = drain(ana, 2)
        assert any(m["type"] == "welcome" and m["epoch"] != epoch for m in got)  # told: reset
        epoch = next(m["epoch"] for m in reversed(got) if m["type"] == "welcome")
        delivered += texts(got)
        assert [s["seq"] for s in stored] == [1, 2]  # the new epoch counts from 1 again
    expected = [f"after {k}.{i}" for k in range(3) for i in range(2)]
    assert delivered == expected  # nothing lost, nothing twice

    # an agent that was away comes back with a seq of the old epoch: it gets the new one's
    again = token(b, "agent", "ana")  # the tokens went with the data
    with connect_hello(b.url, again, last_seq=5, epoch=first_epoch) as caught_up:
        assert texts(caught_up) == ["after 2.0", "after 2.1"]


def test_redis_restoring_an_older_snapshot_starts_a_new_epoch(
    stack: contextlib.ExitStack, tmp_path: Path
) -> None:
    redis = RedisServer("--save", "", "--appendonly", "no", folder=tmp_path)
    stack.callback(redis.stop)
    a = Node(lambda: RedisBackend(redis.url)).start()
    stack.callback(a.stop)
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    ana, _ = open_session(stack, a.url, token(a, "agent", "ana"))
    app: list[Message] = []  # an agent's app, on the reconnecting client
    client = MarqueeClient(a.url, token(a, "agent", "bo"), on_message=app.append)
    client.start()
    stack.callback(client.stop)
    assert client.wait_connected(10)
    for i in range(2):
        send_keyed(sup, f"saved {i}", f"k-saved-{i}")
    assert redis.command("SAVE").startswith(b"+OK")  # the snapshot Redis will come back to
    for i in range(3):
        send_keyed(sup, f"unsaved {i}", f"k-unsaved-{i}")
    assert len(texts(drain(ana, 5))) == 5
    redis.kill()
    redis.start()  # back at seq 2, same epoch: seqs 3..5 will be reused for other changes
    assert redis.command("GET", "marquee:seq").endswith(b"2\r\n")
    stored = send_keyed(sup, "after the restore", "k-after")
    assert stored["seq"] == 3  # a seq every node has already seen...
    got = drain(ana, 1)
    assert texts(got).count("after the restore") == 1  # ...yet it arrives, once
    shown = [m.text for m in app if isinstance(m, Announcement)]
    # the restored "saved" ones are resent after the new epoch: the app sees each once
    assert shown == ["saved 0", "saved 1", *(f"unsaved {i}" for i in range(3)), "after the restore"]


def test_a_node_warns_when_redis_keeps_nothing_on_disk(tmp_path: Path) -> None:
    volatile = RedisServer()
    durable = RedisServer("--appendonly", "yes", folder=tmp_path)
    try:
        for redis, warned in ((volatile, True), (durable, False)):
            node = Node(lambda r=redis: RedisBackend(r.url)).start()  # type: ignore[misc]
            try:
                status, body = node.get("/healthz", "")
                assert status == 200
                assert (b"keeps no data on disk" in body) is warned, body
            finally:
                node.stop()
    finally:
        volatile.stop()
        durable.stop()


def test_a_client_from_another_database_starts_again_from_zero(
    tmp_path: Path, stack: contextlib.ExitStack
) -> None:
    """A server whose database was replaced (a new epoch) resends everything to an old client."""
    old = MarqueeStore(tmp_path / "old.db")
    new = MarqueeStore(tmp_path / "new.db")
    from agent_assist.marquee.protocol import Announce

    for i in range(3):
        new.announce(Announce(text=f"new {i}"), author="it")
    agent = new.create_token(role="agent", name="ana")
    node = Node(lambda: MarqueeStore(tmp_path / "new.db")).start()
    stack.callback(node.stop)
    ws, backlog = open_session(stack, node.url, agent, last_seq=2)
    assert texts(backlog) == ["new 2"]  # same epoch (none given): resumes after seq 2
    ws.close()
    with connect_hello(node.url, agent, last_seq=2, epoch=old.epoch) as got:
        assert texts(got) == ["new 0", "new 1", "new 2"]


@contextlib.contextmanager
def connect_hello(
    url: str, token: str, *, last_seq: int, epoch: str
) -> Iterator[list[dict[str, Any]]]:
    """Everything up to 'synced' after a hello that names the epoch of ``last_seq``."""
    from websockets.sync.client import connect

    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send(json.dumps({"type": "hello", "v": 1, "last_seq": last_seq, "epoch": epoch}))
        got = []
        while not got or got[-1]["type"] != "synced":
            got.append(json.loads(ws.recv(timeout=5)))
        yield got
