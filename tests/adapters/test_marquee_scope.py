"""Scoped roles on a real server: a supervisor addresses and sees only its own sites (and teams).

Sites manila and cebu, each with agents in teams cards and loans; a supervisor for each
site, one for manila's cards team only, and an admin for all of them.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from websockets.sync.client import ClientConnection

from agent_assist.errors import UsageError
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, next_of, open_session, quiet


@pytest.fixture
def node(tmp_path: Path, store: MarqueeStore) -> Iterator[Node]:
    running = Node(lambda: MarqueeStore(tmp_path / "marquee.db"), flag_feed=True).start()
    yield running
    running.stop()


class Floor:
    """Everyone connected: ``floor["ana"]`` is ana's connection."""

    PEOPLE: ClassVar[dict[str, dict[str, Any]]] = {
        "ana": {"role": "agent", "site": "manila", "team": "cards"},
        "bo": {"role": "agent", "site": "manila", "team": "loans"},
        "cy": {"role": "agent", "site": "cebu", "team": "cards"},
        "dee": {"role": "agent", "site": "cebu", "team": "loans"},
        "maria": {"role": "supervisor", "site": ("manila",)},
        "carla": {"role": "supervisor", "site": ("manila",), "team": ("cards",)},
        "lee": {"role": "supervisor", "site": ("cebu",)},
        "it": {"role": "admin"},
    }

    def __init__(self, node: Node, store: MarqueeStore, stack: contextlib.ExitStack) -> None:
        self.tokens = {
            name: store.create_token(name=name, **who) for name, who in self.PEOPLE.items()
        }
        self.ws: dict[str, ClientConnection] = {}
        self.early: dict[str, list[dict[str, Any]]] = {name: [] for name in self.tokens}
        for name, tok in self.tokens.items():
            self.ws[name], _ = open_session(stack, node.url, tok)

    def __getitem__(self, name: str) -> ClientConnection:
        return self.ws[name]

    def announce(self, who: str, text: str, **fields: object) -> dict[str, Any]:
        self.ws[who].send(
            json.dumps({"type": "announce", "text": text, "key": f"k{abs(hash(text))}", **fields})
        )
        while True:
            message = json.loads(self.ws[who].recv(timeout=5))
            if message["type"] in ("announced", "error"):
                return message  # type: ignore[no-any-return]
            self.early[who].append(message)  # for got(): it arrived before the answer

    def got(self, name: str, seconds: float = 0.5) -> list[str]:
        messages, self.early[name] = self.early[name] + quiet(self.ws[name], seconds), []
        return [m["text"] for m in messages if m["type"] == "announcement"]


@pytest.fixture
def floor(node: Node, store: MarqueeStore, stack: contextlib.ExitStack) -> Floor:
    return Floor(node, store, stack)


def test_a_supervisors_announcement_reaches_only_its_own_site(floor: Floor) -> None:
    assert floor.announce("maria", "Manila: use script B")["type"] == "announced"
    assert floor.got("ana") == ["Manila: use script B"]
    assert floor.got("bo") == ["Manila: use script B"]
    assert floor.got("cy", 0.2) == floor.got("dee", 0.2) == []  # 'everyone' = everyone in manila


def test_a_team_announcement_stays_inside_the_senders_site(floor: Floor) -> None:
    floor.announce("maria", "Cards: new fee table", audience={"teams": ["cards"]})
    assert floor.got("ana") == ["Cards: new fee table"]
    assert floor.got("cy", 0.2) == []  # cebu's cards team is not maria's


def test_a_supervisor_cannot_address_another_site_or_team(floor: Floor) -> None:
    refused = floor.announce("maria", "Cebu: go home", audience={"sites": ["cebu"]})
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    assert "cebu" in refused["message"]
    refused = floor.announce("carla", "Loans: hi", audience={"teams": ["loans"]})
    assert refused["code"] == "forbidden"
    assert floor.got("cy", 0.2) == floor.got("bo", 0.2) == []


def test_a_supervisor_does_not_see_another_sites_announcements(floor: Floor) -> None:
    floor.announce("lee", "Cebu only")
    floor.announce("it", "Cebu, from IT", audience={"sites": ["cebu"]})
    assert floor.got("maria") == []
    assert floor.got("it") == ["Cebu only", "Cebu, from IT"]  # the admin sees everything
    floor.announce("it", "Everyone, from IT")
    assert floor.got("maria") == ["Everyone, from IT"]  # it reaches manila too


def test_a_supervisor_cannot_edit_retract_or_read_receipts_of_another_sites_announcement(
    floor: Floor,
) -> None:
    cebu = floor.announce("lee", "Cebu only")["id"]
    everyone = floor.announce("it", "Everyone, from IT")["id"]
    quiet(floor["maria"])
    for request, target, code in (
        ({"type": "edit", "id": cebu, "text": "hijacked"}, cebu, "not_found"),
        ({"type": "retract", "id": cebu}, cebu, "not_found"),
        ({"type": "receipts", "id": cebu}, cebu, "not_found"),
        ({"type": "retract", "id": everyone}, everyone, "forbidden"),  # visible, not maria's
    ):
        floor["maria"].send(json.dumps(request))
        error = next_of(floor["maria"], "error")
        assert (error["code"], error["ref"]) == (code, target)
    assert floor.got("cy") == [
        "Cebu only",
        "Everyone, from IT",
    ]  # untouched: no edit, no retraction


def test_receipts_list_only_the_supervisors_own_agents(floor: Floor) -> None:
    sent = floor.announce("it", "Everyone, from IT")
    for agent in ("ana", "cy"):
        floor[agent].send(json.dumps({"type": "ack", "id": sent["id"]}))
    quiet(floor["maria"])
    floor["maria"].send(json.dumps({"type": "receipts", "id": sent["id"]}))
    receipts = next_of(floor["maria"], "receipt_list")
    assert [s["name"] for s in receipts["seen"]] == ["ana"]
    assert receipts["pending"] == ["bo"]
    floor["it"].send(json.dumps({"type": "receipts", "id": sent["id"]}))
    receipts = next_of(floor["it"], "receipt_list")
    assert sorted(s["name"] for s in receipts["seen"]) == ["ana", "cy"]
    assert receipts["pending"] == ["bo", "dee"]


def test_agents_acknowledge_and_hear_retractions_only_for_what_was_theirs(floor: Floor) -> None:
    manila = floor.announce("maria", "Manila only")["id"]
    floor["cy"].send(json.dumps({"type": "ack", "id": manila}))  # not cy's to acknowledge
    assert next_of(floor["cy"], "error")["code"] == "not_found"
    floor["maria"].send(json.dumps({"type": "receipts", "id": manila}))
    receipts = next_of(floor["maria"], "receipt_list")
    assert receipts["seen"] == []  # cy does not count as having seen it
    floor["maria"].send(json.dumps({"type": "retract", "id": manila}))
    assert next_of(floor["ana"], "retracted")["id"] == manila
    assert [m for m in quiet(floor["cy"]) if m["type"] == "retracted"] == []


def test_the_flag_feed_goes_to_the_agents_own_supervisors(floor: Floor) -> None:
    summary = {"type": "flag_summary", "kind": "hot_mic", "severity": "critical", "at": 1.7e9}
    floor["bo"].send(json.dumps(summary))  # manila, loans
    assert next_of(floor["maria"], "flag_notice")["agent"] == "bo"
    assert next_of(floor["it"], "flag_notice")["agent"] == "bo"
    assert [m for m in quiet(floor["carla"]) if m["type"] == "flag_notice"] == []  # cards only
    assert [m for m in quiet(floor["lee"], 0.2) if m["type"] == "flag_notice"] == []


def test_the_review_queue_shows_and_decides_only_the_supervisors_sites(
    floor: Floor, node: Node
) -> None:
    for agent in ("ana", "cy"):
        floor[agent].send(
            json.dumps({"type": "submit", "ref": "1", "title": f"Fix by {agent}", "body": "Steps."})
        )
        next_of(floor[agent], "submitted")
    status, body = node.get("/kb/review", floor.tokens["maria"])
    assert status == 200
    pending = json.loads(body)["pending"]
    assert [p["author"] for p in pending] == ["ana"]
    status, body = node.get("/kb/review", floor.tokens["it"])
    everything = json.loads(body)["pending"]
    assert [p["author"] for p in everything] == ["ana", "cy"]
    cebu = next(p["id"] for p in everything if p["author"] == "cy")
    floor["maria"].send(json.dumps({"type": "review", "id": cebu, "decision": "reject"}))
    assert next_of(floor["maria"], "error")["code"] == "not_found"
    manila = pending[0]["id"]
    floor["maria"].send(
        json.dumps({"type": "review", "id": manila, "decision": "reject", "reason": "dup"})
    )
    assert next_of(floor["maria"], "reviewed")["id"] == manila
    assert [m for m in quiet(floor["lee"]) if m["type"] == "reviewed"] == []


def test_a_supervisor_token_needs_a_site_and_names_are_checked(store: MarqueeStore) -> None:
    with pytest.raises(UsageError, match="needs --site"):
        store.create_token(role="supervisor", name="sam")
    with pytest.raises(UsageError, match="comma"):
        store.create_token(role="agent", name="x", site="a,b")
    with pytest.raises(UsageError, match="every site"):
        store.create_token(role="admin", name="x", site="manila")


def test_fleet_versions_list_only_the_desktops_in_the_readers_scope(
    floor: Floor, node: Node
) -> None:
    def names(who: str) -> list[str]:
        status, body = node.get("/fleet/versions", floor.tokens[who])
        assert status == 200
        return [c["name"] for c in json.loads(body)["clients"]]

    assert names("it") == sorted(Floor.PEOPLE)  # an admin sees every desktop
    assert names("maria") == ["ana", "bo", "carla", "maria"]  # manila's, supervisors in it too
    assert names("carla") == ["ana", "carla"]  # manila's cards team only
    assert names("lee") == ["cy", "dee", "lee"]
    status, body = node.get("/fleet/versions", floor.tokens["ana"])
    assert (status, body) == (403, b"only supervisors and admins list the fleet's versions\n")


def test_team_stats_are_read_inside_the_readers_scope(floor: Floor, node: Node) -> None:
    day = "2025-03-04"
    for agent in ("ana", "bo", "cy"):
        floor[agent].send(
            json.dumps({"type": "call_stats", "call": f"c-{agent}", "day": day, "duration": 60})
        )
    query = f"/stats?from={day}&to={day}&by=agent"
    deadline = time.monotonic() + 30
    while True:  # the calls are stored asynchronously: wait until the admin sees all three
        _, body = node.get(query, floor.tokens["it"])
        if sorted(r["agent"] for r in json.loads(body)["rows"]) == ["ana", "bo", "cy"]:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.1)

    def agents(who: str) -> list[str]:
        status, body = node.get(query, floor.tokens[who])
        assert status == 200
        return sorted(r["agent"] for r in json.loads(body)["rows"])

    assert agents("maria") == ["ana", "bo"]
    assert agents("carla") == ["ana"]
    assert agents("lee") == ["cy"]
    assert node.get(query, floor.tokens["dee"])[0] == 403
