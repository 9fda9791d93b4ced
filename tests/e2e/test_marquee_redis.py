"""Scale-out: two real server nodes sharing a real redis-server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import pytest

from agent_assist.marquee.redis_backend import RedisBackend
from tests.support.marquee import Node, RedisServer, next_of, open_session, quiet


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.command("FLUSHALL")
    return redis_server.url


@pytest.fixture
def nodes(redis_url: str) -> Iterator[tuple[Node, Node]]:
    a = Node(lambda: RedisBackend(redis_url)).start()
    b = Node(lambda: RedisBackend(redis_url)).start()
    yield a, b
    a.stop()
    b.stop()


def token(node: Node, role: str, name: str, site: str = "") -> str:
    backend = node.backend
    assert isinstance(backend, RedisBackend)
    return str(node.call(backend.create_token(role=role, name=name, site=site)))  # type: ignore[arg-type]


def announce(ws: object, text: str, **fields: object) -> None:
    ws.send(json.dumps({"type": "announce", "text": text, **fields}))  # type: ignore[attr-defined]


def test_a_supervisor_on_one_node_reaches_targeted_agents_on_the_other(
    nodes: tuple[Node, Node], stack: contextlib.ExitStack
) -> None:
    a, b = nodes
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    ana, _ = open_session(stack, b.url, token(b, "agent", "ana", site="manila"))
    ben, _ = open_session(stack, b.url, token(a, "agent", "ben", site="cebu"))
    announce(
        sup, "Outage in region 3: use script B", priority="urgent", audience={"sites": ["manila"]}
    )
    got = next_of(ana, "announcement")
    assert got["text"] == "Outage in region 3: use script B"
    assert next_of(sup, "announcement")["id"] == got["id"]  # the author sees it too
    assert [m for m in quiet(ben) if m["type"] == "announcement"] == []


def test_read_receipts_cross_nodes_live(
    nodes: tuple[Node, Node], stack: contextlib.ExitStack
) -> None:
    a, b = nodes
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    token(a, "agent", "ben")  # in the audience, never reads it
    ana, _ = open_session(stack, b.url, token(b, "agent", "ana"))
    announce(sup, "Queue over 40: keep calls short", priority="urgent")
    announcement_id = next_of(ana, "announcement")["id"]
    ana.send(json.dumps({"type": "ack", "id": announcement_id}))
    receipts = next_of(sup, "receipt_list")
    assert [s["name"] for s in receipts["seen"]] == ["ana"]
    assert receipts["pending"] == ["ben"]


def test_a_client_catches_up_on_another_node_exactly_once(
    nodes: tuple[Node, Node], stack: contextlib.ExitStack
) -> None:
    a, b = nodes
    agent = token(a, "agent", "ana")
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    ana, _ = open_session(stack, b.url, agent)
    announce(sup, "one")
    last_seq = next_of(ana, "announcement")["seq"]
    ana.close()  # the agent's network drops...
    for text in ("two", "three", "four"):
        announce(sup, text)
        next_of(sup, "announcement")
    # ...and the agent reconnects to the other node
    _, caught_up = open_session(stack, a.url, agent, last_seq=last_seq)
    texts = [m["text"] for m in caught_up if m["type"] == "announcement"]
    assert texts == ["two", "three", "four"]


def test_a_node_that_lost_its_subscription_catches_up(
    nodes: tuple[Node, Node], stack: contextlib.ExitStack, redis_server: RedisServer
) -> None:
    a, b = nodes
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    ana, _ = open_session(stack, b.url, token(b, "agent", "ana"))
    redis_server.command("CLIENT", "KILL", "TYPE", "pubsub")  # every node's subscription drops
    for text in ("one", "two", "three"):
        announce(sup, text)
    texts = [next_of(ana, "announcement", timeout=60)["text"] for _ in range(3)]
    assert texts == ["one", "two", "three"]
    assert [m for m in quiet(ana, 1.0) if m["type"] == "announcement"] == []  # no duplicates
    assert b.server is not None
    assert b.server.metrics["recoveries"] >= 1


def test_knowledge_review_crosses_nodes(
    nodes: tuple[Node, Node], stack: contextlib.ExitStack
) -> None:
    a, b = nodes
    agent = token(b, "agent", "ana", site="manila")
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    ana, _ = open_session(stack, b.url, agent)
    ana.send(json.dumps({"type": "submit", "ref": "1", "title": "Card stuck in ATM",
                         "body": "Block the card, then order a new one.", "triggers": ["atm ate my card"]}))  # fmt: skip
    queued = next_of(ana, "submitted")["id"]
    status, body = a.get("/kb/review", token(a, "admin", "lee"))
    assert status == 200
    assert [s["id"] for s in json.loads(body)["pending"]] == [queued]
    sup.send(
        json.dumps({"type": "review", "id": queued, "decision": "approve", "department": "Cards"})
    )
    reviewed = next_of(sup, "reviewed")
    assert reviewed["article_id"] == "card-stuck-in-atm"
    status, body = b.get("/kb/changes?since=0", agent)
    changes = json.loads(body)
    assert status == 200
    assert changes["version"] == reviewed["version"]
    assert [(x["id"], x["department"]) for x in changes["articles"]] == [
        ("card-stuck-in-atm", "Cards")
    ]
    # a phrasing an agent's feedback taught joins the article instead of replacing it
    ana.send(json.dumps({"type": "submit", "ref": "2", "title": "Card stuck in ATM",
                         "body": "How customers put it: the machine kept my card",
                         "triggers": ["the machine kept my card"], "article_id": "card-stuck-in-atm"}))  # fmt: skip
    sup.send(
        json.dumps({"type": "review", "id": next_of(ana, "submitted")["id"], "decision": "approve"})
    )
    learned = next_of(sup, "reviewed")
    assert learned["article_id"] == "card-stuck-in-atm"
    status, body = b.get(f"/kb/changes?since={reviewed['version']}", agent)
    assert json.loads(body) == {
        "format": 1, "since": reviewed["version"], "version": learned["version"], "articles": [],
        "deleted": [], "phrasings": [{"article_id": "card-stuck-in-atm", "text": "the machine kept my card"}],
    }  # fmt: skip


def test_when_redis_is_down_the_supervisor_gets_a_clear_error(
    redis_url: str, stack: contextlib.ExitStack
) -> None:
    lonely = RedisServer()
    node = Node(lambda: RedisBackend(lonely.url)).start()
    try:
        sup, _ = open_session(stack, node.url, token(node, "admin", "maria"))
        lonely.stop()
        announce(sup, "anyone there?")
        error = next_of(sup, "error", timeout=60)
        assert error["code"] == "unavailable"
        sup.ping().wait(5)  # the connection is still served
    finally:
        node.stop()


def test_a_node_refuses_to_start_without_redis() -> None:
    from agent_assist.errors import BackendUnavailableError
    from tests.support.marquee import free_port

    with pytest.raises(BackendUnavailableError, match=r"Redis at redis://127\.0\.0\.1"):
        Node(lambda: RedisBackend(f"redis://127.0.0.1:{free_port()}/0")).start()


def test_expired_announcements_are_not_replayed(
    nodes: tuple[Node, Node], stack: contextlib.ExitStack
) -> None:
    a, b = nodes
    agent = token(a, "agent", "ana")
    sup, _ = open_session(stack, a.url, token(a, "admin", "maria"))
    announce(sup, "brief", expires_at=time.time() + 0.3)
    announce(sup, "lasting")
    next_of(sup, "announcement")
    next_of(sup, "announcement")
    time.sleep(0.5)
    _, caught_up = open_session(stack, b.url, agent)
    assert [m["text"] for m in caught_up if m["type"] == "announcement"] == ["lasting"]


def test_a_burst_of_connections_is_served_not_refused(nodes: tuple[Node, Node]) -> None:
    """More simultaneous handshakes than Redis connections in the pool: they queue, none fails."""
    import asyncio

    from websockets.asyncio.client import connect as aconnect

    a, _ = nodes
    agents = [token(a, "agent", f"agent{i}") for i in range(300)]  # one token holds 10 at most

    async def one(agent: str) -> str:
        async with aconnect(a.url, additional_headers={"Authorization": f"Bearer {agent}"}) as ws:
            await ws.send(json.dumps({"type": "hello", "v": 1, "last_seq": 0}))
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "synced":
                    return "ok"

    async def burst() -> list[object]:
        return await asyncio.gather(*(one(agent) for agent in agents), return_exceptions=True)

    results = asyncio.run(burst())
    assert [r for r in results if r != "ok"] == []


def test_the_directory_lists_the_agents_redis_holds_within_the_supervisors_scope(
    nodes: tuple[Node, Node], stack: contextlib.ExitStack
) -> None:
    a, b = nodes
    backend = a.backend
    assert isinstance(backend, RedisBackend)
    sup = str(a.call(backend.create_token(role="supervisor", name="lee", site=("iloilo",))))
    token(b, "agent", "ivy", site="iloilo")
    token(b, "agent", "jo", site="davao")  # another site: not lee's
    ian_desk = token(b, "agent", "ian", site="iloilo")
    open_session(stack, a.url, ian_desk)  # ian's desktop is on lee's node
    ws, _ = open_session(stack, a.url, sup)
    ws.send(json.dumps({"type": "directory"}))
    frame = next_of(ws, "directory_list")
    assert frame["sites"] == ["iloilo"]
    assert [(m["name"], m["online"]) for m in frame["agents"]] == [("ian", True), ("ivy", False)]
