"""The risk engine, one behaviour at a time (events in, flags out, time from the events)."""

from __future__ import annotations

import pytest

from agent_assist.events import Call, Event, Flag, Level, Mute, Utterance, Word
from agent_assist.risk.engine import RiskEngine


@pytest.fixture(scope="module")
def shared_pack():  # type: ignore[no-untyped-def]
    return RiskEngine().pack


@pytest.fixture
def engine(shared_pack) -> RiskEngine:  # type: ignore[no-untyped-def]
    e = RiskEngine(pack=shared_pack)
    e.feed(Call(0.0, "started"))
    return e


def feed(engine: RiskEngine, events: list[Event]) -> list[Flag]:
    return [flag for event in events for flag in engine.feed(event)]


def agent(text: str, t: float, *, final: bool = True, channel: str = "agent") -> Utterance:
    return Utterance(t, channel, final, text, max(0.0, t - 1.0), t)  # type: ignore[arg-type]


def levels(
    channel: str, start: float, end: float, *, speech: bool, dbfs: float = -25.0
) -> list[Level]:
    n = round((end - start) * 10)
    return [Level(round(start + (i + 1) / 10, 3), channel, dbfs, speech) for i in range(n)]  # type: ignore[arg-type]


def kinds(flags: list[Flag]) -> list[str]:
    return [f.kind for f in flags]


# -- hot mic and the three mute sources -------------------------------------------------


def test_venting_on_a_live_line_is_a_hot_mic_flagged_from_the_partial(engine: RiskEngine) -> None:
    partials = [
        agent("this guy", 2.0, final=False),
        agent("this guy is a complete idiot", 2.4, final=False),
    ]
    flags = feed(engine, partials)
    assert kinds(flags) == ["hot_mic"]
    assert flags[0].t == 2.4
    assert flags[0].severity == "critical"
    assert flags[0].evidence == "this guy is a complete idiot"
    # the final of the same phrase does not flag it again
    assert kinds(feed(engine, [agent("this guy is a complete idiot honestly", 3.0)])) == []


@pytest.mark.parametrize("source", ["cti", "os", "app"])
def test_venting_while_muted_is_a_private_nudge_from_any_mute_source(
    engine: RiskEngine, source: str
) -> None:
    engine.feed(Mute(1.0, True, source))  # type: ignore[arg-type]
    flags = feed(engine, [agent("i hate this job", 2.0)])
    assert kinds(flags) == ["vent_while_muted"]
    assert flags[0].severity == "warning"


@pytest.mark.parametrize("source", ["cti", "os", "app"])
def test_unmuting_from_any_source_makes_the_line_live_again(
    engine: RiskEngine, source: str
) -> None:
    engine.feed(Mute(1.0, True, source))  # type: ignore[arg-type]
    engine.feed(Mute(5.0, False, source))  # type: ignore[arg-type]
    assert kinds(feed(engine, [agent("what an idiot", 6.0, final=False)])) == ["hot_mic"]


def test_a_softphone_that_silently_unmutes_gives_a_mismatch_then_a_hot_mic(
    engine: RiskEngine,
) -> None:
    flags = feed(engine, [Mute(1.0, True, "cti"), Mute(1.0, True, "os"), Mute(9.0, False, "os")])
    assert kinds(flags) == ["mute_mismatch"]
    assert "cti says muted, os says live" in flags[0].evidence
    assert kinds(feed(engine, [agent("kill me now", 10.0, final=False)])) == ["hot_mic"]


def test_venting_on_hold_is_not_a_hot_mic(engine: RiskEngine) -> None:
    engine.feed(Call(1.0, "hold"))
    assert kinds(feed(engine, [agent("what a moron", 2.0)])) == ["vent_while_muted"]


def test_profanity_live_is_profanity_muted_is_a_nudge(engine: RiskEngine) -> None:
    assert kinds(feed(engine, [agent("oh damn the system crashed", 1.0)])) == ["profanity"]
    engine.feed(Mute(2.0, True, "app"))
    assert kinds(feed(engine, [agent("oh damn it froze again", 3.0)])) == ["vent_while_muted"]


# -- tone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("sir please calm down", "rudeness"),
        ("i already told you the card is on its way", "rudeness"),
        ("that's not my department", "blame_shifting"),
        ("there's nothing i can do about that", "blame_shifting"),
        ("you'll have to call back tomorrow", "blame_shifting"),
    ],
)
def test_rude_and_blaming_phrases(engine: RiskEngine, text: str, kind: str) -> None:
    assert kinds(feed(engine, [agent(text, 1.0)])) == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "i'm sorry you had a terrible experience",
        "no problem at all",
        "i hate that this happened to you",
        "you said the last agent told you it was not their department",
        "that's not my department but i'll transfer you and stay on the line",
        "whatever works best for you",
        "please assess the class of your account",
    ],
)
def test_tricky_negatives_never_accuse(engine: RiskEngine, text: str) -> None:
    assert not {"rudeness", "blame_shifting", "hot_mic", "profanity"} & set(
        kinds(feed(engine, [agent(text, 1.0)]))
    )


def test_praise_waits_for_the_final(engine: RiskEngine) -> None:
    assert kinds(feed(engine, [agent("i'll take care of this for you", 1.0, final=False)])) == []
    flags = feed(engine, [agent("i'll take care of this for you", 1.5)])
    assert kinds(flags) == ["ownership"]
    assert flags[0].severity == "praise"


def test_the_customer_is_never_coached(engine: RiskEngine) -> None:
    assert feed(engine, [agent("you people are useless damn it", 1.0, channel="customer")]) == []


def test_rudeness_while_muted_is_not_flagged(engine: RiskEngine) -> None:
    engine.feed(Mute(0.5, True, "cti"))
    assert "rudeness" not in kinds(feed(engine, [agent("calm down", 1.0)]))


def test_words_the_recogniser_was_unsure_of_never_fire(engine: RiskEngine) -> None:
    unsure = Utterance(
        2.0, "agent", True, "calm down", 1.0, 2.0,
        words=(Word("calm", 1.0, 1.4, 0.31), Word("down", 1.4, 2.0, 0.95)),
    )  # fmt: skip
    assert feed(engine, [unsure]) == []
    sure = Utterance(
        4.0,
        "agent",
        True,
        "calm down",
        3.0,
        4.0,
        words=(Word("calm", 3.0, 3.4, 0.9), Word("down", 3.4, 4.0, 0.95)),
    )
    assert kinds(feed(engine, [sure])) == ["rudeness"]


def test_evidence_is_scrubbed_of_personal_data(engine: RiskEngine) -> None:
    flags = feed(
        engine,
        [
            agent(
                "calm down your card is four one one one one one one one one one one one one one one one",
                1.0,
            )
        ],
    )
    assert "rudeness" in kinds(flags)
    assert all("four one" not in f.evidence for f in flags)


# -- cool-down, snooze, call boundaries ---------------------------------------------------


def test_the_same_kind_is_not_repeated_within_its_cool_down(engine: RiskEngine) -> None:
    assert kinds(feed(engine, [agent("calm down", 1.0)])) == ["rudeness"]
    assert kinds(feed(engine, [agent("calm down", 20.0)])) == []
    assert kinds(feed(engine, [agent("calm down", 31.5)])) == ["rudeness"]


def test_a_snoozed_kind_stays_quiet_until_the_next_call(engine: RiskEngine) -> None:
    engine.snooze("rudeness")
    assert feed(engine, [agent("calm down", 1.0)]) == []
    engine.feed(Call(100.0, "ended"))
    engine.feed(Call(200.0, "started"))
    assert kinds(feed(engine, [agent("calm down", 201.0)])) == ["rudeness"]


def test_nothing_is_flagged_after_the_call_ends(engine: RiskEngine) -> None:
    engine.feed(Call(5.0, "ended"))
    assert (
        feed(engine, [agent("what an idiot", 6.0), *levels("agent", 6.0, 30.0, speech=False)]) == []
    )


def test_a_bare_transcript_without_call_events_is_analysed() -> None:
    assert kinds(RiskEngine().feed(agent("calm down", 1.0))) == ["rudeness"]


def test_a_snooze_never_silences_a_critical_flag(engine: RiskEngine) -> None:
    """The view's rule too: the customer may be hearing profanity on a live line."""
    engine.snooze("profanity")
    assert "profanity" in kinds(feed(engine, [agent("oh shit", 1.0)]))


def test_unknown_kinds_cannot_be_snoozed(engine: RiskEngine) -> None:
    with pytest.raises(ValueError, match="unknown flag kind"):
        engine.snooze("grumpiness")


# -- timers ---------------------------------------------------------------------------------


def test_talking_while_muted_after_three_seconds_of_speech(engine: RiskEngine) -> None:
    engine.feed(Mute(1.0, True, "os"))
    flags = feed(
        engine, levels("agent", 1.0, 2.0, speech=False) + levels("agent", 2.0, 6.0, speech=True)
    )
    assert kinds(flags) == ["talking_while_muted"]
    assert flags[0].t == pytest.approx(5.0, abs=0.11)


def test_dead_air_when_the_customer_is_left_on_mute(engine: RiskEngine) -> None:
    engine.feed(Mute(10.0, True, "cti"))
    flags = feed(engine, levels("customer", 10.0, 45.0, speech=False))
    assert kinds(flags) == ["dead_air"]
    assert flags[0].t == pytest.approx(40.0, abs=0.11)
    assert "mute" in flags[0].evidence


def test_dead_air_on_hold_uses_the_longer_limit(engine: RiskEngine) -> None:
    engine.feed(Call(10.0, "hold"))
    flags = feed(engine, levels("customer", 10.0, 75.0, speech=False))
    assert kinds(flags) == ["dead_air"]
    assert flags[0].t == pytest.approx(70.0, abs=0.11)


def test_dead_air_when_nobody_speaks_on_a_live_line(engine: RiskEngine) -> None:
    flags = feed(
        engine, levels("agent", 0.0, 5.0, speech=True) + levels("agent", 5.0, 25.0, speech=False)
    )
    assert kinds(flags) == ["dead_air"]
    assert flags[0].t == pytest.approx(20.0, abs=0.11)


def test_a_call_that_ends_first_has_no_dead_air(engine: RiskEngine) -> None:
    engine.feed(Mute(1.0, True, "cti"))
    events: list[Event] = [*levels("agent", 1.0, 20.0, speech=False), Call(20.0, "ended")]
    events += levels("agent", 20.0, 40.0, speech=False)
    assert feed(engine, events) == []


def test_raised_voice_against_the_agents_own_baseline(engine: RiskEngine) -> None:
    steady = levels("agent", 0.0, 8.0, speech=True, dbfs=-26.0)
    loud = levels("agent", 8.0, 10.0, speech=True, dbfs=-14.0)
    flags = feed(engine, steady + loud)
    assert kinds(flags) == ["raised_voice"]
    assert flags[0].t == pytest.approx(9.5, abs=0.11)


def test_a_loud_talker_is_not_raising_their_voice(engine: RiskEngine) -> None:
    assert feed(engine, levels("agent", 0.0, 20.0, speech=True, dbfs=-12.0)) == []


def test_fast_speech_from_word_timings(engine: RiskEngine) -> None:
    words = tuple(
        Word(f"w{i}", 1.0 + i * 0.25, 1.2 + i * 0.25, 0.9) for i in range(30)
    )  # 30 words in 7.45 s
    fast = Utterance(
        9.0, "agent", True, " ".join(w.word for w in words), 1.0, words[-1].end, words=words
    )
    flags = feed(engine, [fast])
    assert kinds(flags) == ["fast_speech"]
    assert flags[0].evidence == "242 words per minute"


def test_normal_pace_is_fine(engine: RiskEngine) -> None:
    words = tuple(Word(f"w{i}", 1.0 + i * 0.4, 1.3 + i * 0.4, 0.9) for i in range(30))  # 150 wpm
    assert (
        feed(engine, [Utterance(14.0, "agent", True, "x", 1.0, words[-1].end, words=words)]) == []
    )


def test_monologue_after_a_minute_without_the_customer(engine: RiskEngine) -> None:
    flags = feed(engine, levels("agent", 0.0, 70.0, speech=True))
    assert kinds(flags) == ["monologue"]
    assert flags[0].t == pytest.approx(60.1, abs=0.11)


def test_the_customer_speaking_breaks_a_monologue(engine: RiskEngine) -> None:
    events: list[Event] = [*levels("agent", 0.0, 40.0, speech=True)]
    events += levels("customer", 40.0, 42.0, speech=True)
    events += levels("agent", 42.0, 90.0, speech=True)
    assert "monologue" not in kinds(feed(engine, events))
