"""``agent-assist marquee listen`` across a server restart: it reconnects and resumes, or,
with ``--once``, ends at the first disconnect."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.marquee.protocol import Announce
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, next_of, open_session


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "marquee.db"


@pytest.fixture
def node(db: Path) -> Iterator[Node]:
    running = Node(lambda: MarqueeStore(db)).start()
    yield running
    with contextlib.suppress(Exception):
        running.stop()


def listen(
    node: Node, token_file: Path, *extra: str
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "agent_assist", "marquee", "listen", "--server", node.url,
         "--token-file", str(token_file), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def announce(node: Node, token: str, text: str) -> None:
    with contextlib.ExitStack() as stack:
        ws, _ = open_session(stack, node.url, token)
        ws.send(json.dumps({"type": "announce", "text": text}))
        next_of(ws, "announcement")


def secret(tmp_path: Path, token: str) -> Path:
    path = tmp_path / "token"
    path.write_text(token)
    path.chmod(0o600)
    return path


def test_listen_reconnects_after_a_restart_and_prints_each_announcement_once(
    node: Node, db: Path, tmp_path: Path
) -> None:
    store = MarqueeStore(db)
    admin = store.create_token(role="admin", name="it")
    process, lines = listen(
        node,
        secret(tmp_path, store.create_token(role="agent", name="ana")),
        "--jsonl",
        "--count",
        "3",
    )
    try:
        announce(node, admin, "one")
        assert json.loads(lines.get(timeout=20))["text"] == "one"
        node.stop()  # a deploy: the server goes away...
        store.announce(Announce(text="two"), author="it")  # ...a change lands meanwhile...
        node.start()  # ...and it is back on the same port
        announce(node, admin, "three")
        texts = [json.loads(lines.get(timeout=30))["text"] for _ in range(2)]
        assert texts == ["two", "three"]
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "reconnecting" in err
    assert "connected again; resuming" in err


def test_listen_once_ends_at_the_first_disconnect(node: Node, db: Path, tmp_path: Path) -> None:
    store = MarqueeStore(db)
    admin = store.create_token(role="admin", name="it")
    process, lines = listen(
        node, secret(tmp_path, store.create_token(role="agent", name="ana")), "--once"
    )
    try:
        announce(node, admin, "one")
        assert lines.get(timeout=20).startswith("[info] one")
        node.stop()
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1
    assert err.strip() == "agent-assist: the marquee server closed the connection"


def test_listen_with_a_revoked_or_unknown_token_is_one_line(node: Node, tmp_path: Path) -> None:
    process, _ = listen(node, secret(tmp_path, "not-a-token"))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.strip() == "agent-assist: the marquee server refused this token"
