"""The after-call summary (lane: unit): every field, on the demo call and on a call with hold
and mute, through the real session (risk engine, suggester, script engine, summarizer)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent_assist.app.demo import DEMO_CALL
from agent_assist.events import (
    Adherence,
    ArticleRef,
    Call,
    Channel,
    Commitment,
    Event,
    Flag,
    Level,
    Mute,
    Script,
    Summary,
    Utterance,
    decode,
    decode_lines,
    encode,
)
from agent_assist.scripts import ScriptEngine, load_script_pack
from agent_assist.session import CallSession, feed_and_answer
from agent_assist.suggest import SearchRequest, SearchResults

CARD = ArticleRef("card-arrival", "Card has not arrived yet", 0.84)


def card_search(request: SearchRequest) -> SearchResults:
    """A small fake at the knowledge seam: the card article for card talk."""
    return SearchResults(request.id, request.t, (CARD,) if "card" in request.query else ())


def summarise(events: Sequence[Event], *, script: bool = False) -> tuple[Summary, list[Event]]:
    engine = ScriptEngine(load_script_pack("northwind")) if script else None
    session = CallSession(suggest=True, script=engine, summary=True)
    out = [o for event in events for o in feed_and_answer(session, event, card_search)]
    summaries = [e for e in out if isinstance(e, Summary)]
    assert len(summaries) == 1
    return summaries[0], out


def demo_events() -> list[Event]:
    with open(DEMO_CALL, encoding="utf-8") as handle:
        return [e for e in decode_lines(handle) if not isinstance(e, Exception)]


def spoken(events: Sequence[Event], channel: str) -> float:
    return sum(
        e.end - e.start
        for e in events
        if isinstance(e, Utterance) and e.final and e.channel == channel
    )


@pytest.fixture(scope="module")
def demo() -> tuple[Summary, list[Event]]:
    return summarise(demo_events(), script=True)


# -- the demo call ------------------------------------------------------------------------


def test_demo_duration_hold_mute_and_dead_air(demo: tuple[Summary, list[Event]]) -> None:
    summary, _ = demo
    assert summary.t == summary.duration == 116.0
    assert summary.hold == 0.0
    assert summary.mute == 6.6  # muted from 27.0 s to 33.6 s
    assert summary.dead_air == 0.0  # nobody is ever silent for 5 s on the live line


def test_demo_talk_time_per_channel(demo: tuple[Summary, list[Event]]) -> None:
    summary, _ = demo
    events = demo_events()
    for channel, talked in (("agent", summary.talk.agent), ("customer", summary.talk.customer)):
        phrases = spoken(events, channel)  # level windows reach at most 0.25 s before a phrase
        assert phrases <= talked <= phrases + 0.25 * 22, channel


def test_demo_reason_is_the_opening_request_and_its_article(
    demo: tuple[Summary, list[Event]],
) -> None:
    summary, _ = demo
    assert summary.reason is not None
    assert summary.reason.text == (
        "hi I ordered a new card two weeks ago and it still has not arrived"
    )
    assert (summary.reason.article, summary.reason.title) == (CARD.id, CARD.title)


def test_demo_articles_suggested_opened_and_used(demo: tuple[Summary, list[Event]]) -> None:
    summary, _ = demo
    assert [(a.id, a.suggested, a.opened, a.used) for a in summary.articles] == [
        ("card-arrival", True, True, True)
    ]


def test_demo_commitments_are_the_agents_promises_with_their_words(
    demo: tuple[Summary, list[Event]],
) -> None:
    summary, _ = demo
    assert summary.commitments == (
        Commitment(t=75.1, text="i will take care of the top up myself right now"),
    )


def test_demo_script_adherence(demo: tuple[Summary, list[Event]]) -> None:
    summary, out = demo
    assert summary.script == Adherence("card-replacement", done=4, required=5, missed=("identity",))
    missed = [e for e in out if isinstance(e, Script) and e.state == "missed"]
    assert [e.step for e in missed] == ["identity"]


def test_demo_flags_by_kind_are_the_flags_raised(demo: tuple[Summary, list[Event]]) -> None:
    summary, out = demo
    raised: dict[str, int] = {}
    for event in out:
        if isinstance(event, Flag):
            raised[event.kind] = raised.get(event.kind, 0) + 1
    assert {f.kind: f.count for f in summary.flags} == raised
    assert {"hot_mic", "vent_while_muted", "rudeness", "blame_shifting"} <= set(raised)


def test_demo_note_is_plain_text_for_the_crm(demo: tuple[Summary, list[Event]]) -> None:
    summary, _ = demo
    assert summary.note.splitlines() == [
        'Reason: Card has not arrived yet (card-arrival): "hi I ordered a new card two weeks ago '
        'and it still has not arrived"',
        'Follow-up: "i will take care of the top up myself right now" (at 1:15)',
        "Knowledge: Card has not arrived yet (opened, used)",
        "Call: 1:56 long, muted 0:07",
    ]
    assert "hot_mic" not in summary.note  # coaching stays out of the CRM


def test_the_summary_is_the_last_event_of_the_call_and_round_trips(
    demo: tuple[Summary, list[Event]],
) -> None:
    summary, out = demo
    assert out[-1] is summary
    assert decode(encode(summary)) == summary


# -- a call with hold and mute -------------------------------------------------------------


def say(channel: Channel, start: float, end: float, text: str) -> Utterance:
    return Utterance(t=end + 0.3, channel=channel, final=True, text=text, start=start, end=end)


HOLD_AND_MUTE: list[Event] = [
    Call(t=0.0, state="started"),
    say("customer", 1.0, 5.0, "my direct debit was taken twice this month"),
    say("agent", 6.0, 9.0, "let me look into that for you"),
    Call(t=10.0, state="hold"),
    Call(t=40.0, state="resumed"),
    Mute(t=45.0, muted=True, source="cti"),
    say("agent", 46.0, 48.0, "i will call you back tomorrow before noon"),  # muted: not a promise
    Mute(t=52.0, muted=False, source="cti"),
    say("agent", 53.0, 56.0, "i will call you back tomorrow before noon"),
    say("customer", 64.0, 66.0, "okay thanks"),
    Call(t=70.0, state="ended"),
]


def test_hold_and_mute_are_totalled_and_dead_air_is_silence_on_the_live_line() -> None:
    summary, _ = summarise(HOLD_AND_MUTE)
    assert summary.duration == 70.0
    assert summary.hold == 30.0
    assert summary.mute == 7.0
    # silent and live: 40-45 s (after the hold) and 56-64 s; shorter gaps are not dead air
    assert summary.dead_air == 13.0
    assert (summary.talk.agent, summary.talk.customer) == (8.0, 6.0)  # muted talk is talk


def test_a_promise_counts_only_when_the_customer_could_hear_it() -> None:
    summary, _ = summarise(HOLD_AND_MUTE)
    assert summary.commitments == (
        Commitment(t=56.3, text="i will call you back tomorrow before noon"),
    )
    assert "Call: 1:10 long, on hold 0:30, muted 0:07" in summary.note


def test_without_a_script_there_is_no_adherence_and_without_search_no_article() -> None:
    summary, _ = summarise(HOLD_AND_MUTE)
    assert summary.script is None
    assert summary.reason is not None
    assert summary.reason.article is None
    assert summary.articles == ()


def test_mute_sources_that_disagree_are_not_mute() -> None:
    events: list[Event] = [
        Call(t=0.0, state="started"),
        Mute(t=2.0, muted=True, source="cti"),
        Mute(t=2.0, muted=False, source="os"),  # the microphone is live: the customer hears
        Mute(t=8.0, muted=True, source="os"),
        Mute(t=10.0, muted=False, source="cti"),
        Call(t=12.0, state="ended"),
    ]
    summary, _ = summarise(events)
    assert summary.mute == 2.0


def test_levels_count_as_talk_when_nothing_was_recognised() -> None:
    events: list[Event] = [Call(t=0.0, state="started")]
    events += [Level(t=1.0 + i * 0.25, channel="agent", dbfs=-20.0, speech=True) for i in range(9)]
    events.append(Call(t=5.0, state="ended"))
    summary, _ = summarise(events)
    assert summary.talk.agent == 2.0  # eight windows of 0.25 s after the first level
    assert summary.reason is None
    assert summary.note.startswith("Reason: not recorded\nFollow-up: none promised")


def test_logged_flags_are_not_counted_again() -> None:
    events: list[Event] = [
        Call(t=0.0, state="started"),
        Flag(t=1.0, kind="rudeness", severity="warning", channel="agent", evidence="x", tip="y"),
        Call(t=3.0, state="ended"),
    ]
    summary, _ = summarise(events)
    assert summary.flags == ()


def test_every_new_call_is_summarised_afresh() -> None:
    session = CallSession(summary=True)
    for event in HOLD_AND_MUTE:
        session.feed(event)
    out = [
        o
        for e in [Call(t=0.0, state="started"), Call(t=4.0, state="ended")]
        for o in session.feed(e)
    ]
    (summary,) = [e for e in out if isinstance(e, Summary)]
    assert (summary.duration, summary.hold, summary.commitments) == (4.0, 0.0, ())
