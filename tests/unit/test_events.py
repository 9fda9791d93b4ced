"""The event vocabulary: exact JSON round trip and clear rejection of bad input."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_assist.errors import EventFormatError
from agent_assist.events import (
    ArticleRef,
    Call,
    ErrorEvent,
    Flag,
    Level,
    Marquee,
    Mute,
    Status,
    Suggestion,
    Utterance,
    Word,
    decode,
    decode_lines,
    encode,
)

# The examples of ARCHITECTURE.md §2, verbatim.
DOC_EXAMPLES = [
    '{"type":"call","t":0.0,"state":"started"}',
    '{"type":"mute","t":12.5,"muted":true,"source":"cti"}',
    '{"type":"level","t":12.6,"channel":"agent","dbfs":-21.4,"speech":true}',
    '{"type":"utterance","t":14.1,"channel":"agent","final":false,"text":"let me check",'
    '"start":13.2,"end":14.1,"words":[{"word":"let","start":13.2,"end":13.4,"conf":0.93}]}',
    '{"type":"flag","t":14.3,"kind":"rudeness","severity":"warning","channel":"agent",'
    '"evidence":"calm down","tip":"Acknowledge the frustration, then explain the next step."}',
    '{"type":"suggestion","t":15.0,"articles":[{"id":"card-arrival","title":"...","score":0.82}]}',
    '{"type":"marquee","t":20.0,"id":"...","text":"...","priority":"urgent"}',
]


@pytest.mark.parametrize("line", DOC_EXAMPLES)
def test_documented_examples_round_trip_byte_for_byte(line: str) -> None:
    assert encode(decode(line)) == line


def test_every_event_type_round_trips() -> None:
    events = [
        Call(t=0.0, state="hold"),
        Mute(t=1.0, muted=False, source="os"),
        Level(t=1.1, channel="customer", dbfs=-100.0, speech=False),
        Utterance(t=2.0, channel="agent", final=True, text="네", start=1.2, end=1.9),
        Utterance(
            t=2.5,
            channel="customer",
            final=True,
            text="hi there",
            start=1.0,
            end=2.0,
            words=(Word("hi", 1.0, 1.4, 0.5), Word("there", 1.4, 2.0, 1.0)),
        ),
        Flag(t=3.0, kind="hot_mic", severity="critical", channel="agent", evidence="x", tip="y"),
        Suggestion(t=4.0, articles=(ArticleRef("a", "A", 0.5, snippet="s", department="d"),)),
        Suggestion(t=4.1, articles=()),
        Marquee(t=5.0, id="m1", text="Outage in region 3", priority="info"),
        ErrorEvent(t=6.0, code="device_lost", message="unplugged", channel="agent"),
        ErrorEvent(t=6.5, code="x", message="no channel"),
        Status(t=7.0, channel="customer", state="listening", detail="back"),
    ]
    for event in events:
        assert decode(encode(event)) == event


def test_wire_form_puts_type_and_t_first_and_omits_absent_optionals() -> None:
    line = encode(Utterance(t=1.0, channel="agent", final=False, text="a", start=0.5, end=1.0))
    assert list(json.loads(line)) == ["type", "t", "channel", "final", "text", "start", "end"]


def test_integer_times_are_accepted_as_floats() -> None:
    event = decode('{"type":"call","t":3,"state":"ended"}')
    assert event == Call(t=3.0, state="ended")
    assert isinstance(event.t, float)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    assert decode('{"type":"call","t":1.5,"state":"resumed","vendor":"x"}') == Call(1.5, "resumed")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"t": 1}', "no 'type'"),
        ('{"type":"telepathy","t":1}', "unknown event type 'telepathy'"),
        ('{"type":"call","t":1}', "missing 'state'"),
        ('{"type":"call","t":"1","state":"started"}', "call.t must be a number"),
        ('{"type":"call","t":true,"state":"started"}', "call.t must be a number"),
        ('{"type":"call","t":1,"state":"paused"}', "call.state must be one of"),
        ('{"type":"mute","t":1,"muted":"yes","source":"cti"}', "must be true or false"),
        ('{"type":"level","t":1,"channel":"boss","dbfs":-3,"speech":true}', "level.channel"),
        (
            '{"type":"utterance","t":1,"channel":"agent","final":true,"text":"a","start":0,'
            '"end":1,"words":[{"word":"a"}]}',
            "utterance.words[0] is missing 'start'",
        ),
        ('{"type":"suggestion","t":1,"articles":{}}', "suggestion.articles must be a list"),
        ('{"type":"call","t":NaN,"state":"started"}', "NaN is not a number JSON allows"),
        ('{"type":"call","t":1e999,"state":"started"}', "must be finite"),
    ],
)
def test_bad_events_are_rejected_with_a_clear_message(line: str, message: str) -> None:
    with pytest.raises(EventFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode(line)


def test_decode_lines_reports_bad_lines_by_number_and_keeps_going() -> None:
    lines = [
        '{"type":"call","t":0,"state":"started"}\n',
        "\n",
        "{broken\n",
        '{"type":"call","t":9,"state":"ended"}\n',
    ]
    results = list(decode_lines(lines))
    assert results[0] == Call(0.0, "started")
    assert isinstance(results[1], EventFormatError)
    assert results[1].line == 3
    assert str(results[1]).startswith("line 3: not valid JSON")
    assert results[2] == Call(9.0, "ended")


def test_events_are_immutable() -> None:
    event = Call(t=0.0, state="started")
    with pytest.raises(AttributeError):
        event.t = 1.0  # type: ignore[misc]


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
words = st.builds(Word, word=st.text(min_size=1), start=finite, end=finite, conf=finite)


@given(
    t=finite,
    text=st.text(),
    final=st.booleans(),
    start=finite,
    end=finite,
    ws=st.none() | st.lists(words, max_size=4).map(tuple),
)
def test_any_utterance_round_trips_exactly(
    t: float, text: str, final: bool, start: float, end: float, ws: tuple[Word, ...] | None
) -> None:
    event = Utterance(t=t, channel="agent", final=final, text=text, start=start, end=end, words=ws)
    assert decode(encode(event)) == event


@given(st.text(max_size=200))
def test_decoding_arbitrary_text_never_crashes_with_anything_but_event_format_error(
    line: str,
) -> None:
    with contextlib.suppress(EventFormatError):
        decode(line)
