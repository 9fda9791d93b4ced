"""After the call, in the app (lane: adapters): the summary kept only where the site allows it,
its numbers shared only where the site opts in, and the call worker following the site's
script to the summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent_assist.app.demo import DEMO_CALL
from agent_assist.app.workers import CallWorker, replay
from agent_assist.app.wrapup import (
    AfterCall,
    call_stats,
    script_pack,
    session_factory,
    shared_text,
)
from agent_assist.config import Settings, load_settings
from agent_assist.events import Event, Flag, Script, Summary, decode
from agent_assist.marquee.protocol import CallStats, Message, encode


class FakeSender:
    """A small fake at the marquee seam: records what would be sent, sends it at once."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def wait_connected(self, timeout: float) -> bool:
        return True

    def send_soon(
        self,
        message: Message,
        *,
        on_failure: Callable[[str], None],
        on_sent: Callable[[], None] | None = None,
        wait: float = 0.0,
    ) -> None:
        self.sent.append(message)
        if on_sent is not None:
            on_sent()


def settings(tmp_path: Path, site: str = "") -> Settings:
    policy = tmp_path / "site.toml"
    policy.write_text(site, encoding="utf-8")
    return load_settings(site=policy, user=None)


def replayed(make: Callable[[], object], after: Callable[[Event], None]) -> list[Event]:
    seen: list[Event] = []

    def emit(event: Event) -> None:
        seen.append(event)
        after(event)

    worker = CallWorker(
        lambda stop: replay(DEMO_CALL, speed=1000.0, stop=stop),
        emit=emit,
        session=make,  # type: ignore[arg-type]
    )
    worker.start()
    worker.join(120)
    assert not worker.is_alive()
    return seen


@pytest.fixture(scope="module")
def demo_summary(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Event], Summary]:
    folder = tmp_path_factory.mktemp("demo")
    problems: list[str] = []
    make = session_factory(settings(folder), demo=True, suggest=False, on_problem=problems.append)
    events = replayed(make, lambda event: None)
    assert problems == []
    (summary,) = [e for e in events if isinstance(e, Summary)]
    return events, summary


def test_the_demo_call_in_the_app_follows_the_built_in_script(
    demo_summary: tuple[list[Event], Summary],
) -> None:
    events, summary = demo_summary
    states = {(e.step, e.state) for e in events if isinstance(e, Script)}
    assert {
        ("greeting", "done"),
        ("fee", "done"),
        ("identity", "due"),
        ("identity", "missed"),
    } <= states
    assert summary.script is not None
    assert summary.script.script == "card-replacement"  # the agent opened the card article
    assert events[-1] is summary
    assert any(isinstance(e, Flag) for e in events)


def test_without_a_pack_there_is_no_script_and_a_bad_pack_is_said_once(tmp_path: Path) -> None:
    assert script_pack(settings(tmp_path), demo=False) is None
    bad = tmp_path / "scripts.toml"
    bad.write_text('[steps.x]\ndue = "later"\nphrases = ["hi"]\n')
    policy = settings(tmp_path, f'[scripts]\npack = "{bad}"\n')
    problems: list[str] = []
    session = session_factory(policy, demo=False, suggest=False, on_problem=problems.append)()
    assert session.script is None
    assert problems == [
        f"No call script: {bad}:2: due must be one of opening, before_hold, before_transfer, closing, any"
    ]


def test_the_summary_is_kept_only_where_the_site_allows(
    tmp_path: Path, demo_summary: tuple[list[Event], Summary]
) -> None:
    _, summary = demo_summary
    kept = tmp_path / "summaries.jsonl"
    AfterCall()(summary)  # the default: shown, not kept
    assert not kept.exists()
    AfterCall(store=kept)(summary)
    (line,) = kept.read_text().splitlines()
    assert decode(line) == summary


def test_stats_are_shared_only_where_the_site_opts_in_and_carry_no_words(
    demo_summary: tuple[list[Event], Summary],
) -> None:
    _, summary = demo_summary
    sender, shown = FakeSender(), list[CallStats]()
    AfterCall()(summary)
    assert sender.sent == []
    AfterCall(client=sender, on_shared=shown.append, today=lambda: "2024-05-07")(summary)
    (stats,) = sender.sent
    assert shown == [stats]  # the agent sees exactly what was sent
    assert isinstance(stats, CallStats)
    assert (stats.day, stats.duration, stats.mute) == ("2024-05-07", 116.0, 6.6)
    assert (stats.script_done, stats.script_required) == (4, 5)
    assert (stats.articles_suggested, stats.articles_opened, stats.articles_used) == (0, 1, 1)
    wire = encode(stats)
    for words in ("card", "arrived", "take care", "identity", "idiot", "Reason"):
        assert words not in wire
    assert set(json.loads(wire)) <= {
        "type", "call", "day", "duration", "talk_agent", "talk_customer", "hold", "mute",
        "dead_air", "script_done", "script_required", "flags", "articles_suggested",
        "articles_opened", "articles_used",
    }  # fmt: skip


def test_the_settings_default_to_keeping_and_sharing_nothing(tmp_path: Path) -> None:
    defaults = settings(tmp_path)
    assert defaults.get("privacy.store_summaries") is False
    assert defaults.get("share.stats") is False
    assert defaults.get("scripts.pack") == ""


def test_each_call_gets_its_own_id(demo_summary: tuple[list[Event], Summary]) -> None:
    _, summary = demo_summary
    first = call_stats(summary, call="a", day="2024-05-07")
    sender = FakeSender()
    after = AfterCall(client=sender)
    after(summary)
    after(summary)
    ids = {m.call for m in sender.sent if isinstance(m, CallStats)}
    assert len(ids) == 2
    assert first.call == "a"


def test_the_agent_is_told_every_number_that_was_shared(
    demo_summary: tuple[list[Event], Summary],
) -> None:
    _, summary = demo_summary
    stats = call_stats(summary, call="a", day="2024-05-07")
    flags = sum(f.count for f in summary.flags)
    assert shared_text(stats) == (
        f"Shared for team stats: a 1:56 call, script 4/5, {flags} flags, knowledge 1 used, "
        "hold 0 s, mute 7 s · numbers only, never your words"
    )
