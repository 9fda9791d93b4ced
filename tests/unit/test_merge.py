"""Merging per-channel event streams into one stream ordered by time."""

from __future__ import annotations

from agent_assist.events import Level
from agent_assist.merge import OrderedMerge


def level(t: float, channel: str = "agent") -> Level:
    return Level(t=t, channel=channel, dbfs=-20.0, speech=False)  # type: ignore[arg-type]


def test_an_event_waits_until_every_open_source_has_caught_up() -> None:
    merge = OrderedMerge(["agent", "customer"])
    assert merge.push("agent", level(1.0)) == []
    assert merge.push("agent", level(2.0)) == []
    assert merge.push("customer", level(1.5, "customer")) == [level(1.0), level(1.5, "customer")]
    assert merge.push("customer", level(3.0, "customer")) == [level(2.0)]


def test_closing_a_source_releases_what_was_waiting_for_it() -> None:
    merge = OrderedMerge(["agent", "customer"])
    merge.push("agent", level(1.0))
    merge.push("agent", level(2.0))
    assert merge.close("customer") == [level(1.0), level(2.0)]
    assert merge.close("agent") == []


def test_equal_times_keep_arrival_order() -> None:
    merge = OrderedMerge(["a"])
    first, second = level(1.0), level(1.0, "customer")
    assert merge.push("a", first) == [first]
    assert merge.push("a", second) == [second]
