"""Fixtures the marquee tests share (registered in tests/conftest.py): a server database, a
running node on it, and an exit stack for the sessions a test opens. A test module that needs a
node started differently defines its own ``node``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node


@pytest.fixture
def store(tmp_path: Path) -> MarqueeStore:
    """The server's SQLite database in the test's folder (tokens are created through it)."""
    return MarqueeStore(tmp_path / "marquee.db")


@pytest.fixture
def node(tmp_path: Path, store: MarqueeStore) -> Iterator[Node]:
    """A marquee server on 127.0.0.1 serving ``store``'s database."""
    running = Node(lambda: MarqueeStore(tmp_path / "marquee.db")).start()
    yield running
    running.stop()


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    """Closes whatever the test opened on it (websocket sessions, clients), in reverse order."""
    with contextlib.ExitStack() as opened:
        yield opened
