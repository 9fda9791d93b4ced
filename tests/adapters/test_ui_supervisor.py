"""The supervisor console: what a supervisor can do with it and what it shows them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from agent_assist.marquee.protocol import (
    Announce,
    Announcement,
    Audience,
    Edit,
    ErrorMessage,
    FlagNotice,
    ReceiptList,
    Receipts,
    Retract,
    Retracted,
    Seen,
    Welcome,
)
from ui.supervisor import FEED_LIMIT, PRIVACY_NOTE, SupervisorConsole
from ui.theme import theme_named

T0 = 1_700_000_000.0
THEME = theme_named("light")


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


class Confirm:
    """Answers the retraction question with ``answer`` and remembers what was asked."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, question: str) -> bool:
        self.asked.append(question)
        return self.answer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def confirm() -> Confirm:
    return Confirm(True)


@pytest.fixture
def console(qtbot: QtBot, clock: Clock, confirm: Confirm) -> SupervisorConsole:
    widget = SupervisorConsole(theme=THEME, now=clock, confirm=confirm)
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def sent(console: SupervisorConsole) -> list[object]:
    messages: list[object] = []
    console.send_requested.connect(messages.append)
    return messages


def announcement(id: str = "a1", text: str = "Card systems down", **changes: Any) -> Announcement:
    """An urgent announcement for everyone, posted by Sam two minutes before ``T0``."""
    made = Announcement(id, 1, text, "urgent", Audience(all=True), "Sam", created_at=T0 - 120)
    return dataclasses.replace(made, **changes)


def test_send_emits_an_announce_with_the_chosen_audience_priority_and_expiry(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("Card systems are down; use the outage script")
    console.priority.setCurrentIndex(console.priority.findData("urgent"))
    console.everyone.setChecked(False)
    console.sites.setText("north, south,, north")
    console.agents.setText("Dana")
    console.expiry.setCurrentIndex(console.expiry.findData(3600.0))
    console.send_button.click()
    assert sent == [
        Announce(
            text="Card systems are down; use the outage script",
            priority="urgent",
            audience=Audience(all=False, sites=("north", "south"), agents=("Dana",)),
            starts_at=None,
            expires_at=T0 + 3600,
        )
    ]
    assert console.editor.toPlainText() == ""


def test_a_start_delay_sets_starts_at_and_the_expiry_counts_from_the_start(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("Team huddle at three")
    console.delay.setValue(30)
    console.expiry.setCurrentIndex(console.expiry.findData(15 * 60.0))
    console.send_button.click()
    assert sent == [
        Announce("Team huddle at three", "info", Audience(all=True), T0 + 1800, T0 + 2700)
    ]


def test_ctrl_enter_sends_from_the_editor(
    qtbot: QtBot, console: SupervisorConsole, sent: list[object]
) -> None:
    with qtbot.waitActive(console):
        console.show()
        console.activateWindow()
    console.editor.setFocus()
    console.editor.setPlainText("Lunch rota posted")
    QTest.keyClick(console.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent == [Announce("Lunch rota posted")]


def test_markup_is_refused_with_a_message_and_nothing_is_sent(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("Read <b>this</b> now")
    console.send_button.click()
    assert sent == []
    assert not console.problem.isHidden()
    assert "Plain text only" in console.problem.text()
    assert console.editor.toPlainText() == "Read <b>this</b> now"  # kept for fixing


def test_over_long_text_is_counted_and_refused(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("x" * 501)
    assert console.counter.text() == "501 / 500 — too long"
    console.send_button.click()
    assert sent == []
    assert "Too long: 501 characters" in console.problem.text()


def test_an_audience_naming_nobody_is_refused(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("Hello")
    console.everyone.setChecked(False)
    console.teams.setText(" , ")
    console.send_button.click()
    assert sent == []
    assert "Choose who should see it" in console.problem.text()


def test_the_preview_shows_the_text_and_priority_word_on_the_priority_colour(
    console: SupervisorConsole,
) -> None:
    console.editor.setPlainText("Queue is long")
    console.priority.setCurrentIndex(console.priority.findData("warning"))
    background, foreground = THEME.colours("warning")
    assert console.preview.text() == "WARNING  Queue is long"
    assert f"background:{background}" in console.preview.styleSheet()
    assert f"color:{foreground}" in console.preview.styleSheet()
    assert console.preview.textFormat() == Qt.TextFormat.PlainText


def test_a_new_announcement_is_listed_and_its_receipts_are_requested_once(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.show_message(announcement("a1"))
    console.show_message(announcement("a1", text="Card systems back", seq=2, edited_at=T0))
    assert console.active_ids() == ["a1"]
    assert sent == [Receipts(id="a1")]
    row = console.row("a1")
    assert row is not None
    assert row.text.text() == "Card systems back"
    assert row.priority.text() == "URGENT"
    assert row.details.text() == "everyone · by Sam · 2 min ago · edited · no expiry"
    assert console.tabs.tabText(1) == "&Active (1)"


def test_urgent_announcements_are_listed_before_others(console: SupervisorConsole) -> None:
    console.show_message(announcement("old-urgent", priority="urgent", created_at=T0 - 600))
    console.show_message(announcement("new-info", priority="info", created_at=T0 - 10))
    console.show_message(announcement("new-urgent", priority="urgent", created_at=T0 - 5))
    assert console.active_ids() == ["new-urgent", "old-urgent", "new-info"]


def test_a_receipt_list_updates_seen_count_and_names_who_has_not_seen_it(
    console: SupervisorConsole,
) -> None:
    console.show_message(announcement("a1"))
    row = console.row("a1")
    assert row is not None
    assert not row.who.isEnabled()
    seen = (Seen("Ana", T0), Seen("Bo", T0), Seen("Cy", T0))
    console.show_message(ReceiptList(id="a1", seen=seen, pending=("Dana", "Eve", "Fay", "Gus")))
    assert row.receipts.text() == "seen 3 / 7"
    assert row.receipts.toolTip() == "Not seen yet: Dana, Eve, Fay, Gus"
    assert row.pending.isHidden()
    row.who.click()
    assert not row.pending.isHidden()
    assert row.pending.text() == "Not seen yet: Dana, Eve, Fay, Gus"


def test_edit_loads_the_announcement_and_send_emits_only_what_changed(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.show_message(announcement("a1", text="Card systems down"))
    sent.clear()
    row = console.row("a1")
    assert row is not None
    row.edit.click()
    assert console.editor.toPlainText() == "Card systems down"
    assert not console.everyone.isEnabled()  # the audience is fixed once sent
    console.editor.setPlainText("Card systems down until 3 pm")
    console.send_button.click()
    assert sent == [Edit(id="a1", text="Card systems down until 3 pm")]
    assert console.everyone.isEnabled()
    assert console.send_button.accessibleName() == "Send announcement"


def test_cancelling_an_edit_sends_nothing_and_brings_back_the_draft(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.show_message(announcement("a1", priority="urgent"))
    sent.clear()
    console.editor.setPlainText("Half-written news")
    console.row("a1").edit.click()  # type: ignore[union-attr]
    assert console.priority.currentData() == "urgent"
    console.cancel_button.click()
    assert console.cancel_button.isHidden()
    assert console.editor.toPlainText() == "Half-written news"
    assert console.priority.currentData() == "info"
    console.send_button.click()
    assert sent == [Announce("Half-written news")]


def test_retract_asks_first_and_emits_retract(
    console: SupervisorConsole, sent: list[object], confirm: Confirm
) -> None:
    console.show_message(announcement("a1", text="Card systems down"))
    sent.clear()
    console.row("a1").retract.click()  # type: ignore[union-attr]
    assert len(confirm.asked) == 1
    assert "Card systems down" in confirm.asked[0]
    assert sent == [Retract(id="a1")]


def test_retract_declined_sends_nothing(
    console: SupervisorConsole, sent: list[object], confirm: Confirm
) -> None:
    confirm.answer = False
    console.show_message(announcement("a1"))
    sent.clear()
    console.row("a1").retract.click()  # type: ignore[union-attr]
    assert sent == []
    assert console.active_ids() == ["a1"]


def test_retracted_removes_the_row(console: SupervisorConsole) -> None:
    console.show_message(announcement("a1"))
    console.show_message(announcement("a2"))
    console.show_message(Retracted(id="a1", seq=3))
    assert console.active_ids() == ["a2"]
    assert console.row("a1") is None
    console.show_message(Retracted(id="a2", seq=4))
    assert console.active_ids() == []
    assert not console.empty.isHidden()


def test_an_expired_announcement_drops_off_when_time_passes(qtbot: QtBot, clock: Clock) -> None:
    console = SupervisorConsole(theme=THEME, now=clock, tick_ms=10)
    qtbot.addWidget(console)
    console.show_message(announcement("short", expires_at=T0 + 60))
    console.show_message(announcement("long", expires_at=T0 + 3600))
    qtbot.wait(50)
    assert sorted(console.active_ids()) == ["long", "short"]  # the timer keeps live ones
    clock.t = T0 + 61
    qtbot.waitUntil(
        lambda: console.active_ids() == ["long"], timeout=30_000
    )  # a wait, not a speed target
    assert "expires in 58 min" in console.row("long").details.text()  # type: ignore[union-attr]


def test_an_announcement_already_expired_is_not_listed(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.show_message(announcement("gone", expires_at=T0 - 1))
    assert console.active_ids() == []
    assert sent == []


def test_a_flag_notice_appears_at_the_top_of_the_feed_with_agent_and_severity_word(
    console: SupervisorConsole,
) -> None:
    console.show_message(FlagNotice("Bo", "north", "billing", "dead_air", "warning", T0 - 30))
    console.show_message(FlagNotice("Dana", "north", "cards", "hot_mic", "critical", T0))
    top = console.feed.item(0)
    assert "Dana (north / cards)" in top.text()
    assert "hot mic" in top.text()
    assert top.text().endswith("CRITICAL")
    assert top.background().color().name() == THEME.colours("critical")[0]
    assert "Bo" in console.feed.item(1).text()
    assert console.tabs.tabText(2) == "&Flags (2)"


def test_the_flag_feed_keeps_only_the_newest_notices(console: SupervisorConsole) -> None:
    for n in range(FEED_LIMIT + 5):
        console.show_message(FlagNotice(f"agent{n}", "s", "t", "monologue", "info", T0 + n))
    assert console.feed.count() == FEED_LIMIT
    assert "agent204 " in console.feed.item(0).text()
    assert "agent5 " in console.feed.item(FEED_LIMIT - 1).text()


def test_the_flag_feed_says_what_agents_share_and_what_they_never_share(
    console: SupervisorConsole,
) -> None:
    texts = [label.text() for label in console.findChildren(QLabel)]
    assert PRIVACY_NOTE in texts
    assert "never the words" in PRIVACY_NOTE


def test_an_error_message_shows_in_the_status_line(console: SupervisorConsole) -> None:
    console.show_message(ErrorMessage(code="forbidden", message="agents cannot announce"))
    assert console.notice.text() == "Error (forbidden): agents cannot announce"


def test_the_connection_state_shows_in_the_status_line(console: SupervisorConsole) -> None:
    console.set_connection_state("disconnected: server closed the connection")
    assert console.connection.text() == "disconnected: server closed the connection"
    console.show_message(Welcome(v=1, role="supervisor", name="Sam"))
    assert console.connection.text() == "connected as Sam (supervisor)"


INTERACTIVE = (
    QAbstractButton,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QAbstractScrollArea,
    QTabWidget,
)


def test_every_interactive_widget_has_an_accessible_name(console: SupervisorConsole) -> None:
    console.show_message(announcement("a1"))
    widgets = [
        w
        for w in console.findChildren(QWidget)
        if isinstance(w, INTERACTIVE)
        and w.window() is console  # not the combo boxes' own pop-up lists
        and not isinstance(w.parent(), QSpinBox)  # the spin box's own line edit
    ]
    assert len(widgets) >= 14  # composer, tabs, list, feed and the row's buttons
    unnamed = [f"{type(w).__name__} {w.objectName()}" for w in widgets if not w.accessibleName()]
    assert unnamed == []
