"""The directory on a real server: a supervisor learns whom it may address, and who is online.

Sites manila and cebu; agents in teams cards and loans; a supervisor of manila, one of
manila's cards team only, and an admin. Only some agents are connected.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from agent_assist.marquee.protocol import MAX_FRAME
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, next_of, open_session

AGENTS = {
    "ana": ("manila", "cards"),
    "bo": ("manila", "loans"),
    "cy": ("cebu", "cards"),
    "dee": ("cebu", "loans"),
}


@pytest.fixture
def tokens(store: MarqueeStore) -> dict[str, str]:
    made = {
        name: store.create_token(role="agent", name=name, site=site, team=team)
        for name, (site, team) in AGENTS.items()
    }
    made["maria"] = store.create_token(role="supervisor", name="maria", site=("manila",))
    made["carla"] = store.create_token(
        role="supervisor", name="carla", site=("manila",), team=("cards",)
    )
    made["it"] = store.create_token(role="admin", name="it")
    return made


def ask(ws: ClientConnection) -> list[dict[str, Any]]:
    """Send ``directory`` and collect every directory_list frame up to the last."""
    ws.send(json.dumps({"type": "directory"}))
    frames = [next_of(ws, "directory_list")]
    while frames[-1]["more"]:
        frames.append(next_of(ws, "directory_list"))
    return frames


def test_a_site_supervisor_hears_its_sites_teams_and_agents_with_presence(
    node: Node, tokens: dict[str, str], stack: contextlib.ExitStack
) -> None:
    open_session(stack, node.url, tokens["ana"])  # ana is at her desk; bo is not
    maria, _ = open_session(stack, node.url, tokens["maria"])
    [frame] = ask(maria)
    assert frame["sites"] == ["manila"]
    assert frame["teams"] == ["cards", "loans"]
    assert frame["agents"] == [
        {"name": "ana", "site": "manila", "team": "cards", "online": True},
        {"name": "bo", "site": "manila", "team": "loans", "online": False},
    ]


def test_a_team_supervisor_hears_only_its_team(
    node: Node, tokens: dict[str, str], stack: contextlib.ExitStack
) -> None:
    carla, _ = open_session(stack, node.url, tokens["carla"])
    [frame] = ask(carla)
    assert (frame["sites"], frame["teams"]) == (["manila"], ["cards"])
    assert [a["name"] for a in frame["agents"]] == ["ana"]


def test_an_admin_hears_every_site_and_team(
    node: Node, tokens: dict[str, str], stack: contextlib.ExitStack
) -> None:
    it, _ = open_session(stack, node.url, tokens["it"])
    [frame] = ask(it)
    assert frame["sites"] == ["cebu", "manila"]
    assert [a["name"] for a in frame["agents"]] == ["ana", "bo", "cy", "dee"]


def test_presence_follows_an_agent_leaving(
    node: Node, tokens: dict[str, str], stack: contextlib.ExitStack
) -> None:
    with contextlib.ExitStack() as ana_desk:
        open_session(ana_desk, node.url, tokens["ana"])
        maria, _ = open_session(stack, node.url, tokens["maria"])
        assert ask(maria)[0]["agents"][0]["online"] is True
    for _ in range(50):  # the server notices the close within a moment
        if ask(maria)[0]["agents"][0]["online"] is False:
            break
        time.sleep(0.05)
    assert ask(maria)[0]["agents"][0]["online"] is False


def test_agents_may_not_ask_for_the_directory(
    node: Node, tokens: dict[str, str], stack: contextlib.ExitStack
) -> None:
    ana, _ = open_session(stack, node.url, tokens["ana"])
    ana.send(json.dumps({"type": "directory"}))
    error = next_of(ana, "error")
    assert error["code"] == "forbidden"


def test_a_large_site_comes_in_several_frames_each_within_the_limit(
    node: Node, store: MarqueeStore, tokens: dict[str, str], stack: contextlib.ExitStack
) -> None:
    for i in range(400):
        store.create_token(
            role="agent", name=f"agent-{i:03d}-" + "x" * 40, site="manila", team="cards"
        )
    maria, _ = open_session(stack, node.url, tokens["maria"])
    maria.send(json.dumps({"type": "directory"}))
    raw: list[str] = []
    while not raw or json.loads(raw[-1])["more"]:
        frame = maria.recv(timeout=10)
        assert isinstance(frame, str)
        if json.loads(frame)["type"] == "directory_list":
            raw.append(frame)
    assert len(raw) > 1
    assert all(len(frame.encode()) <= MAX_FRAME for frame in raw)
    names = [a["name"] for frame in raw for a in json.loads(frame)["agents"]]
    assert len(names) == 402
    assert len(set(names)) == 402
