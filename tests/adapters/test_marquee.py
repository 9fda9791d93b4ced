"""The marquee server and client for real on 127.0.0.1: roles, targeting, expiry, receipts, resume."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from agent_assist.marquee.client import MarqueeClient
from agent_assist.marquee.protocol import (
    Announcement,
    Message,
)
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, next_of, open_session


class Running(Node):
    """A single-node server on SQLite; restartable on the same port and database."""

    def __init__(self, db: Path) -> None:
        super().__init__(lambda: MarqueeStore(db))
        self.db = db
        self.store = MarqueeStore(db)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Running]:
    running = Running(tmp_path / "marquee.db")
    running.start()
    yield running
    running.stop()


def token(server: Running, role: str, name: str, site: str = "", team: str = "") -> str:
    return server.store.create_token(role=role, name=name, site=site, team=team)  # type: ignore[arg-type]


_OPEN = contextlib.ExitStack()


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    _OPEN.close()


def session(
    server: Running, tok: str, last_seq: int = 0
) -> tuple[ClientConnection, list[dict[str, object]]]:
    """Connect, say hello, and return the connection and everything up to 'synced'."""
    return open_session(_OPEN, server.url, tok, last_seq)


def test_health_and_metrics_over_plain_http(server: Running) -> None:
    import urllib.request

    http = f"http://127.0.0.1:{server.port}/"
    assert urllib.request.urlopen(http + "healthz").read() == b"ok\n"
    assert b"marquee_connections 0" in urllib.request.urlopen(http + "metrics").read()


def test_no_or_unknown_token_is_refused(server: Running) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        with pytest.raises(InvalidStatus) as info, connect(server.url, additional_headers=headers):
            pass
        assert info.value.response.status_code == 401


def test_a_supervisor_reaches_the_targeted_agents_only(server: Running) -> None:
    sup, _ = session(server, token(server, "supervisor", "maria", site="manila"))
    manila, _ = session(server, token(server, "agent", "ana", site="manila"))
    cebu, _ = session(server, token(server, "agent", "ben", site="cebu"))
    sup.send(
        json.dumps(
            {
                "type": "announce",
                "text": "Manila: use script B",
                "priority": "urgent",
                "audience": {"sites": ["manila"]},
            }
        )
    )
    got = next_of(manila, "announcement")
    assert (got["text"], got["priority"], got["author"]) == (
        "Manila: use script B",
        "urgent",
        "maria",
    )
    admin, _ = session(server, token(server, "admin", "it"))
    admin.send(json.dumps({"type": "announce", "text": "Everyone: short calls"}))
    assert (
        next_of(cebu, "announcement")["text"] == "Everyone: short calls"
    )  # not the Manila one first


def test_agents_cannot_broadcast_edit_retract_or_see_receipts(server: Running) -> None:
    agent, _ = session(server, token(server, "agent", "ana"))
    for message in (
        {"type": "announce", "text": "free pizza"},
        {"type": "retract", "id": "a1"},
        {"type": "receipts", "id": "a1"},
    ):
        agent.send(json.dumps(message))
        error = next_of(agent, "error")
        assert error["code"] == "forbidden"


def test_read_receipts_show_who_has_and_has_not_seen_it(server: Running) -> None:
    sup, _ = session(server, token(server, "admin", "maria"))
    ana, _ = session(server, token(server, "agent", "ana", team="cards"))
    token(server, "agent", "ben", team="cards")  # never connects
    token(server, "agent", "cy", team="loans")  # not in the audience
    sup.send(
        json.dumps(
            {
                "type": "announce",
                "text": "Cards outage",
                "priority": "urgent",
                "audience": {"teams": ["cards"]},
            }
        )
    )
    announcement = next_of(ana, "announcement")
    ana.send(json.dumps({"type": "ack", "id": announcement["id"]}))
    live = next_of(sup, "receipt_list")
    assert [s["name"] for s in live["seen"]] == ["ana"]  # type: ignore[union-attr]
    assert live["pending"] == ["ben"]


def test_edit_and_retract_reach_clients(server: Running) -> None:
    sup, _ = session(server, token(server, "admin", "maria"))
    ana, _ = session(server, token(server, "agent", "ana"))
    sup.send(json.dumps({"type": "announce", "text": "Queue at 40"}))
    first = next_of(ana, "announcement")
    sup.send(json.dumps({"type": "edit", "id": first["id"], "text": "Queue at 60"}))
    edited = next_of(ana, "announcement")
    assert (edited["id"], edited["text"]) == (first["id"], "Queue at 60")
    assert edited["seq"] > first["seq"]  # type: ignore[operator]
    sup.send(json.dumps({"type": "retract", "id": first["id"]}))
    assert next_of(ana, "retracted")["id"] == first["id"]
    _, backlog = session(server, token(server, "agent", "late"))
    assert [m for m in backlog if m["type"] == "announcement"] == []


def test_expired_announcements_are_not_delivered(server: Running) -> None:
    sup, _ = session(server, token(server, "admin", "maria"))
    sup.send(
        json.dumps({"type": "announce", "text": "Lunch at noon", "expires_at": time.time() + 0.5})
    )
    next_of(sup, "announcement")
    time.sleep(0.7)
    _, backlog = session(server, token(server, "agent", "ana"))
    assert [m for m in backlog if m["type"] == "announcement"] == []


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_message"),
        ('{"type":"announce","text":"<b>hi</b>"}', "bad_message"),
        ('{"type":"announce","text":"x","colour":1}', "bad_message"),
        ('{"type":"ack","id":"missing"}', "not_found"),
    ],
)
def test_bad_input_gets_an_error_and_the_connection_survives(
    server: Running, frame: str, code: str
) -> None:
    sup, _ = session(server, token(server, "admin", "maria"))
    sup.send(frame)
    assert next_of(sup, "error")["code"] == code
    sup.send(json.dumps({"type": "announce", "text": "still here"}))
    assert next_of(sup, "announcement")["text"] == "still here"


def test_oversize_frames_close_that_connection_only(server: Running) -> None:
    sup, _ = session(server, token(server, "admin", "maria"))
    other, _ = session(server, token(server, "agent", "ana"))
    sup.send(json.dumps({"type": "announce", "text": "x" * 20000}))
    with pytest.raises(Exception, match="1009"):
        sup.recv(timeout=30)
    sup2, _ = session(server, token(server, "admin", "maria2"))
    sup2.send(json.dumps({"type": "announce", "text": "others are fine"}))
    assert next_of(other, "announcement")["text"] == "others are fine"


def test_a_flood_is_rate_limited_then_closed(server: Running) -> None:
    sup, _ = session(server, token(server, "admin", "maria"))
    with contextlib.suppress(ConnectionClosed):  # the server may close before the last send
        for i in range(40):
            sup.send(json.dumps({"type": "ack", "id": f"x{i}"}))
    codes = []
    closed = None
    try:
        while True:
            codes.append(json.loads(sup.recv(timeout=30))["code"])
    except ConnectionClosed as exc:
        closed = exc
    assert "rate_limited" in codes
    assert closed is not None
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1008


def test_a_restart_loses_nothing_and_repeats_nothing(server: Running) -> None:
    received: list[Message] = []
    states: list[str] = []
    client = MarqueeClient(
        server.url, token(server, "agent", "ana"), on_message=received.append,
        on_state=states.append, backoff=(0.2, 1.0),
    )  # fmt: skip
    sup_token = token(server, "admin", "maria")
    client.start()
    assert client.wait_connected(5)
    sup, _ = session(server, sup_token)
    sup.send(json.dumps({"type": "announce", "text": "one"}))
    deadline = time.time() + 5
    while not any(isinstance(m, Announcement) for m in received) and time.time() < deadline:
        time.sleep(0.05)
    sup.close()
    server.stop()  # the server goes down...
    store = MarqueeStore(server.db)  # ...and while it is down, supervisors keep announcing
    from agent_assist.marquee.protocol import Announce

    store.announce(Announce(text="two"), author="maria")
    store.announce(Announce(text="three"), author="maria")
    server.start()  # same port, same database
    deadline = time.time() + 15
    while sum(isinstance(m, Announcement) for m in received) < 3 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # anything duplicated would arrive by now
    client.stop()
    texts = [m.text for m in received if isinstance(m, Announcement)]
    assert texts == ["one", "two", "three"]
    assert any(s.startswith("disconnected") for s in states)


def test_cli_send_list_receipts_retract_listen(server: Running, tmp_path: Path) -> None:
    sup = token(server, "admin", "maria")
    agent = token(server, "agent", "ana", site="manila")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent_assist", "marquee", *args, "--server", server.url],
                              capture_output=True, text=True, timeout=240, check=False)  # fmt: skip

    sent = cli(
        "send", "Outage in region 3", "--priority", "urgent", "--site", "manila", "--token", sup
    )
    assert sent.returncode == 0, sent.stderr
    announcement_id = sent.stdout.strip()
    listened = cli("listen", "--jsonl", "--ack", "--count", "1", "--token", agent)
    event = json.loads(listened.stdout)
    assert (event["type"], event["id"], event["priority"]) == ("marquee", announcement_id, "urgent")
    deadline = time.monotonic() + 60  # until the server has stored the ack
    while True:
        receipts = json.loads(cli("receipts", announcement_id, "--json", "--token", sup).stdout)
        if receipts["seen"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [s["name"] for s in receipts["seen"]] == ["ana"]
    assert announcement_id in cli("list", "--token", sup).stdout
    assert cli("retract", announcement_id, "--token", sup).returncode == 0
    assert "no active announcements" in cli("list", "--token", sup).stdout
    refused = cli("send", "hi", "--token", agent)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "agent-assist: the server said: agents cannot announce"
    wrong = cli("list", "--token", "bogus")
    assert wrong.stderr.strip() == "agent-assist: the server refused this token"


def test_token_create_prints_a_token_the_server_accepts(server: Running, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agent_assist", "token", "create", "--role", "agent", "--name", "dee", "--db", str(server.db)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert out.returncode == 0
    ws, backlog = session(server, out.stdout.strip())
    assert backlog[0]["type"] == "welcome"
    assert backlog[0]["name"] == "dee"
    ws.close()


def test_a_server_that_hangs_up_before_answering_is_retried_like_any_lost_connection() -> None:
    """A node killed between accepting and answering (websockets' InvalidMessage) must not end
    the client's thread: it reports the disconnection and keeps trying."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    accepted = 0
    over = threading.Event()

    def hang_up() -> None:
        nonlocal accepted
        while not over.is_set():
            try:
                peer, _ = listener.accept()
            except TimeoutError:
                continue
            accepted += 1
            peer.recv(4096)  # the client's HTTP request, then no answer at all
            peer.close()

    server = threading.Thread(target=hang_up, daemon=True)
    server.start()
    states: list[str] = []
    client = MarqueeClient(
        f"ws://127.0.0.1:{port}/", "t", on_message=lambda m: None, on_state=states.append,
        backoff=(0.05, 0.1),
    )  # fmt: skip
    client.start()
    try:
        deadline = time.monotonic() + 20
        while accepted < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert accepted >= 3  # it came back after each hang-up
        assert client._thread.is_alive()
        assert any(s.startswith("disconnected: no valid answer from the server") for s in states)
    finally:
        client.stop()
        over.set()
        server.join(5)
        listener.close()
