"""Announcement state, sans-I/O: de-duplication, the starts/expires window, read receipts."""

from __future__ import annotations

import pytest

from agent_assist.marquee.protocol import (
    Announce,
    Announcement,
    Audience,
    ProtocolError,
    Retracted,
    Submitted,
    Welcome,
    validate,
)
from agent_assist.marquee.state import ClientState

NOW = 1_700_000_000.0


def announcement(
    id: str = "a1",
    seq: int = 1,
    *,
    priority: str = "info",
    text: str = "Queue over 40",
    created_at: float = NOW - 10,
    starts_at: float | None = None,
    expires_at: float | None = None,
) -> Announcement:
    return Announcement(
        id=id,
        seq=seq,
        text=text,
        priority=priority,  # type: ignore[arg-type]
        audience=Audience(all=True),
        author="maria",
        created_at=created_at,
        starts_at=starts_at,
        expires_at=expires_at,
    )


def welcome(seq: int) -> Welcome:
    return Welcome(v=1, role="agent", name="ana", seq=seq)


# -- the window -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_at", "expires_at", "phase"),
    [
        (None, None, "active"),
        (NOW + 60, None, "pending"),
        (NOW, None, "active"),  # a start is inclusive
        (None, NOW, "retired"),  # an expiry is exclusive
        (None, NOW + 1, "active"),
        (NOW + 60, NOW - 1, "retired"),  # expiry wins over a start
    ],
)
def test_the_window_says_pending_active_or_retired(
    starts_at: float | None, expires_at: float | None, phase: str
) -> None:
    a = announcement(starts_at=starts_at, expires_at=expires_at)
    assert a.phase(NOW) == phase
    assert a.is_active(NOW) == (phase == "active")


def test_active_lists_urgent_before_warning_before_info_then_newest() -> None:
    state = ClientState()
    for a in (
        announcement("old-info", 1, created_at=NOW - 50),
        announcement("new-info", 2, created_at=NOW - 5),
        announcement("warn", 3, priority="warning", created_at=NOW - 90),
        announcement("urgent", 4, priority="urgent", created_at=NOW - 99),
        announcement("later", 5, priority="urgent", starts_at=NOW + 60),
        announcement("over", 6, priority="urgent", expires_at=NOW - 1),
    ):
        state.receive(a, NOW)
    assert [a.id for a in state.active(NOW)] == ["urgent", "warn", "new-info", "old-info"]
    assert [a.id for a in state.pending(NOW)] == ["later"]


def test_expire_forgets_retired_announcements_and_names_them() -> None:
    state = ClientState()
    state.receive(announcement("short", 1, expires_at=NOW + 5), NOW)
    state.receive(announcement("long", 2), NOW)
    assert state.expire(NOW) == []
    assert state.expire(NOW + 5) == ["short"]
    assert [a.id for a in state.known()] == ["long"]


# -- de-duplication --------------------------------------------------------------------------


def test_a_change_at_or_below_the_newest_seen_for_its_id_is_ignored() -> None:
    state = ClientState()
    first = announcement("a1", 3, text="first")
    assert state.receive(first, NOW) == [first]
    assert state.receive(first, NOW) == []  # a resume repeats it
    assert state.receive(announcement("a1", 2, text="older"), NOW) == []
    edit = announcement("a1", 5, text="edited")
    assert state.receive(edit, NOW) == [edit]
    assert state.get("a1") == edit
    assert state.last_seq == 5


def test_other_ids_are_not_held_back_by_a_newer_seq() -> None:
    """A scheduled one released late (lower seq) still reaches a view that saw newer ones."""
    state = ClientState()
    state.receive(announcement("b", 9), NOW)
    late = announcement("a", 4)
    assert state.receive(late, NOW) == [late]
    assert state.last_seq == 9


def test_a_retraction_removes_it_and_an_older_copy_cannot_bring_it_back() -> None:
    state = ClientState()
    state.receive(announcement("a1", 1), NOW)
    retraction = Retracted(id="a1", seq=2)
    assert state.receive(retraction, NOW) == [retraction]
    assert state.get("a1") is None
    assert state.receive(announcement("a1", 1), NOW) == []
    assert state.active(NOW) == []


def test_a_server_behind_the_resume_point_was_reset_and_everything_is_taken_again() -> None:
    state = ClientState(last_seq=40)
    state.receive(announcement("a1", 40), NOW)
    assert state.receive(welcome(seq=3), NOW) == [welcome(seq=3)]
    assert state.last_seq == 0
    edited = announcement("a1", 2, text="Queue over 50")  # below 40, but the new count
    assert state.receive(edited, NOW) == [edited]
    assert state.last_seq == 2
    assert state.get("a1") == edited


def test_what_a_reset_server_resends_unchanged_is_taken_but_not_delivered_twice() -> None:
    state = ClientState(last_seq=40)
    state.receive(announcement("a1", 40), NOW)
    state.receive(Retracted(id="a0", seq=39), NOW)
    state.receive(welcome(seq=3), NOW)
    assert state.receive(announcement("a1", 2), NOW) == []  # the same one: nothing new to show
    assert state.receive(Retracted(id="a0", seq=3), NOW) == []
    assert state.last_seq == 3  # taken: the next hello resumes from the new count
    fresh = announcement("a2", 4)
    assert state.receive(fresh, NOW) == [fresh]


def test_a_welcome_of_another_epoch_starts_the_count_again() -> None:
    state = ClientState(last_seq=5, epoch="e1")
    state.receive(announcement("a1", 5), NOW)
    other = Welcome(v=1, role="agent", name="ana", seq=9, epoch="e2")  # ahead, yet another state
    assert state.receive(other, NOW) == [other]
    assert (state.last_seq, state.epoch) == (0, "e2")
    edited = announcement("a1", 2, text="Queue over 50")
    assert state.receive(edited, NOW) == [edited]


def test_a_welcome_of_the_same_epoch_keeps_the_count() -> None:
    state = ClientState(last_seq=5, epoch="e1")
    state.receive(Welcome(v=1, role="agent", name="ana", seq=9, epoch="e1"), NOW)
    assert (state.last_seq, state.epoch) == (5, "e1")
    state = ClientState(last_seq=5)  # an older app that knew no epoch learns it
    state.receive(Welcome(v=1, role="agent", name="ana", seq=9, epoch="e1"), NOW)
    assert (state.last_seq, state.epoch) == (5, "e1")


def test_a_server_ahead_of_the_resume_point_keeps_it() -> None:
    state = ClientState(last_seq=4)
    state.receive(welcome(seq=9), NOW)
    assert state.last_seq == 4


def test_other_messages_pass_through() -> None:
    submitted = Submitted(ref="r1", id="q1")
    assert ClientState().receive(submitted, NOW) == [submitted]


# -- holding scheduled announcements -----------------------------------------------------------


def test_a_scheduled_announcement_is_held_until_it_starts_and_released_once() -> None:
    state = ClientState()
    later = announcement("later", 1, starts_at=NOW + 60)
    assert state.receive(later, NOW) == []
    assert state.next_start() == NOW + 60
    assert state.due(NOW + 59) == []
    assert state.due(NOW + 60) == [later]
    assert state.due(NOW + 61) == []
    assert state.next_start() is None


def test_held_announcements_are_released_soonest_first() -> None:
    state = ClientState()
    state.receive(announcement("second", 1, starts_at=NOW + 20), NOW)
    state.receive(announcement("first", 2, starts_at=NOW + 10), NOW)
    assert state.next_start() == NOW + 10
    assert [a.id for a in state.due(NOW + 30)] == ["first", "second"]


def test_an_edit_reschedules_and_a_retraction_cancels_a_held_announcement() -> None:
    state = ClientState()
    state.receive(announcement("a", 1, starts_at=NOW + 60), NOW)
    state.receive(announcement("a", 2, starts_at=NOW + 120), NOW)
    assert state.due(NOW + 60) == []
    assert [a.seq for a in state.due(NOW + 120)] == [2]
    state.receive(announcement("b", 3, starts_at=NOW + 60), NOW)
    state.receive(Retracted(id="b", seq=4), NOW)
    assert state.next_start() is None
    assert state.due(NOW + 600) == []


def test_an_edit_that_starts_it_now_delivers_it_now() -> None:
    state = ClientState()
    state.receive(announcement("a", 1, starts_at=NOW + 60), NOW)
    now = announcement("a", 2)
    assert state.receive(now, NOW) == [now]
    assert state.due(NOW + 60) == []


# -- read receipts -------------------------------------------------------------------------------


def test_info_and_warning_count_as_seen_once_shown() -> None:
    state = ClientState()
    info, warning = announcement("i", 1), announcement("w", 2, priority="warning")
    assert state.shown(info) is True
    assert state.shown(info) is False  # once
    assert state.shown(warning) is True
    assert state.receipted("i")
    assert state.receipted("w")


def test_an_edit_does_not_ask_for_a_second_receipt() -> None:
    state = ClientState()
    state.shown(announcement("i", 1))
    assert state.shown(announcement("i", 2, text="edited")) is False


def test_urgent_ones_wait_for_acknowledge() -> None:
    state = ClientState()
    urgent = announcement("u", 1, priority="urgent")
    state.receive(urgent, NOW)
    assert urgent.needs_acknowledgement
    assert state.shown(urgent) is False
    assert state.awaiting_acknowledgement(NOW) == urgent
    assert state.acknowledge("u") is True
    assert state.acknowledge("u") is False
    assert state.awaiting_acknowledgement(NOW) is None


def test_the_most_important_active_urgent_waits_first() -> None:
    state = ClientState()
    state.receive(announcement("old", 1, priority="urgent", created_at=NOW - 60), NOW)
    state.receive(announcement("new", 2, priority="urgent", created_at=NOW - 1), NOW)
    state.receive(announcement("later", 3, priority="urgent", starts_at=NOW + 9), NOW)
    assert state.awaiting_acknowledgement(NOW) == state.get("new")
    state.acknowledge("new")
    assert state.awaiting_acknowledgement(NOW) == state.get("old")
    state.acknowledge("old")
    assert state.awaiting_acknowledgement(NOW) is None
    assert state.awaiting_acknowledgement(NOW + 9) == state.get("later")


# -- validate -----------------------------------------------------------------------------------


def test_validate_accepts_what_the_server_accepts() -> None:
    validate(Announce(text="Queue over 40"))


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (Announce(text="<b>hi</b>"), "plain text"),
        (Announce(text="x" * 501), "longer than"),
        (Announce(text="hi", audience=Audience()), "names nobody"),
        (Announce(text="hi", starts_at=NOW, expires_at=NOW), "after starts_at"),
    ],
)
def test_validate_refuses_what_the_server_refuses(message: Announce, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        validate(message)
