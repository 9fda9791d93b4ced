"""The cache meets the server (kb_cache.exchange): push and sync with the transport injected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent_assist.errors import RetryLaterError
from agent_assist.marquee.protocol import Submit
from kb_cache.cache import open_db
from kb_cache.exchange import push, sync
from kb_cache.outbox import Rejected, pending, submit_resolution
from kb_cache.sync import synced_version


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_db(tmp_path / "kb.db")


def test_push_sends_each_resolution_as_a_submit_with_its_own_ref(db) -> None:  # type: ignore[no-untyped-def]
    submit_resolution(db, title="Reset a PIN", steps="Cards, then Reset PIN.", triggers=["pin"])
    submit_resolution(db, title="Freeze a card", steps="Cards, then Freeze.")
    delivered: list[Submit] = []
    assert push(db, delivered.append) == (2, 0)
    assert [(m.title, m.triggers) for m in delivered] == [
        ("Reset a PIN", ("pin",)),
        ("Freeze a card", ()),
    ]
    assert len({m.ref for m in delivered}) == 2
    assert pending(db) == []


def test_what_the_server_would_refuse_is_rejected_without_being_sent(db) -> None:  # type: ignore[no-untyped-def]
    submit_resolution(db, title="<b>Reset</b> a PIN", steps="Cards, then Reset PIN.")
    delivered: list[Submit] = []
    assert push(db, delivered.append) == (0, 0)
    assert delivered == []
    state, reason = db.execute("SELECT state, last_error FROM outbox").fetchone()
    assert state == "rejected"
    assert "markup" in reason


def test_a_transport_that_says_later_keeps_the_queue_in_order(db) -> None:  # type: ignore[no-untyped-def]
    submit_resolution(db, title="First", steps="one")
    submit_resolution(db, title="Second", steps="two")

    def unreachable(message: Submit) -> None:
        raise RetryLaterError("not connected")

    assert push(db, unreachable) == (0, 2)
    assert [p.payload["title"] for p in pending(db)] == ["First", "Second"]


def test_a_refusal_for_good_marks_only_that_resolution(db) -> None:  # type: ignore[no-untyped-def]
    submit_resolution(db, title="First", steps="one")
    submit_resolution(db, title="Second", steps="two")
    sent: list[str] = []

    def deliver(message: Submit) -> None:
        if message.title == "First":
            raise Rejected("forbidden")
        sent.append(message.title)

    assert push(db, deliver) == (1, 0)
    assert sent == ["Second"]


def test_sync_asks_for_changes_since_the_cache_version_and_applies_them(db) -> None:  # type: ignore[no-untyped-def]
    asked: list[int] = []

    def changes(since: int) -> dict[str, Any]:
        asked.append(since)
        article = {"id": "pin-reset", "title": "PIN reset", "body": "Use the app."}
        return {"format": 1, "since": since, "version": 3, "articles": [article], "deleted": []}

    outcome = sync(db, changes, embedder=None)
    assert asked == [0]
    assert (outcome.since, outcome.version, outcome.changed) == (0, 3, True)
    assert outcome.result is not None
    assert outcome.result.added == 1
    assert synced_version(db) == 3


def test_sync_at_the_servers_version_changes_nothing(db) -> None:  # type: ignore[no-untyped-def]
    outcome = sync(db, lambda since: {"format": 1, "version": since}, embedder=None)
    assert (outcome.version, outcome.changed) == (0, False)
    assert synced_version(db) == 0


def test_only_an_empty_default_cache_is_filled_with_the_demo(tmp_path: Path) -> None:
    told: list[str] = []
    named = open_db(tmp_path / "named.db", seed_demo=True, notify=told.append)
    assert named["articles"].count == 0  # a cache the caller named is never filled
    assert told == []
