"""The marquee protocol: strict validation, exact round trip, and a decoder no input can crash."""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_assist.marquee.protocol import (
    MAX_FRAME,
    MAX_TEXT,
    Ack,
    Announce,
    Announcement,
    Audience,
    Directory,
    DirectoryList,
    Edit,
    ErrorMessage,
    Hello,
    Member,
    ProtocolError,
    ReceiptList,
    Retract,
    Retracted,
    Seen,
    Welcome,
    decode,
    encode,
)

MESSAGES = [
    Hello(v=1, last_seq=42, client="agent-assist 0.1"),
    Welcome(v=1, role="supervisor", name="maria", site="manila", team="cards", seq=7),
    Announce(
        text="Outage in region 3: use script B",
        priority="urgent",
        audience=Audience(sites=("manila",)),
        expires_at=2e9,
    ),
    Announce(text="Queue over 40, keep calls short"),
    Edit(id="a-1", text="Outage over"),
    Retract(id="a-1"),
    Ack(id="a-1"),
    Announcement(
        id="a-1",
        seq=3,
        text="hi",
        priority="info",
        audience=Audience(all=True),
        author="maria",
        created_at=1.7e9,
    ),
    Retracted(id="a-1", seq=4),
    ReceiptList(id="a-1", seen=(Seen("ana", 1.7e9),), pending=("ben",)),
    ErrorMessage(code="forbidden", message="agents cannot announce", ref="a-1"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=[type(m).__name__ for m in MESSAGES])
def test_every_message_round_trips(message: object) -> None:
    assert decode(encode(message)) == message  # type: ignore[arg-type]


def test_an_announcement_is_for_everyone_by_default() -> None:
    message = decode('{"type":"announce","text":"hello team"}')
    assert isinstance(message, Announce)
    assert message.audience == Audience(all=True)
    assert message.priority == "info"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"type":"shout","text":"x"}', "unknown message type 'shout'"),
        ('{"type":"announce","text":"x","colour":"red"}', "unknown field 'colour'"),
        ('{"type":"announce","text":"x","priority":"panic"}', "announce.priority must be one of"),
        ('{"type":"announce","text":""}', "announce.text is empty"),
        ('{"type":"announce","text":"' + "x" * (MAX_TEXT + 1) + '"}', "longer than 500"),
        ('{"type":"announce","text":"<script>alert(1)</script>"}', "plain text"),
        ('{"type":"announce","text":"bell\\u0007"}', "U+0007 (a control character)"),
        ('{"type":"announce","text":"x","audience":{"sites":[]}}', "names nobody"),
        ('{"type":"announce","text":"x","starts_at":10,"expires_at":5}', "after starts_at"),
        ('{"type":"ack","id":"../etc"}', "not a valid id"),
        ('{"type":"ack","id":7}', "must be a string"),
        ('{"type":"hello","v":true}', "must be a whole number"),
        ('{"type":"hello","v":1,"last_seq":-1}', "must not be negative"),
    ],
)
def test_bad_messages_are_rejected_with_a_reason(frame: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        decode(frame)


def test_text_with_a_less_than_sign_is_still_plain_text() -> None:
    assert decode('{"type":"announce","text":"Wait times < 5 min again"}')


def test_oversize_frames_and_binary_frames_are_refused() -> None:
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps({"type": "announce", "text": "x" * MAX_FRAME}))
    assert info.value.code == "too_big"
    with pytest.raises(ProtocolError, match="not binary"):
        decode(b'{"type":"ack","id":"a"}')


@settings(max_examples=500)
@given(st.text(max_size=300) | st.binary(max_size=64))
def test_no_input_crashes_the_decoder(frame: str | bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(frame)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=500)
@given(
    st.sampled_from(
        ["hello", "announce", "edit", "retract", "ack", "receipts", "announcement", "receipt_list"]
    ),
    st.dictionaries(
        st.sampled_from(
            ["v", "text", "id", "audience", "priority", "seq", "seen", "last_seq", "x"]
        ),
        json_values,
        max_size=5,
    ),
)
def test_no_structured_input_crashes_the_decoder(kind: str, fields: dict[str, object]) -> None:
    with contextlib.suppress(ProtocolError):
        decode(json.dumps({"type": kind, **fields}))


def test_validate_refuses_what_a_peer_would_refuse() -> None:
    from agent_assist.marquee.protocol import Submit, validate

    validate(Submit(ref="r1", title="Reset a PIN", body="Cards, then Reset PIN."))
    with pytest.raises(ProtocolError, match="markup"):
        validate(Submit(ref="r1", title="<b>Reset</b>", body="Cards."))


# -- the directory: whom a supervisor may address (issue 11, item 15) ------------------------

DIRECTORY = DirectoryList(
    sites=("manila", "cebu"),
    teams=("cards",),
    agents=(Member("Dana", "manila", "cards", online=True), Member("Eli")),
    more=True,
)


def test_a_directory_request_and_its_answer_round_trip() -> None:
    assert decode(encode(Directory())) == Directory()
    assert decode(encode(DIRECTORY)) == DIRECTORY


def test_an_agent_without_site_or_team_is_listed_with_blanks() -> None:
    message = decode('{"type":"directory_list","agents":[{"name":"Eli"}]}')
    assert message == DirectoryList(agents=(Member("Eli", "", "", online=False),))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ('{"type":"directory","sites":["x"]}', "unknown field 'sites'"),
        ('{"type":"directory_list","sites":[""]}', "directory_list.sites: '' is empty"),
        ('{"type":"directory_list","teams":[" a"]}', "has spaces around it"),
        ('{"type":"directory_list","sites":["a,b"]}', "contains a comma"),
        ('{"type":"directory_list","sites":["a","a"]}', "names one twice"),
        ('{"type":"directory_list","sites":["a\\u202eb"]}', "U+202E"),
        ('{"type":"directory_list","agents":[{"name":""}]}', "name '' is empty"),
        ('{"type":"directory_list","agents":[{"name":"a","site":" x"}]}', "site ' x' has spaces"),
        ('{"type":"directory_list","agents":[{"name":"a"},{"name":"a"}]}', "one agent twice"),
        ('{"type":"directory_list","agents":[{"name":"a","online":1}]}', "true or false"),
        ('{"type":"directory_list","agents":[{"name":"a","role":"x"}]}', "unknown field 'role'"),
        ('{"type":"directory_list","agents":{"name":"a"}}', "agents"),
        ('{"type":"directory_list","more":"yes"}', "true or false"),
    ],
)
def test_a_malformed_directory_is_refused_with_a_reason(frame: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        decode(frame)
