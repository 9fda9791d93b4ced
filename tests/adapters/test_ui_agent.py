"""The agent window with pytest-qt (offscreen): each panel renders the events it is given."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from agent_assist.events import ArticleRef, Call, Flag, Level, Mute, Suggestion, Utterance
from agent_assist.marquee.protocol import Announcement, Audience, Retracted
from ui.agent_window import AgentWindow
from ui.bridge import Bridge
from ui.callstrip import METER_INTERVAL_S
from ui.coaching import MAX_CARDS, CoachingPanel
from ui.knowledge import KnowledgePanel, snippet_html
from ui.theme import THEMES
from ui.ticker import MarqueeTicker
from ui.transcript import TranscriptView

LIGHT = THEMES["light"]


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path: Path) -> None:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture
def window(qtbot: QtBot) -> AgentWindow:
    win = AgentWindow(theme=LIGHT)
    qtbot.addWidget(win)
    return win


def flag(kind: str, severity: str = "warning", t: float = 1.0) -> Flag:
    return Flag(
        t=t, kind=kind, severity=severity, channel="agent", evidence="x", tip=f"tip for {kind}"
    )  # type: ignore[arg-type]


def announcement(id: str, priority: str, text: str = "hello", **extra: object) -> Announcement:
    return Announcement(id=id, seq=1, text=text, priority=priority, audience=Audience(all=True),  # type: ignore[arg-type]
                        author="maria", created_at=time.time(), **extra)  # type: ignore[arg-type]  # fmt: skip


# -- call strip ------------------------------------------------------------------------------


def test_the_line_shows_live_then_muted_then_no_call(window: AgentWindow) -> None:
    assert window.strip.state == "NO CALL"
    window.show_event(Call(t=0.0, state="started"))
    assert window.strip.state == "LIVE"
    assert "customer hears you" in window.strip.line.text()
    window.show_event(Mute(t=1.0, muted=True, source="cti"))
    assert window.strip.state == "MUTED"
    assert window.strip.mute_button.isChecked()
    window.show_event(Call(t=2.0, state="ended"))
    assert window.strip.state == "NO CALL"


def test_level_meters_follow_the_level_events(window: AgentWindow) -> None:
    window.show_event(Level(t=0.1, channel="customer", dbfs=-30.0, speech=True))
    window.show_event(Level(t=0.1, channel="agent", dbfs=-60.0, speech=False))
    assert window.strip.meters["customer"].value() == 50
    assert window.strip.meters["agent"].value() == 0


def test_a_burst_of_levels_repaints_a_meter_once_then_shows_the_newest(
    window: AgentWindow, qtbot: QtBot
) -> None:
    # each new value repaints the meter at once; a burst (the GUI thread was busy) must not
    meter = window.strip.meters["agent"]
    shown: list[int] = []
    meter.valueChanged.connect(shown.append)
    for i in range(100):
        window.show_event(Level(t=i / 100, channel="agent", dbfs=-59.0 + i * 0.5, speech=True))
    assert shown == [1]  # the first at once, the rest wait for the interval
    qtbot.waitUntil(lambda: meter.value() == 84)  # -59 + 99 * 0.5 = -9.5 dBFS
    assert shown == [1, 84]


def test_a_level_waiting_when_the_call_ends_never_comes_back(
    window: AgentWindow, qtbot: QtBot
) -> None:
    window.show_event(Call(t=0.0, state="started"))
    for t in (0.1, 0.2):
        window.show_event(Level(t=t, channel="agent", dbfs=-10.0, speech=True))
    window.show_event(Call(t=0.3, state="ended"))
    qtbot.wait(int(METER_INTERVAL_S * 1000) * 3)
    assert window.strip.meters["agent"].value() == 0


def test_the_mute_button_asks_the_app_to_mute_and_the_line_waits_for_the_event(
    window: AgentWindow, qtbot: QtBot
) -> None:
    window.show_event(Call(t=0.0, state="started"))
    with qtbot.waitSignal(window.mute_requested) as blocker:
        window.strip.mute_button.click()
    assert blocker.args == [True]
    assert window.strip.state == "LIVE"  # only a mute event turns the line MUTED


# -- transcript --------------------------------------------------------------------------------


def test_a_partial_is_grey_and_turns_solid_in_place_when_final(qtbot: QtBot) -> None:
    view = TranscriptView(theme=LIGHT)
    qtbot.addWidget(view)
    view.show_utterance(
        Utterance(t=1.0, channel="customer", final=False, text="my card", start=0.5, end=1.0)
    )
    view.show_utterance(
        Utterance(t=1.5, channel="customer", final=False, text="my card has", start=0.5, end=1.5)
    )
    assert view.lines() == [("Customer: my card has", False)]
    assert view.item(0).foreground().color().name() == LIGHT.muted
    view.show_utterance(
        Utterance(
            t=2.0, channel="customer", final=True, text="my card has not come", start=0.5, end=2.0
        )
    )
    assert view.lines() == [("Customer: my card has not come", True)]
    assert view.item(0).foreground().color().name() == LIGHT.text


def test_auto_scroll_pauses_while_the_agent_reads_back(qtbot: QtBot) -> None:
    view = TranscriptView(theme=LIGHT)
    view.resize(300, 120)
    view.show()
    qtbot.addWidget(view)

    def say(i: int) -> None:
        view.show_utterance(
            Utterance(t=float(i), channel="agent", final=True, text=f"line {i}", start=0.0, end=1.0)
        )
        qtbot.wait(20)  # lines are laid out by the event loop

    for i in range(40):
        say(i)
    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum()
    bar.setValue(0)  # the agent scrolls up
    say(41)
    assert bar.value() == 0
    bar.setValue(bar.maximum())  # and back down: following again
    say(42)
    assert bar.value() == bar.maximum()


# -- coaching --------------------------------------------------------------------------------


def test_a_flag_becomes_a_card_with_its_severity_word_and_tip(qtbot: QtBot) -> None:
    panel = CoachingPanel(theme=LIGHT)
    qtbot.addWidget(panel)
    panel.show_flag(flag("rudeness"))
    (card,) = panel.cards
    assert card.accessibleName() == "warning coaching: Rudeness"
    assert card.accessibleDescription() == "tip for rudeness"


def test_cards_expire_on_their_own(qtbot: QtBot) -> None:
    clock = [100.0]
    panel = CoachingPanel(theme=LIGHT, now=lambda: clock[0])
    qtbot.addWidget(panel)
    panel.show_flag(flag("fast_speech", "info"))
    clock[0] += 14.0
    panel.expire()
    assert len(panel.cards) == 1
    clock[0] += 2.0
    panel.expire()
    assert panel.cards == []


def test_a_snoozed_kind_stays_quiet_for_the_call_but_never_hides_a_critical(qtbot: QtBot) -> None:
    panel = CoachingPanel(theme=LIGHT)
    qtbot.addWidget(panel)
    panel.show_flag(flag("fast_speech", "info"))
    with qtbot.waitSignal(panel.snoozed):
        panel.cards[0].snooze.emit("fast_speech")
    panel.show_flag(flag("fast_speech", "info"))
    assert panel.cards == []
    panel.show_flag(flag("profanity", "critical"))
    panel._snooze("profanity")
    panel.show_flag(flag("profanity", "critical"))
    assert [c.flag.kind for c in panel.cards] == ["profanity", "profanity"]
    panel.clear_call()  # a new call: snoozes are gone
    panel.show_flag(flag("fast_speech", "info"))
    assert panel.cards[0].flag.kind == "fast_speech"


def test_a_critical_card_offers_no_snooze(qtbot: QtBot) -> None:
    panel = CoachingPanel(theme=LIGHT)
    qtbot.addWidget(panel)
    panel.show()
    panel.show_flag(flag("profanity", "critical"))
    panel.show_flag(flag("rudeness", "warning"))
    snoozes = {
        card.flag.kind: next(b for b in card.findChildren(QToolButton) if b.text() == "Snooze")
        for card in panel.cards
    }
    assert snoozes["profanity"].isHidden()
    assert not snoozes["rudeness"].isHidden()


def test_only_the_newest_cards_stay(qtbot: QtBot) -> None:
    panel = CoachingPanel(theme=LIGHT)
    qtbot.addWidget(panel)
    kinds = ["rudeness", "blame_shifting", "monologue", "fast_speech", "raised_voice"]
    for kind in kinds:
        panel.show_flag(flag(kind))
    assert [c.flag.kind for c in panel.cards] == kinds[::-1][:MAX_CARDS]


def test_hot_mic_reaches_the_screen_on_the_next_turn_of_the_event_loop(
    window: AgentWindow, qtbot: QtBot
) -> None:
    """No timer or batching between the worker's signal and the banner.

    How many milliseconds that takes depends on the machine's load: ``bench/app.py``
    measures the GUI's stalls.
    """
    from PySide6.QtCore import QCoreApplication

    bridge = Bridge()
    bridge.call_event.connect(window.show_event)
    window.show()

    def worker() -> None:  # as the call worker does: emit from another thread
        bridge.call_event.emit(flag("hot_mic", "critical"))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=30)
    assert not window.coaching.banner.isVisible()  # queued for the GUI thread, not shown yet
    QCoreApplication.processEvents()
    assert window.coaching.banner.isVisible()
    assert "tip for hot_mic" in window.coaching.banner_text.text()


def test_muting_clears_the_hot_mic_banner(window: AgentWindow) -> None:
    window.show()
    window.show_event(flag("hot_mic", "critical"))
    assert window.coaching.banner.isVisible()
    window.show_event(Mute(t=2.0, muted=True, source="app"))
    assert not window.coaching.banner.isVisible()


# -- marquee ticker --------------------------------------------------------------------------------


def test_an_urgent_announcement_stays_until_acknowledged_and_then_sends_the_receipt(
    qtbot: QtBot,
) -> None:
    ticker = MarqueeTicker(theme=LIGHT)
    qtbot.addWidget(ticker)
    ticker.show()
    acks: list[str] = []
    ticker.acknowledged.connect(acks.append)
    ticker.show_message(announcement("u1", "urgent", "Outage in region 3"))
    ticker.refresh()
    ticker.refresh()
    assert ticker.urgent_bar.isVisible()
    assert acks == []  # nothing is "seen" until the agent says so
    qtbot.mouseClick(ticker.ack_button, Qt.MouseButton.LeftButton)
    assert acks == ["u1"]
    assert not ticker.urgent_bar.isVisible()


def test_urgent_announcements_raise_a_notification(qtbot: QtBot) -> None:
    ticker = MarqueeTicker(theme=LIGHT)
    qtbot.addWidget(ticker)
    with qtbot.waitSignal(ticker.urgent_arrived) as blocker:
        ticker.show_message(announcement("u1", "urgent"))
    assert blocker.args[0].id == "u1"


def test_info_counts_as_seen_once_shown_and_urgent_comes_first(qtbot: QtBot) -> None:
    ticker = MarqueeTicker(theme=LIGHT)
    qtbot.addWidget(ticker)
    acks: list[str] = []
    ticker.acknowledged.connect(acks.append)
    ticker.show_message(announcement("i1", "info", "Lunch at one"))
    assert acks == ["i1"]
    ticker.show_message(announcement("u1", "urgent", "Outage"))
    assert [a.id for a in ticker.visible()] == ["u1", "i1"]
    assert "Outage" in ticker.urgent_text.text()
    assert ticker.scroller.text == "Lunch at one"  # the urgent text is shown once: in its bar


def test_a_scheduled_urgent_announcement_notifies_when_it_starts(qtbot: QtBot) -> None:
    clock = [1000.0]
    ticker = MarqueeTicker(theme=LIGHT, now=lambda: clock[0])
    qtbot.addWidget(ticker)
    arrived: list[Announcement] = []
    ticker.urgent_arrived.connect(arrived.append)
    ticker.show_message(announcement("u1", "urgent", starts_at=1060.0))
    ticker.show_message(announcement("u1", "urgent", starts_at=1060.0))  # a repeat
    assert arrived == []
    clock[0] = 1060.0
    ticker.refresh()
    ticker.refresh()
    assert [a.id for a in arrived] == ["u1"]
    assert ticker.urgent_bar.isVisibleTo(ticker)


def test_scheduled_expired_and_retracted_announcements_are_not_shown(qtbot: QtBot) -> None:
    clock = [1000.0]
    ticker = MarqueeTicker(theme=LIGHT, now=lambda: clock[0])
    qtbot.addWidget(ticker)
    ticker.show_message(announcement("later", "info", starts_at=1060.0))
    ticker.show_message(announcement("old", "info", expires_at=999.0))
    ticker.show_message(announcement("gone", "info"))
    ticker.show_message(Retracted(id="gone", seq=2))
    assert ticker.visible() == []
    clock[0] = 1061.0
    assert [a.id for a in ticker.visible()] == ["later"]


# -- knowledge ---------------------------------------------------------------------------------------


def ref(id: str = "card-arrival") -> ArticleRef:
    return ArticleRef(
        id,
        "Card has not arrived",
        0.8,
        "Check the **delivery** <address>",
        "Cards",
        "Reorder for free",
    )


def test_suggestions_become_cards_with_badges_and_safe_highlighting(qtbot: QtBot) -> None:
    panel = KnowledgePanel(theme=LIGHT)
    qtbot.addWidget(panel)
    panel.show_suggestion(Suggestion(t=3.0, articles=(ref(),)))
    (card,) = panel.cards
    assert card.accessibleName() == "Article: Card has not arrived"
    assert snippet_html(ref().snippet or "") == "Check the <b>delivery</b> &lt;address&gt;"
    names = {w.accessibleName() for w in card.findChildren(type(panel.heading))}
    assert {"Handled by: Cards", "You may: Reorder for free"} <= names


def test_the_agents_search_wins_over_live_suggestions_until_cleared(qtbot: QtBot) -> None:
    panel = KnowledgePanel(theme=LIGHT)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.search_requested) as blocker:
        panel.search.setText("lost card")
        panel.search.returnPressed.emit()
    assert blocker.args == ["lost card"]
    panel.show_results("lost card", [ref("lost-card")])
    panel.show_suggestion(Suggestion(t=5.0, articles=(ref("other"),)))
    assert [c.ref.id for c in panel.cards] == ["lost-card"]
    panel.search.clear()
    panel.show_suggestion(Suggestion(t=6.0, articles=(ref("other"),)))
    assert [c.ref.id for c in panel.cards] == ["other"]


def test_article_buttons_report_feedback(qtbot: QtBot) -> None:
    panel = KnowledgePanel(theme=LIGHT)
    qtbot.addWidget(panel)
    panel.show_suggestion(Suggestion(t=3.0, articles=(ref(),)))
    got: list[tuple[str, str]] = []
    panel.feedback.connect(lambda i, a: got.append((i, a)))
    from PySide6.QtWidgets import QPushButton

    for button in panel.cards[0].findChildren(QPushButton):
        if button.text() in ("Used it", "Helpful"):
            button.click()
    assert got == [("card-arrival", "used"), ("card-arrival", "helpful")]


def test_signal_emission_keeps_reference_counts(qtbot: QtBot) -> None:
    # PySide6 6.12.0 dropped a reference to True on every emission, so the app aborted at
    # exit ("bool_dealloc"); pyproject excludes it and this keeps it out
    import sys

    bridge = Bridge()
    count = [0]

    def receive(event: object) -> None:  # keeps nothing, so True's count must come back level
        count[0] += 1

    bridge.call_event.connect(receive)
    level = Level(t=0.0, channel="agent", dbfs=-20.0, speech=True)
    before = sys.getrefcount(True)
    for _ in range(500):
        bridge.call_event.emit(level)
    after = sys.getrefcount(True)
    assert count[0] == 500
    assert abs(after - before) < 10  # 6.12.0: -500


def test_the_window_docks_along_the_right_edge_when_it_has_no_saved_place(qtbot: QtBot) -> None:
    win = AgentWindow(theme=LIGHT, dock="right")
    qtbot.addWidget(win)
    area = win.screen().availableGeometry()
    assert win.geometry().right() == area.right()
    assert win.geometry().height() == area.height()


def test_the_window_comes_back_where_the_agent_left_it(qtbot: QtBot) -> None:
    first = AgentWindow(theme=LIGHT)
    qtbot.addWidget(first)
    first.setGeometry(50, 60, 380, 500)
    first.close()  # saves its place
    again = AgentWindow(theme=LIGHT, dock="right")
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (380, 500)
