"""A real server against hostile and careless input: bad text and numbers, floods, tokens."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, RedisServer, next_of, open_session, quiet


@pytest.fixture
def store(tmp_path: Path) -> MarqueeStore:
    return MarqueeStore(tmp_path / "marquee.db")


@pytest.fixture
def node(tmp_path: Path, store: MarqueeStore) -> Iterator[Node]:
    running = Node(lambda: MarqueeStore(tmp_path / "marquee.db"), metrics_token="m3tr1cs").start()
    yield running
    running.stop()


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as opened:
        yield opened


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


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


def test_rate_limits_are_per_token_across_connections(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack
) -> None:
    tok = store.create_token(role="admin", name="it")
    pool = [open_session(stack, node.url, tok)[0] for _ in range(8)]
    for i in range(8 * 20):  # 20 each would be 160 in all
        with contextlib.suppress(ConnectionClosed):
            pool[i % 8].send(json.dumps({"type": "announce", "text": f"flood {i}"}))
    time.sleep(1.0)
    stored = len(store.active())
    assert 20 <= stored <= 22  # one budget of 20 per 10 s (plus what refilled meanwhile)


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


def test_token_list_and_revoke_and_a_revoked_token_is_disconnected(
    node: Node, store: MarqueeStore, stack: contextlib.ExitStack, tmp_path: Path
) -> None:
    db = str(tmp_path / "marquee.db")
    made = cli(
        "token",
        "create",
        "--role",
        "supervisor",
        "--name",
        "maria",
        "--site",
        "manila",
        "--site",
        "cebu",
        "--db",
        db,
    )
    assert made.returncode == 0, made.stderr
    tok = made.stdout.strip()
    listing = [
        json.loads(line) for line in cli("token", "list", "--json", "--db", db).stdout.splitlines()
    ]
    (maria,) = [t for t in listing if t["name"] == "maria"]
    assert (maria["role"], maria["site"], maria["revoked_at"]) == (
        "supervisor",
        "manila,cebu",
        None,
    )
    assert tok not in json.dumps(listing)  # only ids, never tokens
    ws, backlog = open_session(stack, node.url, tok)
    assert backlog[0]["site"] == "manila,cebu"
    revoked = cli("token", "revoke", maria["id"], "--db", db)
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(ConnectionClosed) as closed:
        quiet(ws, 15)  # the server closes it within seconds
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "this token was revoked")
    with pytest.raises(InvalidStatus):
        open_session(stack, node.url, tok)
    again = cli("token", "revoke", "maria", "--db", db)
    assert (again.returncode, again.stderr.strip()) == (
        1,
        "agent-assist: no live token has the id or name 'maria' (see: token list)",
    )
    bad = cli("token", "create", "--role", "supervisor", "--name", "x", "--db", db)
    assert bad.returncode == 2
    assert "needs --site" in bad.stderr


def test_token_list_and_revoke_in_redis() -> None:
    redis = RedisServer()
    try:
        made = cli(
            "token",
            "create",
            "--role",
            "agent",
            "--name",
            "ana",
            "--site",
            "manila",
            "--redis",
            redis.url,
        )
        assert made.returncode == 0, made.stderr
        listing = cli("token", "list", "--redis", redis.url).stdout
        assert "agent" in listing
        assert "ana" in listing
        assert "revoked" not in listing
        assert cli("token", "revoke", "ana", "--redis", redis.url).returncode == 0
        assert "revoked" in cli("token", "list", "--redis", redis.url).stdout
    finally:
        redis.stop()


def test_commands_read_the_token_from_a_file_or_the_environment(
    node: Node, store: MarqueeStore, tmp_path: Path
) -> None:
    tok = store.create_token(role="admin", name="it")
    secret = tmp_path / "token"
    secret.write_text(tok + "\n")
    secret.chmod(0o600)
    by_file = cli(
        "marquee", "send", "From a file", "--server", node.url, "--token-file", str(secret)
    )
    assert by_file.returncode == 0, by_file.stderr
    by_env = cli("marquee", "list", "--server", node.url, env={"AGENT_ASSIST_TOKEN": tok})
    assert "From a file" in by_env.stdout
    secret.chmod(0o644)
    warned = cli("marquee", "list", "--server", node.url, "--token-file", str(secret))
    assert "readable by other users" in warned.stderr
    missing = cli("marquee", "list", "--server", node.url, "--token-file", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "cannot read the token file" in missing.stderr


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
