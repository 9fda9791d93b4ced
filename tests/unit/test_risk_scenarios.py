"""Scripted calls (tests/data/scenarios, written from the spec, blind to the code).

Each scenario lists the flags that must be raised, with the window their ``t``
must fall in, and the kinds that must not be raised at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_assist.events import Flag, from_dict
from agent_assist.risk.pack import RulePack, load_pack
from agent_assist.session import CallSession

SCENARIOS = sorted((Path(__file__).parents[1] / "data" / "scenarios").glob("*.json"))


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


def run(pack: RulePack, path: Path) -> tuple[dict[str, object], list[Flag]]:
    scenario = json.loads(path.read_text())
    session = CallSession(pack=pack)
    for raw in scenario["events"]:
        session.feed(from_dict(raw))
    return scenario, session.flags


def test_there_are_enough_scenarios_covering_every_kind_and_mute_source() -> None:
    assert len(SCENARIOS) >= 20
    expected_kinds, sources = set(), set()
    for path in SCENARIOS:
        scenario = json.loads(path.read_text())
        expected_kinds |= {e["kind"] for e in scenario["expected"]}
        sources |= {e["source"] for e in scenario["events"] if e["type"] == "mute"}
    assert expected_kinds >= {
        "hot_mic", "vent_while_muted", "talking_while_muted", "dead_air", "profanity", "rudeness",
        "blame_shifting", "raised_voice", "fast_speech", "monologue", "ownership", "empathy",
    }  # fmt: skip
    assert sources == {"cti", "os", "app"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(pack: RulePack, path: Path) -> None:
    scenario, flags = run(pack, path)
    got = [(f.kind, f.t) for f in flags]
    for want in scenario["expected"]:  # type: ignore[attr-defined]
        hits = [
            t for kind, t in got if kind == want["kind"] and want["t_min"] <= t <= want["t_max"]
        ]
        assert hits, f"expected {want} in {scenario['description']!r}; got {got}"
    forbidden = set(scenario["forbidden"])  # type: ignore[call-overload]
    assert not [g for g in got if g[0] in forbidden], f"forbidden flags raised: {got}"
