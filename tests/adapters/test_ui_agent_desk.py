"""The agent's window on a real desk (issue 11): on screen, truthful about mute, never in the
way of an alert. Each test is one of the defects measured on Xvfb, as a specification."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from agent_assist.app.mute import MuteControl, connect_mute_toggle
from agent_assist.events import Call, Flag, Mute, Suggestion
from tests.support.scenes import ARTICLES, announcement, busy_call, flag, hot_mic
from ui.agent_window import AgentWindow
from ui.bridge import Bridge
from ui.theme import THEMES, apply_theme, contrast

SCREEN = QRect(0, 0, 1366, 768 - 40)  # 1366×768 with a 40 px task bar


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path: Path) -> None:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture
def app_font() -> Iterator[None]:
    """Tests that change the application's text size put it back."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    font, sheet = QFont(app.font()), app.styleSheet()
    yield
    app.setFont(font)
    app.setStyleSheet(sheet)


def scaled(area: QRect, scale: float) -> QRect:
    """What Qt reports as the available area at QT_SCALE_FACTOR=scale (logical pixels)."""
    return QRect(0, 0, int(area.width() / scale), int(area.height() / scale))


def make_window(qtbot: QtBot, area: QRect, theme: str = "light", **kw: object) -> AgentWindow:
    window = AgentWindow(theme=THEMES[theme], available=lambda: area, dock="right", **kw)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    return window


def frame_of(window: AgentWindow) -> QRect:
    return window.frameGeometry()  # the offscreen platform frames windows too (2 px)


def fully_shown(window: AgentWindow, widget: QWidget) -> bool:
    """``widget`` is visible and wholly inside the window's client area."""
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return widget.isVisibleTo(window) and window.rect().contains(QRect(top_left, widget.size()))


# -- 1. geometry ---------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 1.25, 1.5])
@pytest.mark.parametrize(
    ("theme", "text_size"), [("light", 1.0), ("dark", 1.0), ("high-contrast", 1.5)]
)
def test_the_window_and_its_frame_stay_inside_the_available_area(
    qtbot: QtBot, app_font: None, scale: float, theme: str, text_size: float
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, THEMES[theme], font_scale=text_size)
    area = scaled(SCREEN, scale)
    window = make_window(qtbot, area, theme)
    window.show()
    busy_call(window, hot=True)  # cards, script, suggestions, urgent bar, hot-mic banner
    qtbot.wait(20)  # the deferred fit runs
    window.fit()
    assert area.contains(frame_of(window)), (frame_of(window), area)
    for alert in (window.ticker.ack_button, window.coaching.mute_button, window.strip.mute_button):
        assert fully_shown(window, alert), alert.accessibleName()


def test_the_first_run_title_bar_is_not_above_the_screen(qtbot: QtBot) -> None:
    window = make_window(qtbot, SCREEN)
    window.move(200, -20)
    window.show()
    window.fit()
    assert frame_of(window).top() >= SCREEN.top()


def test_the_docked_window_is_wide_enough_for_its_content_and_inside_the_right_edge(
    qtbot: QtBot,
) -> None:
    window = make_window(qtbot, SCREEN)
    window.show()
    frame = frame_of(window)
    assert frame.right() <= SCREEN.right()
    assert window.width() >= window.minimumSizeHint().width()


def test_knowledge_and_transcript_fold_away(qtbot: QtBot) -> None:
    window = make_window(qtbot, SCREEN)
    window.show()
    window.knowledge_section.header.click()
    assert not window.knowledge.isVisibleTo(window)
    window.knowledge_section.header.click()
    assert window.knowledge.isVisibleTo(window)


def test_the_compact_strip_is_about_120_px_and_keeps_the_line_the_alert_and_the_ticker(
    qtbot: QtBot,
) -> None:
    window = make_window(qtbot, SCREEN)
    window.show()
    busy_call(window, urgent=False)
    window.actions_["compact"].trigger()
    qtbot.waitUntil(lambda: window.height() < 200)
    assert window.height() <= 6 * window.fontMetrics().height() + 40
    assert window.strip.isVisibleTo(window)
    assert window.ticker.isVisibleTo(window)
    assert len(window.coaching.visible_cards()) == 1
    assert not window.call_view.isVisibleTo(window)
    window.actions_["compact"].trigger()
    qtbot.waitUntil(lambda: window.call_view.isVisibleTo(window))


def test_the_site_policy_can_fix_the_compact_strip(qtbot: QtBot) -> None:
    window = make_window(qtbot, SCREEN, compact=True, compact_locked=True)
    window.show()
    assert window.compact
    assert not window.actions_["compact"].isEnabled()
    assert not window.compact_button.isEnabled()


# -- 2. mute that tells the truth ------------------------------------------------------------


class FakeMic:
    """The seam: the OS microphone mute (audio.mute.MicMute). ``refuse``: the OS ignores us."""

    target = "Headset microphone"

    def __init__(self, *, muted: bool = False, refuse: bool = False) -> None:
        self.muted, self.refuse = muted, refuse
        self.asked: list[bool] = []

    def is_muted(self) -> bool:
        return self.muted

    def set_muted(self, muted: bool) -> bool:
        self.asked.append(muted)
        if not self.refuse:
            self.muted = muted
        return self.muted

    def close(self) -> None:
        pass


@pytest.fixture
def os_muted(qtbot: QtBot) -> Iterator[tuple[AgentWindow, FakeMic, MuteControl]]:
    window = make_window(qtbot, SCREEN)
    mic = FakeMic()
    bridge = Bridge()
    control = connect_mute_toggle(
        window, None, open_mic=lambda: mic, emit=window.show_event, run_on_main=bridge.run_on_main
    )
    window.show()
    window.show_event(Call(t=0.0, state="started"))
    qtbot.waitUntil(lambda: window.strip.mute_button.text() == "Mute")
    yield window, mic, control
    control.stop()


def test_ctrl_m_mutes_the_microphone_and_pressing_it_again_unmutes_it(
    os_muted: tuple[AgentWindow, FakeMic, MuteControl], qtbot: QtBot
) -> None:
    window, mic, _ = os_muted
    assert window.actions_["mute"].shortcut().toString() == "Ctrl+M"
    window.actions_["mute"].trigger()
    qtbot.waitUntil(lambda: window.strip.state == "MUTED")
    assert mic.muted
    window.actions_["mute"].trigger()
    qtbot.waitUntil(lambda: window.strip.state == "LIVE")
    assert mic.asked == [True, False]
    assert not mic.muted


def test_the_strip_turns_muted_only_when_the_system_confirms(
    qtbot: QtBot,
) -> None:
    window = make_window(qtbot, SCREEN)
    mic = FakeMic(refuse=True)
    bridge = Bridge()
    control = connect_mute_toggle(
        window, None, open_mic=lambda: mic, emit=window.show_event, run_on_main=bridge.run_on_main
    )
    try:
        window.show_event(Call(t=0.0, state="started"))
        qtbot.waitUntil(lambda: window.strip.mute_button.text() == "Mute")
        window.strip.mute_button.click()
        qtbot.waitUntil(lambda: mic.asked == [True] and window.strip.pending is None)
        assert window.strip.state == "LIVE"
        assert "did not mute" in window.strip.status.text()
    finally:
        control.stop()


def test_mute_me_now_on_the_hot_mic_banner_mutes_the_microphone(
    os_muted: tuple[AgentWindow, FakeMic, MuteControl], qtbot: QtBot
) -> None:
    window, mic, _ = os_muted
    hot_mic(window)
    assert window.coaching.mute_button.text() == "Mute me now"
    window.coaching.mute_button.click()
    qtbot.waitUntil(lambda: window.strip.state == "MUTED")
    assert mic.muted
    assert not window.coaching.banner.isVisibleTo(window)


def test_without_an_os_mute_the_controls_say_they_only_mark_the_agent_muted(
    qtbot: QtBot,
) -> None:
    window = make_window(qtbot, SCREEN)
    marks: list[Mute] = []
    connect_mute_toggle(window, None, open_mic=None, emit=marks.append)  # type: ignore[arg-type]
    window.show_event(Call(t=0.0, state="started"))
    assert window.strip.mute_button.text() == "Mark me as muted"
    assert window.coaching.mute_button.text() == "Mark me as muted"
    window.strip.mute_button.click()
    assert [(m.muted, m.source) for m in marks] == [(True, "app")]


# -- 3, 4. keep on top, no modal dialog ---------------------------------------------------


def test_keep_on_top_keeps_the_window_mapped(qtbot: QtBot) -> None:
    window = make_window(qtbot, SCREEN)
    window.show()
    qtbot.waitExposed(window)
    window.on_top_button.click()
    assert window.isVisible()
    handle = window.windowHandle()
    assert handle is not None
    assert handle.flags() & Qt.WindowType.WindowStaysOnTopHint
    window.on_top_button.click()
    assert window.isVisible()
    assert not handle.flags() & Qt.WindowType.WindowStaysOnTopHint


def test_an_open_article_neither_blocks_nor_hides_the_hot_mic_alert(qtbot: QtBot) -> None:
    window = make_window(qtbot, SCREEN)
    window.show()
    window.show_event(Call(t=0.0, state="started"))
    window.knowledge.show_article("Card has not arrived yet", "Body", "Cards", None)
    article = window.knowledge.article_window
    assert article is not None
    assert article.isVisible()
    assert QApplication.activeModalWidget() is None
    assert not article.isModal()
    hot_mic(window)
    assert window.coaching.banner.isVisibleTo(window)
    with qtbot.waitSignal(window.mute_requested) as asked:
        window.coaching.mute_button.click()
    assert asked.args == [True]
    window.knowledge.add_resolution()
    assert QApplication.activeModalWidget() is None


# -- tray and notifications ----------------------------------------------------------------


def test_announcements_that_arrive_while_hidden_notify_and_count_as_unread(qtbot: QtBot) -> None:
    notes: list[tuple[str, str]] = []
    window = make_window(qtbot, SCREEN, notifier=lambda title, text: notes.append((title, text)))
    window.show_message(announcement("u1", "urgent", "Outage in region 3"))
    window.show_message(announcement("i1", "info", "Lunch at one"))
    assert window.unread == 2
    assert window.tray.unread == 2
    assert notes == [("Urgent announcement", "Outage in region 3")]
    window.show_event(Call(t=0.0, state="started"))
    hot_mic(window)
    assert notes[-1][0] == "Your line is LIVE"
    assert window.isVisible()  # the hot mic brings the window back


# -- 8. calm cards ------------------------------------------------------------------------------


def test_a_muted_talk_card_clears_when_the_line_is_live_again(window_light: AgentWindow) -> None:
    window = window_light
    window.show_event(Call(t=0.0, state="started"))
    window.show_event(Mute(t=1.0, muted=True, source="os"))
    window.show_event(flag("talking_while_muted", "warning", 2.0))
    assert [c.flag.kind for c in window.coaching.visible_cards()] == ["talking_while_muted"]
    window.show_event(Mute(t=3.0, muted=False, source="os"))
    assert window.coaching.visible_cards() == []


def test_a_take_ownership_card_clears_once_ownership_is_said(window_light: AgentWindow) -> None:
    window = window_light
    window.show_event(Call(t=0.0, state="started"))
    window.show_event(flag("blame_shifting", "warning", 2.0))
    window.show_event(flag("ownership", "praise", 4.0))
    assert "blame_shifting" not in [c.flag.kind for c in window.coaching.visible_cards()]


def test_at_most_two_cards_and_the_knowledge_buttons_stay_on_screen(qtbot: QtBot) -> None:
    window = make_window(qtbot, SCREEN)
    window.show()
    window.show_event(Call(t=0.0, state="started"))
    window.show_event(Suggestion(t=1.0, articles=ARTICLES))
    for i, kind in enumerate(("fast_speech", "blame_shifting", "interruption", "dead_air")):
        window.show_event(flag(kind, "warning", 2.0 + i))
    qtbot.wait(20)
    assert len(window.coaching.visible_cards()) == 2
    first = window.knowledge.cards[0].buttons["used"]
    window.call_view.ensureWidgetVisible(first)
    assert fully_shown(window, first)


def test_the_call_end_clears_every_card(window_light: AgentWindow) -> None:
    window = window_light
    window.show_event(Call(t=0.0, state="started"))
    window.show_event(flag("fast_speech", "info", 2.0))
    window.show_event(Call(t=9.0, state="ended"))
    assert window.coaching.cards == []


# -- 9. feedback once per article per call -------------------------------------------------


def test_used_it_and_helpful_count_once_per_article_per_call_and_stay_pressed(
    window_light: AgentWindow, qtbot: QtBot
) -> None:
    window = window_light
    sent: list[tuple[str, str]] = []
    window.knowledge.feedback.connect(lambda a, b: sent.append((a, b)))
    window.show_event(Call(t=0.0, state="started"))
    window.show_event(Suggestion(t=1.0, articles=ARTICLES))
    card = window.knowledge.cards[0]
    for _ in range(3):
        card.buttons["used"].click()
    card.buttons["helpful"].click()
    assert sent == [(card.ref.id, "used"), (card.ref.id, "helpful")]
    assert card.buttons["used"].isChecked()
    assert card.buttons["helpful"].isChecked()
    window.show_event(Call(t=20.0, state="ended"))
    window.show_event(Call(t=30.0, state="started"))
    assert not card.buttons["used"].isChecked()
    card.buttons["used"].click()
    assert sent[-1] == (card.ref.id, "used")
    assert len(sent) == 3


# -- 10. ticker -----------------------------------------------------------------------------------


def test_the_ticker_shows_the_newest_first_even_with_six_active(window_light: AgentWindow) -> None:
    ticker = window_light.ticker
    for i in range(6):
        ticker.show_message(announcement(f"i{i}", "info", f"old {i}", created_at=1000.0 + i))
    ticker.show_message(announcement("new", "info", "Brand new", created_at=2000.0))
    assert ticker.scroller.text == "Brand new"  # on screen at once, not after a rotation
    assert [a.id for a in ticker.rotation()][:2] == ["new", "i5"]


def test_an_acknowledged_urgent_retires_from_the_ticker(window_light: AgentWindow) -> None:
    ticker = window_light.ticker
    ticker.show_message(announcement("u1", "urgent", "Outage"))
    ticker.show_message(announcement("i1", "info", "Lunch"))
    assert "Outage" in ticker.urgent_text.text()
    assert ticker.scroller.text != "Outage"
    ticker.ack_button.click()
    assert not ticker.urgent_bar.isVisibleTo(window_light)
    assert [a.id for a in ticker.rotation()] == ["i1"]


# -- 11. keyboard -----------------------------------------------------------------------------------


def test_tab_reaches_every_visible_control_in_reading_order(qtbot: QtBot) -> None:
    window = make_window(qtbot, SCREEN)
    window.show()
    busy_call(window, hot=True)
    window.order_tabs()
    chain = [w for w in window.tab_chain() if w.isVisibleTo(window) and w.isEnabled()]
    assert chain[:2] == [window.settings_button, window.on_top_button]
    focusable = [
        w
        for w in window.findChildren(QWidget)
        if w.isVisibleTo(window)
        and w.isEnabled()
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and w.window() is window
    ]
    missing = [w.accessibleName() or type(w).__name__ for w in focusable if w not in chain]
    assert missing == []
    ys = [w.mapTo(window, w.rect().topLeft()).y() for w in chain if w.parent() is not window.header]
    assert ys.index(min(ys)) < 3  # the top of the window comes first


@pytest.mark.parametrize("theme", ["light", "dark", "high-contrast"])
def test_the_focus_ring_on_the_red_acknowledge_button_stands_out(theme: str) -> None:
    from ui.theme import ring_for

    background, _ = THEMES[theme].colours("urgent")
    assert contrast(ring_for(background), background) >= 3.0


def test_the_help_menu_lists_the_shortcuts(window_light: AgentWindow) -> None:
    menu = window_light.help_button.menu()
    assert menu is not None
    shortcuts = {a.shortcut().toString() for a in menu.actions()}
    assert {"Ctrl+M", "Ctrl+Shift+A", "Ctrl+F"} <= shortcuts


# -- 12. theme applies live ------------------------------------------------------------------


def test_a_new_theme_applies_without_a_restart(window_light: AgentWindow) -> None:
    window = window_light
    window.show_message(announcement("u1", "urgent", "Outage"))
    before = window.ticker.urgent_bar.styleSheet()
    window.set_theme(THEMES["high-contrast"])
    assert window.ticker.urgent_bar.styleSheet() != before
    assert window.theme is THEMES["high-contrast"]


# -- 13. flag sharing says what is true ----------------------------------------------------


def test_turning_sharing_off_removes_the_shared_line(window_light: AgentWindow) -> None:
    window = window_light
    window.show_shared(
        Flag(t=1.0, kind="rudeness", severity="warning", channel="agent", evidence="x", tip="t")
    )
    assert window.shared.isVisibleTo(window)
    window.set_sharing(False)
    assert not window.shared.isVisibleTo(window)


@pytest.fixture
def window_light(qtbot: QtBot) -> AgentWindow:
    window = make_window(qtbot, SCREEN)
    window.show()
    return window


# -- settings: never modal, applied live, sharing shown as it is ------------------------------


@pytest.fixture
def user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user.toml"
    monkeypatch.setenv("AGENT_ASSIST_USER_SETTINGS", str(path))
    monkeypatch.setenv("AGENT_ASSIST_SITE_POLICY", str(tmp_path / "no-site.toml"))
    return path


def test_settings_open_beside_the_window_and_apply_at_once(
    qtbot: QtBot, app_font: None, user_settings: Path
) -> None:
    from agent_assist.app.dialogs import apply_live, open_settings

    window = make_window(qtbot, SCREEN)
    window.show()
    open_settings(window, first_run=False, on_saved=lambda s: apply_live(window, s))
    dialog = window.settings_dialog  # type: ignore[attr-defined]
    assert dialog.isVisible()
    assert QApplication.activeModalWidget() is None
    window.show_event(Call(t=0.0, state="started"))
    hot_mic(window)
    with qtbot.waitSignal(window.mute_requested):
        window.coaching.mute_button.click()  # the alert works while Settings is open
    dialog.editors["ui.theme"].setCurrentText("high-contrast")
    dialog.accept()
    assert window.theme is THEMES["high-contrast"]
    assert "high-contrast" in user_settings.read_text()


def test_in_the_demo_settings_show_sharing_as_on_and_do_not_save_it(
    qtbot: QtBot, user_settings: Path
) -> None:
    from agent_assist.app.dialogs import open_settings

    window = make_window(qtbot, SCREEN)
    open_settings(window, first_run=False, demo=True)
    dialog = window.settings_dialog  # type: ignore[attr-defined]
    box = dialog.editors["privacy.flag_feed"]
    assert box.isChecked()
    assert not box.isEnabled()
    assert "privacy.flag_feed" not in dialog.changes()
    dialog.close()


def test_the_window_does_not_grow_by_its_frame_at_each_start(qtbot: QtBot) -> None:
    first = make_window(qtbot, SCREEN)
    first.show()
    qtbot.waitExposed(first)
    first.move(300, 40)
    first.resize(420, 600)
    frame = first.frameGeometry()
    first.close()
    for _ in range(3):
        again = make_window(qtbot, SCREEN)
        again.show()
        qtbot.waitExposed(again)
        assert again.frameGeometry() == frame
        again.close()


def test_text_size_is_offered_in_percent_and_applies_at_once(
    qtbot: QtBot, app_font: None, user_settings: Path
) -> None:
    from agent_assist.app.dialogs import apply_live, open_settings

    window = make_window(qtbot, SCREEN)
    open_settings(window, first_run=False, on_saved=lambda s: apply_live(window, s))
    dialog = window.settings_dialog  # type: ignore[attr-defined]
    sizes = dialog.editors["ui.font_scale"]
    assert sizes.currentText() == "100 %"
    sizes.setCurrentText("150 %")
    assert dialog.changes()["ui.font_scale"] == 1.5
    dialog.accept()
    assert QApplication.font().pointSizeF() == pytest.approx(10.0 * 1.5)  # 10 pt is 100 %


def test_the_command_buttons_keep_their_short_text_when_toggled(window_light: AgentWindow) -> None:
    window = window_light
    window.on_top_button.click()
    assert window.on_top_button.text() == "Keep on top"
    assert window.on_top_button.isChecked()
    window.actions_["on_top"].trigger()  # Ctrl+Shift+T
    assert not window.on_top_button.isChecked()
    assert window.on_top_button.text() == "Keep on top"


# -- 16. cosmetic ----------------------------------------------------------------------------------


def test_the_meters_empty_when_the_call_ends(window_light: AgentWindow) -> None:
    from agent_assist.events import Level

    window = window_light
    window.show_event(Call(t=0.0, state="started"))
    window.show_event(Level(t=1.0, channel="agent", dbfs=-10.0, speech=True))
    assert window.strip.meters["agent"].value() > 0
    window.show_event(Call(t=2.0, state="ended"))
    assert [m.value() for m in window.strip.meters.values()] == [0, 0]


@pytest.mark.parametrize("theme", ["light", "dark", "high-contrast"])
def test_unticked_boxes_and_empty_meters_have_a_visible_edge(theme: str) -> None:
    t = THEMES[theme]
    assert contrast(t.control, t.panel) >= 3.0  # the box's and the meter's outline
    assert contrast(t.control, t.window) >= 3.0


def test_locked_settings_show_a_drawn_lock_not_an_emoji(qtbot: QtBot, user_settings: Path) -> None:
    from PySide6.QtWidgets import QLabel

    from agent_assist.config import load_settings
    from ui.settings import SettingsDialog

    policy = user_settings.parent / "site.toml"
    policy.write_text('locked = ["ui.theme"]\n[ui]\ntheme = "dark"\n')
    settings = load_settings(site=policy, user=user_settings)
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert not any("🔒" in text for text in texts)
    locks = [
        label for label in dialog.findChildren(QLabel) if label.accessibleName() == "locked by IT"
    ]
    assert locks
    assert all(not lock.pixmap().isNull() for lock in locks)


def test_add_a_resolution_says_submit_for_review(window_light: AgentWindow) -> None:
    window_light.knowledge.add_resolution()
    form = window_light.knowledge.resolution_form
    assert form is not None
    assert form.submit.text() == "Submit for review"
    form.close()
