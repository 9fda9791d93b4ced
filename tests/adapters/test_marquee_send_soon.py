"""Fire-and-forget sends (MarqueeClient.send_soon): the caller never waits; outcomes come back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.marquee.client import MarqueeClient
from agent_assist.marquee.protocol import Ack, Announce, Audience
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, free_port


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    running = Node(lambda: MarqueeStore(tmp_path / "marquee.db")).start()
    yield running
    running.stop()


class Outcome:
    """Records the callbacks and the thread they came on."""

    def __init__(self) -> None:
        self.came = threading.Event()
        self.sent = False
        self.reason: str | None = None
        self.thread = ""

    def on_sent(self) -> None:
        self.sent, self.thread = True, threading.current_thread().name
        self.came.set()

    def on_failure(self, reason: str) -> None:
        self.reason, self.thread = reason, threading.current_thread().name
        self.came.set()


def test_a_client_that_never_started_reports_at_once(tmp_path: Path) -> None:
    client = MarqueeClient(f"ws://127.0.0.1:{free_port()}/", "t", on_message=lambda m: None)
    outcome = Outcome()
    client.send_soon(Ack(id="a1"), on_sent=outcome.on_sent, on_failure=outcome.on_failure)
    assert outcome.reason == "not connected to the marquee server"
    assert not outcome.sent


def test_a_send_that_cannot_connect_in_time_fails_later_through_the_callback() -> None:
    client = MarqueeClient(
        f"ws://127.0.0.1:{free_port()}/", "t", on_message=lambda m: None, backoff=(0.05, 0.1)
    )
    client.start()
    outcome = Outcome()
    try:
        client.send_soon(
            Ack(id="a1"), on_sent=outcome.on_sent, on_failure=outcome.on_failure, wait=0.3
        )
        assert outcome.came.wait(10)
    finally:
        client.stop()
    assert outcome.reason == "not connected to the marquee server"
    assert outcome.thread == "marquee-client"  # not the caller's: it did not wait
    assert not outcome.sent


def test_a_send_on_a_live_connection_reports_it_was_sent(node: Node, tmp_path: Path) -> None:
    store = MarqueeStore(tmp_path / "marquee.db")
    supervisor = store.create_token(role="supervisor", name="maria", site="manila")
    client = MarqueeClient(node.url, supervisor, on_message=lambda m: None)
    client.start()
    outcome = Outcome()
    try:
        announce = Announce(text="Queue over 40", priority="info", audience=Audience(all=True))
        client.send_soon(
            announce, on_sent=outcome.on_sent, on_failure=outcome.on_failure, wait=60.0
        )
        assert outcome.came.wait(90)  # deadlines on waits, not speed targets
    finally:
        client.stop()
    assert outcome.reason is None
    assert outcome.sent
    assert outcome.thread == "marquee-client"
    # "sent" is the client's side: the server stores it when it has read the frame
    deadline = time.monotonic() + 60
    while not store.active() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [a.text for a in store.active()] == ["Queue over 40"]
