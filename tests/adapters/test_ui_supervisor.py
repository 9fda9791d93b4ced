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
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)
from pytestqt.qtbot import QtBot

from agent_assist.marquee.protocol import (
    Announce,
    Announcement,
    Audience,
    Directory,
    DirectoryList,
    Edit,
    ErrorMessage,
    FlagNotice,
    Member,
    ReceiptList,
    Receipts,
    Retract,
    Retracted,
    Seen,
    Welcome,
)
from ui.console_status import RECONNECTING, fit_on_screen
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


DIRECTORY = DirectoryList(
    sites=("north", "south"),
    teams=("cards", "loans"),
    agents=(
        Member("Ana", "north", "cards", online=True),
        Member("Bo", "north", "loans", online=False),
        Member("Dana", "south", "cards", online=True),
    ),
)


@pytest.fixture
def console(qtbot: QtBot, clock: Clock, confirm: Confirm) -> SupervisorConsole:
    """A console connected as Sam, that has heard the server's directory."""
    widget = SupervisorConsole(theme=THEME, now=clock, confirm=confirm)
    qtbot.addWidget(widget)
    widget.set_connection_state("connected")
    widget.show_message(Welcome(v=1, role="supervisor", name="Sam", site="north,south"))
    widget.show_message(DIRECTORY)
    return widget


@pytest.fixture
def sent(console: SupervisorConsole) -> list[object]:
    """What the console asks to send from now on (directory refreshes left out)."""
    messages: list[object] = []
    console.send_requested.connect(
        lambda m: None if isinstance(m, Directory) else messages.append(m)
    )
    return messages


def top(tree: QTreeWidget, index: int) -> QTreeWidgetItem:
    """A group (top-level row) of the flag feed."""
    item = tree.topLevelItem(index)
    assert item is not None
    return item


def child(item: QTreeWidgetItem, index: int) -> QTreeWidgetItem:
    found = item.child(index)
    assert found is not None
    return found


def unkeyed(messages: list[object]) -> list[object]:
    """The messages with announce idempotency keys blanked (they are random)."""
    return [dataclasses.replace(m, key=None) if isinstance(m, Announce) else m for m in messages]


def announcement(id: str = "a1", text: str = "Card systems down", **changes: Any) -> Announcement:
    """An urgent announcement for everyone, posted by Sam two minutes before ``T0``."""
    made = Announcement(id, 1, text, "urgent", Audience(all=True), "Sam", created_at=T0 - 120)
    return dataclasses.replace(made, **changes)


# -- composing and sending --------------------------------------------------------------------


def test_send_emits_an_announce_with_the_picked_audience_priority_and_expiry(
    console: SupervisorConsole, sent: list[object]
) -> None:
    c = console.composer
    console.editor.setPlainText("Card systems are down; use the outage script")
    c.priority.setCurrentIndex(c.priority.findData("urgent"))
    c.audience.choose(sites=["north", "nowhere"], agents=["Dana"])  # unlisted names: ignored
    c.expiry.setCurrentIndex(c.expiry.findData(3600.0))
    c.send_button.click()
    assert unkeyed(sent) == [
        Announce(
            text="Card systems are down; use the outage script",
            priority="urgent",
            audience=Audience(all=False, sites=("north",), agents=("Dana",)),
            starts_at=None,
            expires_at=T0 + 3600,
        )
    ]
    assert isinstance(sent[0], Announce)
    assert sent[0].key  # idempotent: a retry is not a second announcement
    assert console.editor.toPlainText() != ""  # kept until the server has it
    assert console.notice.text() == "Sending…"


def test_once_sent_the_draft_clears_and_priority_and_start_reset_to_normal_and_now(
    console: SupervisorConsole, sent: list[object]
) -> None:
    c = console.composer
    console.editor.setPlainText("Outage over")
    c.priority.setCurrentIndex(c.priority.findData("urgent"))
    c.delay.setValue(15)
    c.send_button.click()
    console.message_sent(sent[0])
    assert console.editor.toPlainText() == ""
    assert c.priority.currentData() == "info"
    assert c.priority.currentText() == "Normal"
    assert c.delay.value() == 0
    assert console.notice.text().startswith("Announcement sent at ")


def test_a_failed_send_keeps_the_draft_says_why_and_a_retry_reuses_the_key(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("Lunch rota posted")
    console.composer.send_button.click()
    console.message_failed(sent[0], "not connected to the marquee server")
    assert console.editor.toPlainText() == "Lunch rota posted"
    assert console.notice.text() == (
        "Announcement not sent: not connected to the marquee server. Try again once connected."
    )
    console.composer.send_button.click()
    assert isinstance(sent[1], Announce)
    assert sent[1].key == sent[0].key  # type: ignore[attr-defined]
    console.editor.setPlainText("Lunch rota posted, canteen B")
    console.composer.send_button.click()
    assert sent[2].key != sent[0].key  # type: ignore[attr-defined]  # another text: new key


def test_sending_while_disconnected_is_refused_and_the_text_is_kept(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.set_connection_state("disconnected: ConnectionRefusedError")
    console.editor.setPlainText("Huddle at three")
    console.composer.send_button.click()
    assert sent == []
    assert "Not connected to the server: your text is kept" in console.composer.problem.text()
    assert console.editor.toPlainText() == "Huddle at three"


def test_line_breaks_are_sent_as_one_line(console: SupervisorConsole, sent: list[object]) -> None:
    console.editor.setPlainText("Queue is long\n  keep calls short")
    console.composer.send_button.click()
    assert unkeyed(sent) == [Announce("Queue is long keep calls short")]


def test_a_start_delay_sets_starts_at_and_the_expiry_counts_from_the_start(
    console: SupervisorConsole, sent: list[object]
) -> None:
    c = console.composer
    console.editor.setPlainText("Team huddle at three")
    c.delay.setValue(30)
    c.expiry.setCurrentIndex(c.expiry.findData(15 * 60.0))
    c.send_button.click()
    assert unkeyed(sent) == [
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
    assert unkeyed(sent) == [Announce("Lunch rota posted")]


def test_markup_is_refused_with_a_message_and_nothing_is_sent(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("Read <b>this</b> now")
    console.composer.send_button.click()
    assert sent == []
    assert not console.composer.problem.isHidden()
    assert "Plain text only" in console.composer.problem.text()
    assert console.editor.toPlainText() == "Read <b>this</b> now"  # kept for fixing


def test_over_long_text_is_counted_and_refused(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("x" * 501)
    assert console.composer.counter.text() == "501 / 500 — too long"
    console.composer.send_button.click()
    assert sent == []
    assert "Too long: 501 characters" in console.composer.problem.text()


def test_an_audience_naming_nobody_is_refused(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.editor.setPlainText("Hello")
    console.composer.audience.everyone.setChecked(False)
    console.composer.send_button.click()
    assert sent == []
    assert "Choose who should see it" in console.composer.problem.text()


def test_the_preview_shows_the_text_and_priority_word_on_the_priority_colour(
    console: SupervisorConsole,
) -> None:
    c = console.composer
    console.editor.setPlainText("Queue is long")
    c.priority.setCurrentIndex(c.priority.findData("warning"))
    background, foreground = THEME.colours("warning")
    assert c.preview.text() == "WARNING  Queue is long"
    assert f"background:{background}" in c.preview.styleSheet()
    assert f"color:{foreground}" in c.preview.styleSheet()
    assert c.preview.textFormat() == Qt.TextFormat.PlainText


# -- the audience pickers ---------------------------------------------------------------------


def test_the_pickers_list_only_what_the_server_listed_and_are_off_while_everyone_is_ticked(
    console: SupervisorConsole,
) -> None:
    picker = console.composer.audience
    names = [picker.agents.item(i).text() for i in range(picker.agents.count())]
    assert names == ["Ana", "Bo", "Dana"]
    assert [picker.sites.item(i).text() for i in range(picker.sites.count())] == ["north", "south"]
    assert picker.everyone.isChecked()
    lists = (picker.sites, picker.teams, picker.agents, picker.filter)
    assert not any(box.isEnabled() for box in lists)
    assert picker.count.text() == "Reaches 3 agents (2 online now)."
    picker.everyone.setChecked(False)
    assert all(box.isEnabled() for box in lists)


def test_the_recipient_count_follows_the_ticked_sites_teams_and_agents(
    console: SupervisorConsole,
) -> None:
    picker = console.composer.audience
    picker.choose(teams=["cards"])
    assert picker.count.text() == "Reaches 2 agents (2 online now)."
    picker.choose(sites=["north"], agents=["Dana"])
    assert picker.count.text() == "Reaches 3 agents (2 online now)."
    picker.choose(agents=["Bo"])
    assert picker.count.text() == "Reaches 1 agent (0 online now)."


def test_a_directory_in_several_frames_is_joined_and_a_refresh_keeps_what_was_ticked(
    console: SupervisorConsole,
) -> None:
    picker = console.composer.audience
    picker.choose(agents=["Dana"])
    console.show_message(
        DirectoryList(sites=("north",), agents=(Member("Dana", "south"),), more=True)
    )
    assert picker.agents.count() == 3  # nothing changes until the last frame
    console.show_message(DirectoryList(agents=(Member("Eve", "north", online=True),)))
    assert [picker.agents.item(i).text() for i in range(2)] == ["Dana", "Eve"]
    assert picker.audience() == Audience(all=False, agents=("Dana",))


def test_finding_an_agent_hides_the_others(console: SupervisorConsole) -> None:
    picker = console.composer.audience
    picker.everyone.setChecked(False)
    picker.filter.setText("an")
    hidden = [picker.agents.item(i).isHidden() for i in range(picker.agents.count())]
    assert hidden == [False, True, False]  # Ana, Bo, Dana


def test_before_the_directory_arrives_the_count_says_it_is_waiting(
    qtbot: QtBot, clock: Clock
) -> None:
    console = SupervisorConsole(theme=THEME, now=clock)
    qtbot.addWidget(console)
    assert "Waiting for the server's list" in console.composer.audience.count.text()


# -- active announcements and receipts ---------------------------------------------------------


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


def test_receipts_say_who_has_acknowledged_and_who_of_the_rest_is_online_or_offline(
    console: SupervisorConsole,
) -> None:
    console.show_message(announcement("a1"))
    row = console.row("a1")
    assert row is not None
    assert not row.who.isEnabled()
    console.show_message(ReceiptList(id="a1", seen=(Seen("Ana", T0),), pending=("Bo", "Dana")))
    assert row.receipts.text() == "acknowledged 1 / 3 · 1 offline"
    assert row.pending.isHidden()
    row.who.click()
    assert not row.pending.isHidden()
    assert (
        row.pending.text() == "Not acknowledged yet: Bo (offline), Dana (online)\nAcknowledged: Ana"
    )


def test_presence_in_receipts_follows_a_new_directory(console: SupervisorConsole) -> None:
    console.show_message(announcement("a1", priority="info"))
    console.show_message(ReceiptList(id="a1", seen=(), pending=("Bo",)))
    row = console.row("a1")
    assert row is not None
    assert row.receipts.text() == "seen 0 / 1 · 1 offline"
    console.show_message(DirectoryList(agents=(Member("Bo", "north", "loans", online=True),)))
    assert row.receipts.text() == "seen 0 / 1"
    assert "Bo (online)" in row.pending.text()


def test_edit_loads_the_announcement_and_send_emits_only_what_changed(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.show_message(announcement("a1", text="Card systems down"))
    sent.clear()
    row = console.row("a1")
    assert row is not None
    row.edit.click()
    c = console.composer
    assert console.editor.toPlainText() == "Card systems down"
    assert not c.audience.everyone.isEnabled()  # the audience is fixed once sent
    console.editor.setPlainText("Card systems down until 3 pm")
    c.send_button.click()
    assert sent == [Edit(id="a1", text="Card systems down until 3 pm")]
    console.message_sent(sent[0])
    assert c.audience.everyone.isEnabled()
    assert c.send_button.accessibleName() == "Send announcement"
    assert console.notice.text().startswith("Edit sent at ")


def test_cancelling_an_edit_sends_nothing_and_brings_back_the_draft(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.show_message(announcement("a1", priority="urgent"))
    sent.clear()
    c = console.composer
    console.editor.setPlainText("Half-written news")
    console.row("a1").edit.click()  # type: ignore[union-attr]
    assert c.priority.currentData() == "urgent"
    c.cancel_button.click()
    assert c.cancel_button.isHidden()
    assert console.editor.toPlainText() == "Half-written news"
    assert c.priority.currentData() == "info"
    c.send_button.click()
    assert unkeyed(sent) == [Announce("Half-written news")]


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
    assert not console.active.empty.isHidden()


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


# -- reminders for unacknowledged urgent announcements -----------------------------------------


def test_an_unacknowledged_urgent_one_is_reminded_after_n_minutes_and_resent_to_those_left(
    console: SupervisorConsole, sent: list[object], clock: Clock
) -> None:
    console.active.remind.setValue(5)
    console.show_message(announcement("a1", created_at=T0, expires_at=T0 + 3600))
    console.show_message(ReceiptList(id="a1", seen=(Seen("Ana", T0),), pending=("Bo", "Dana")))
    row = console.row("a1")
    assert row is not None
    clock.t = T0 + 4 * 60
    console.tick()
    assert row.reminder.isHidden()
    clock.t = T0 + 5 * 60
    console.tick()
    assert not row.reminder.isHidden()
    assert row.reminder.text() == "Not acknowledged by 2 (1 offline) after 5 min."
    assert row.resend.text() == "Resend to 2"
    assert console.notice.text().startswith("Reminder: 2 have not acknowledged")
    assert console.tabs.tabText(1) == "&Active (1, 1 waiting)"
    sent.clear()
    row.resend.click()
    assert unkeyed(sent) == [
        Announce(
            "Card systems down",
            "urgent",
            Audience(all=False, agents=("Bo", "Dana")),
            expires_at=T0 + 3600,
        )
    ]
    assert sent[0].key  # type: ignore[attr-defined]
    assert row.reminder.isHidden()


def test_no_reminder_once_everyone_has_acknowledged_or_for_non_urgent_ones(
    console: SupervisorConsole, clock: Clock
) -> None:
    console.active.remind.setValue(1)
    console.show_message(announcement("u", created_at=T0))
    console.show_message(announcement("w", created_at=T0, priority="warning"))
    console.show_message(ReceiptList(id="u", seen=(), pending=("Bo",)))
    console.show_message(ReceiptList(id="w", seen=(), pending=("Bo",)))
    clock.t = T0 + 120
    console.tick()
    assert not console.row("u").reminder.isHidden()  # type: ignore[union-attr]
    assert console.row("w").reminder.isHidden()  # type: ignore[union-attr]
    console.show_message(ReceiptList(id="u", seen=(Seen("Bo", T0 + 130),), pending=()))
    assert console.row("u").reminder.isHidden()  # type: ignore[union-attr]


# -- the flag feed ------------------------------------------------------------------------------


def test_flags_are_grouped_by_agent_newest_group_first_with_the_worst_severity(
    console: SupervisorConsole,
) -> None:
    console.show_message(FlagNotice("Bo", "north", "loans", "dead_air", "warning", T0 - 30))
    console.show_message(FlagNotice("Dana", "south", "cards", "monologue", "info", T0 - 20))
    console.show_message(FlagNotice("Bo", "north", "loans", "hot_mic", "critical", T0))
    tree = console.flags.tree
    assert tree.topLevelItemCount() == 2
    bo = top(tree, 0)
    assert bo.text(0) == "Bo (north / loans)"
    assert (bo.text(1), bo.text(2)) == ("2 flags", "CRITICAL")
    assert [child(bo, i).text(1) for i in range(bo.childCount())] == ["hot mic", "dead air"]
    assert child(bo, 0).background(2).color().name() == THEME.colours("critical")[0]
    assert top(tree, 1).text(0) == "Dana (south / cards)"
    assert console.tabs.tabText(2).startswith("&Flags (3)")


def test_the_flag_feed_filters_by_agent_and_by_severity(console: SupervisorConsole) -> None:
    console.show_message(FlagNotice("Bo", "north", "loans", "dead_air", "warning", T0 - 30))
    console.show_message(FlagNotice("Dana", "south", "cards", "monologue", "info", T0 - 20))
    console.show_message(FlagNotice("Bo", "north", "loans", "hot_mic", "critical", T0))
    feed = console.flags
    feed.severity.setCurrentIndex(feed.severity.findData("warning"))
    assert [(n.agent, n.kind) for n in feed.shown()] == [("Bo", "dead_air")]
    assert feed.tree.topLevelItemCount() == 1
    feed.severity.setCurrentIndex(0)
    feed.agent.setCurrentIndex(feed.agent.findData("Dana"))
    assert [(n.agent, n.kind) for n in feed.shown()] == [("Dana", "monologue")]
    assert top(feed.tree, 0).text(0) == "Dana (south / cards)"


def test_a_critical_flag_raises_an_alert_that_leads_to_the_agents_flags(
    console: SupervisorConsole,
) -> None:
    console.show_message(FlagNotice("Bo", "north", "loans", "dead_air", "warning", T0 - 30))
    assert console.alert.isHidden()
    console.show_message(FlagNotice("Dana", "south", "cards", "hot_mic", "critical", T0))
    assert not console.alert.isHidden()
    assert console.alert.text.text().startswith("CRITICAL: Dana — hot mic at ")
    assert console.tabs.tabText(2).endswith("— critical!")
    console.alert.look.click()
    assert console.tabs.currentWidget() is console.flags
    assert [n.agent for n in console.flags.shown()] == ["Dana"]
    assert console.alert.isHidden()
    assert console.tabs.tabText(2) == "&Flags (2)"  # looked at: no longer shouting


def test_the_flag_feed_keeps_only_the_newest_notices(console: SupervisorConsole) -> None:
    for n in range(FEED_LIMIT + 5):
        console.show_message(FlagNotice(f"agent{n}", "s", "t", "monologue", "info", T0 + n))
    assert len(console.flags.notices) == FEED_LIMIT
    assert top(console.flags.tree, 0).text(0).startswith("agent204 ")
    assert console.flags.notices[-1].agent == "agent5"


def test_the_flag_feed_says_what_agents_share_and_what_they_never_share(
    console: SupervisorConsole,
) -> None:
    texts = [label.text() for label in console.findChildren(QLabel)]
    assert PRIVACY_NOTE in texts
    assert "never the words" in PRIVACY_NOTE


# -- connection --------------------------------------------------------------------------------


def test_an_error_message_shows_in_the_status_line(console: SupervisorConsole) -> None:
    console.show_message(ErrorMessage(code="forbidden", message="agents cannot announce"))
    assert console.notice.text() == "Refused by the server: agents cannot announce"


def test_disconnected_shows_a_plain_banner_greys_stale_data_and_clears_the_last_confirmation(
    console: SupervisorConsole, sent: list[object]
) -> None:
    console.show_message(announcement("a1"))
    console.editor.setPlainText("Outage over")
    console.composer.send_button.click()
    console.message_sent(sent[-1])
    assert console.notice.text().startswith("Announcement sent")
    console.set_connection_state("disconnected: ConnectionRefusedError")
    banner = console.status.banner
    assert not banner.isHidden()
    assert banner.text().startswith(RECONNECTING)
    shown = " ".join(label.text() for label in console.findChildren(QLabel))
    assert "Error" not in shown
    assert console.notice.text() == ""
    assert console.connection.text() == "Offline"
    assert not console.active.list_host.isEnabled()
    assert console.active.list_host.graphicsEffect() is not None
    assert not console.flags.tree.isEnabled()


def test_reconnecting_lifts_the_banner_and_asks_again_for_the_directory_and_receipts(
    console: SupervisorConsole,
) -> None:
    console.show_message(announcement("a1"))
    console.set_connection_state("disconnected: TimeoutError")
    asked: list[object] = []
    console.send_requested.connect(asked.append)
    console.set_connection_state("connected")
    console.show_message(Welcome(v=1, role="supervisor", name="Sam", site="north"))
    assert console.status.banner.isHidden()
    assert console.active.list_host.isEnabled()
    assert console.active.list_host.graphicsEffect() is None
    assert asked == [Directory(), Receipts(id="a1")]
    assert console.connection.text() == "Connected as Sam (supervisor)"


def test_a_refused_token_is_named_in_the_banner(console: SupervisorConsole) -> None:
    console.set_connection_state("disconnected: the marquee server refused this token")
    assert console.status.banner.text().startswith(
        "Not connected: the server refused this sign-in token. Ask IT for a new one."
    )


def test_presence_is_asked_for_again_while_connected(qtbot: QtBot, clock: Clock) -> None:
    console = SupervisorConsole(theme=THEME, now=clock, presence_ms=20)
    qtbot.addWidget(console)
    asked: list[object] = []
    console.send_requested.connect(asked.append)
    qtbot.wait(100)
    assert asked == []  # not while disconnected
    console.set_connection_state("connected")
    qtbot.waitUntil(lambda: Directory() in asked, timeout=10_000)


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
    assert len(widgets) >= 20  # composer, pickers, tabs, list, feed, filters, the row's buttons
    unnamed = [f"{type(w).__name__} {w.objectName()}" for w in widgets if not w.accessibleName()]
    assert unnamed == []


def test_on_a_dark_theme_tick_boxes_are_outlined_in_the_text_colour(
    qtbot: QtBot, clock: Clock
) -> None:
    dark = theme_named("dark")
    console = SupervisorConsole(theme=dark, now=clock)
    qtbot.addWidget(console)
    assert f"border: 2px solid {dark.text}" in console.styleSheet()
    assert "QListView::indicator" in console.styleSheet()  # the pickers' items too
    light = SupervisorConsole(theme=THEME, now=clock)
    qtbot.addWidget(light)
    assert light.styleSheet() == ""  # the style's own boxes show on light backgrounds


def test_the_console_is_brought_wholly_onto_its_screen(qtbot: QtBot, clock: Clock) -> None:
    console = SupervisorConsole(theme=THEME, now=clock)
    qtbot.addWidget(console)
    screen = console.screen()
    assert screen is not None
    room = screen.availableGeometry()
    console.resize(room.width() + 300, room.height() + 300)
    console.move(room.left() - 50, room.top() - 80)
    fit_on_screen(console)
    assert room.contains(console.frameGeometry())
