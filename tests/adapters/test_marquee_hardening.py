"""A real server against hostile and careless input: bad text and numbers, floods, limits.

Tokens on the command line: tests/e2e/test_marquee_tokens.py."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, next_of, open_session, quiet


@pytest.fixture
def node(tmp_path: Path, store: MarqueeStore) -> Iterator[Node]:
    running = Node(lambda: MarqueeStore(tmp_path / "marquee.db"), metrics_token="m3tr1cs").start()
    yield running
    running.stop()


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"announce","text":"spoof \\u202e[URGENT]"}',  # bidi override
        '{"type":"announce","text":"a\\u200bb"}',  # zero-width space
        '{"type":"announce","text":"\\ufeffBOM"}',
        '{"type":"announce","text":"line one\\n[URGENT] fake line"}',
        '{"type":"announce","text":"tab\\there"}',
        '{"type":"announce","text":"\\ud800 lone surrogate"}',
        '{"type":"announce","text":"x","audience":{"sites":[""]}}',
        '{"type":"announce","text":"x","audience":{"sites":[" manila"]}}',
        '{"type":"announce","text":"x","starts_at":1e308}',
        '{"type":"announce","text":"x","expires_at":1000}',  # in the past
        '{"type":"hello","v":1,"last_seq":' + "9" * 31 + "}",
        '{"type":"ack","id":"a1","x":' + "[" * 9 + "]" * 9 + "}",
        '{"type":"receipts","id":"a1","seq":' + "1" * 5000 + "}",  # too many digits
        '{"type":"submit","ref":"1","title":"t","body":"\\ud800"}',
        # the messages other issues added are held to the same rules
        '{"type":"submit","ref":"1","title":"t","body":"b","article_id":"card-arrival",'
        '"triggers":["\\ud800 my card"]}',
        '{"type":"submit","ref":"1","title":"t","body":"b","article_id":"card\\u202earrival",'
        '"triggers":["my card"]}',
        '{"type":"hello","v":1,"version":"1.0\\u200b"}',
        '{"type":"hello","v":1,"channel":"stable\\u2028pilot"}',
        '{"type":"call_stats","call":"c1","day":"2025-01-01\\u202e","duration":10}',
        '{"type":"call_stats","call":"c1","day":"2025-01-01","duration":1e300}',
        '{"type":"call_stats","call":"c1","day":"2025-01-01","duration":10,'
        '"flags":[{"kind":"hot_mic","count":' + "9" * 31 + "}]}",
        '{"type":"call_stats","call":"c1","day":"2025-01-01","duration":10,"flags":[[[[[[[[[]]]]]]]]]}',
    ],
)
def test_bad_text_and_numbers_get_an_error_and_the_connection_survives(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack, frame: str
) -> None:
    ws, _ = open_session(stack, node.url, store.create_token(role="admin", name="it"))
    ws.send(frame)
    assert next_of(ws, "error")["code"] == "bad_message"
    ws.send(json.dumps({"type": "announce", "text": "still here"}))
    assert next_of(ws, "announcement")["text"] == "still here"


def test_a_submission_with_a_lone_surrogate_never_reaches_the_review_queue(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    agent, _ = open_session(stack, node.url, store.create_token(role="agent", name="ana"))
    agent.send('{"type":"submit","ref":"1","title":"t\\ud800","body":"b"}')
    assert next_of(agent, "error")["code"] == "bad_message"
    status, body = node.get("/kb/review", store.create_token(role="admin", name="it"))
    assert (status, json.loads(body)) == (200, {"pending": []})


def test_a_hello_of_another_protocol_version_is_refused(node: Node, store: MarqueeStore) -> None:
    tok = store.create_token(role="agent", name="ana")
    with connect(node.url, additional_headers={"Authorization": f"Bearer {tok}"}) as ws:
        ws.send(json.dumps({"type": "hello", "v": 99}))
        error = json.loads(ws.recv(timeout=5))
        assert error["code"] == "unsupported_version"
        assert "protocol 1, not 99" in error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


def flood(pool: list[ClientConnection], frames: list[str]) -> float:
    """Send ``frames`` round-robin over ``pool``, then wait 1 s; returns the seconds it took
    (the most time the token's budget can have refilled in)."""
    started = time.monotonic()
    for i, frame in enumerate(frames):
        with contextlib.suppress(ConnectionClosed):
            pool[i % len(pool)].send(frame)
    time.sleep(1.0)
    return time.monotonic() - started


def most_allowed(seconds: float) -> int:
    """A token's budget (20 per 10 s) and what can have refilled in ``seconds``."""
    return 20 + int(seconds * 20 / 10) + 1


def test_rate_limits_are_per_token_across_connections(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    tok = store.create_token(role="admin", name="it")
    pool = [open_session(stack, node.url, tok)[0] for _ in range(8)]
    # 20 each would be 160 in all
    took = flood(pool, [json.dumps({"type": "announce", "text": f"flood {i}"}) for i in range(160)])
    stored = len(store.active())
    assert 20 <= stored <= most_allowed(took)  # one budget, however many connections


def test_call_stats_count_against_the_same_per_token_budget(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    tok = store.create_token(role="agent", name="ana", site="manila", team="cards")
    pool = [open_session(stack, node.url, tok)[0] for _ in range(8)]
    frames = [
        json.dumps({"type": "call_stats", "call": f"c{i}", "day": "2025-01-01", "duration": 60})
        for i in range(160)
    ]
    took = flood(pool, frames)
    stored = len(store.stats.calls("2025-01-01", "2025-01-01"))
    assert 20 <= stored <= most_allowed(took)


def test_a_token_holds_a_bounded_number_of_connections(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    tok = store.create_token(role="agent", name="ana")
    for _ in range(10):
        open_session(stack, node.url, tok)
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(node.url, additional_headers={"Authorization": f"Bearer {tok}"}),
    ):
        pass
    assert refused.value.response.status_code == 429
    other = store.create_token(role="agent", name="bo")
    assert open_session(stack, node.url, other)[1][0]["type"] == "welcome"  # others are fine


def test_metrics_need_the_metrics_token_and_nothing_names_the_software(
    node: Node, store: MarqueeStore
) -> None:
    status, _ = node.get("/metrics", store.create_token(role="admin", name="it"))
    assert status == 401
    status, body = node.get("/metrics", "m3tr1cs")
    assert status == 200
    assert b"marquee_capacity" in body
    with urllib.request.urlopen(f"http://127.0.0.1:{node.port}/healthz", timeout=5) as answer:
        assert answer.headers.get("Server") is None
    tok = store.create_token(role="agent", name="ana")
    with connect(node.url, additional_headers={"Authorization": f"Bearer {tok}"}) as ws:
        assert ws.response is not None
        assert "Server" not in ws.response.headers


def test_a_keyed_announce_sent_twice_is_stored_once(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    sup, _ = open_session(stack, node.url, store.create_token(role="admin", name="it"))
    agent, _ = open_session(stack, node.url, store.create_token(role="agent", name="ana"))
    frame = json.dumps({"type": "announce", "text": "Queue at 40", "key": "retry-1"})
    sup.send(frame)
    first = next_of(sup, "announced")
    sup.send(frame)  # the answer was lost; the sender tries again
    second = next_of(sup, "announced")
    assert (second["id"], second["seq"]) == (first["id"], first["seq"])
    got = [m for m in quiet(agent, 0.8) if m["type"] == "announcement"]
    assert [m["id"] for m in got] == [first["id"]]
    assert len(store.active()) == 1


def test_a_flag_summary_from_the_far_future_is_refused(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    agent, _ = open_session(stack, node.url, store.create_token(role="agent", name="ana"))
    agent.send(
        json.dumps({"type": "flag_summary", "kind": "hot_mic", "severity": "critical", "at": 1e300})
    )
    error = next_of(agent, "error")
    assert error["code"] == "bad_message"
    assert "too large" in error["message"]
