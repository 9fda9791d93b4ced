"""The agent's window: a narrow panel beside the softphone, always wholly on screen.

Top to bottom, the part that never scrolls: the commands (Settings, Keep on
top, Compact, Help), the site-policy banner, the announcements (an urgent one
in a bar with Acknowledge), the line state with **Mute**, and the hot-mic
banner. Below it the call view scrolls or folds instead of growing the window:
coaching cards, the call script, knowledge, the live transcript and the
after-call summary (each a collapsible section). The **compact strip**
(Ctrl+Shift+C, or ``ui.compact`` in the site policy) keeps only the line
state, the one most important alert and the announcements: about 120 px.

The window stays inside its screen's available area, frame included, whatever
the scaling, theme or text size (:meth:`AgentWindow.fit`); nothing in it is
modal, so the hot-mic banner and urgent announcements are always reachable.
Everything arrives through :meth:`show_event` (call events) and
:meth:`show_message` (marquee messages), on the GUI thread.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import QEvent, QMargins, QRect, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QMoveEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from agent_assist.events import (
    Call,
    ErrorEvent,
    Flag,
    Level,
    Mute,
    Script,
    Status,
    Suggestion,
    Summary,
    Utterance,
)
from agent_assist.marquee.protocol import Announcement
from agent_assist.scripts import ScriptPack
from ui.callstrip import CallStrip
from ui.checklist import ChecklistPanel
from ui.coaching import CoachingPanel
from ui.desktop import Notifier, Tray, set_stays_on_top
from ui.geometry import dock_rect, fit_rect, frame_margins
from ui.knowledge import KnowledgePanel
from ui.sections import Caption, FlowRow, Section
from ui.shortcuts import help_menu, make_actions, shortcuts_text
from ui.summary import SummaryPanel
from ui.theme import Theme
from ui.ticker import MarqueeTicker
from ui.transcript import TranscriptView

__all__ = ["AgentWindow"]

_WIDTH_EM = 27  # the docked width, in text heights (wider with larger text)
_TIGHT_LINES = 34  # a screen less tall than this many lines of text: the commands scroll too


class AgentWindow(QMainWindow):
    """The agent's window (see the module docstring); a view fed on the GUI thread."""

    settings_requested = Signal()
    mute_requested = Signal(bool)  # True: mute; the strip turns MUTED only on a mute event

    def __init__(
        self,
        *,
        theme: Theme,
        always_on_top: bool = False,
        dock: str = "floating",
        compact: bool = False,
        compact_locked: bool = False,
        policy_problem: str | None = None,
        available: Callable[[], QRect] | None = None,
        notifier: Callable[[str, str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``dock``: right | left puts the window along that edge (unless it was moved).

        ``compact`` starts in the compact strip; ``compact_locked``: the site policy fixed it.
        ``policy_problem``: one line shown in a banner when the site policy could not be read.
        ``available``: the screen's available area (tests); ``notifier(title, text)``:
        desktop notifications (default: tray, notify-send, taskbar flash).
        """
        super().__init__(parent)
        self.setWindowTitle("Agent Assist")
        self.setAccessibleName("Agent Assist")
        self.theme = theme
        self._available = available
        self._frame = QMargins(0, 0, 0, 0)
        self._full_geometry: QRect | None = None
        self.compact = False
        self.tight = False  # short screen for the text size: see _arrange_for_height
        self.unread = 0
        self._frame_checks = 0  # watch_frame
        self._frame_timer = QTimer(self)
        self._frame_timer.timeout.connect(self._check_frame)
        self.actions_ = make_actions(self)
        for action in self.actions_.values():
            self.addAction(action)
        # the part that never scrolls
        self.header = QWidget()
        row = FlowRow(self.header)
        self.settings_button = self._command_button("Settings", "settings")
        self.on_top_button = self._command_button("Keep on top", "on_top")
        self.compact_button = self._command_button("Compact", "compact")
        self.help_button = QToolButton()
        self.help_button.setText("Help")
        self.help_button.setAccessibleName("Help and keyboard shortcuts")
        self.help_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.help_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.help_button.setMenu(help_menu(self.actions_, self))
        for button in (
            self.settings_button,
            self.on_top_button,
            self.compact_button,
            self.help_button,
        ):
            row.add(button)
        self.policy_banner = Caption(policy_problem or "")
        self.policy_banner.setAccessibleName("Site policy problem")
        self.policy_banner.setVisible(bool(policy_problem))
        self.ticker = MarqueeTicker(theme=theme)
        self.strip = CallStrip(theme=theme)
        self.coaching = CoachingPanel(theme=theme)
        self._top = top = QVBoxLayout()
        top.setSpacing(4)
        for widget in (
            self.header,
            self.policy_banner,
            self.ticker,
            self.strip,
            self.coaching.banner,
        ):
            top.addWidget(widget)  # the banner moves here from the coaching panel: never scrolls
        # the call view: scrolls or folds
        self.checklist = ChecklistPanel(theme=theme, expanded=False)
        self.knowledge = KnowledgePanel(theme=theme)
        self.knowledge_section = Section("Knowledge", self.knowledge)
        self.transcript = TranscriptView(theme=theme)
        self.transcript_section = Section("Transcript", self.transcript)
        self.summary = SummaryPanel(theme=theme)
        self.summary.step_label = self.checklist.label_of
        self.shared = Caption()
        self.shared.setAccessibleName("Shared with your supervisor")
        self.shared.hide()
        self.source = Caption()
        self.source.setAccessibleName("Audio source")
        body = QWidget()
        self._view = view = QVBoxLayout(body)
        view.setContentsMargins(0, 0, 0, 0)
        view.setSpacing(4)
        view.addWidget(self.coaching)
        view.addWidget(self.summary, 2)  # after a call, the first thing to read
        view.addWidget(self.checklist)
        view.addWidget(self.knowledge_section, 3)
        view.addWidget(self.transcript_section, 2)
        self.connection = Caption("Announcements: not connected")
        self.connection.setAccessibleName("Announcement server status")
        for footer in (self.shared, self.strip.status, self.source, self.connection):
            view.addWidget(footer)
        self.call_view = QScrollArea()
        self.call_view.setWidgetResizable(True)
        self.call_view.setFrameShape(QScrollArea.Shape.NoFrame)
        self.call_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.call_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.call_view.setWidget(body)
        self.call_view.setMinimumHeight(1)  # on a short screen the alerts get the room first
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.call_view, 1)
        self.setCentralWidget(central)
        status = self.statusBar()  # messages only: hidden while it has none
        status.setSizeGripEnabled(False)
        status.messageChanged.connect(
            lambda text: status.setVisible(bool(text) and not self.compact)
        )
        status.hide()
        # commands
        a = self.actions_
        a["settings"].triggered.connect(self.settings_requested)
        a["on_top"].toggled.connect(self.set_always_on_top)
        a["compact"].toggled.connect(self.set_compact)
        a["compact"].setEnabled(not compact_locked)
        if compact_locked:
            a["compact"].setToolTip("Set by your IT team (site policy)")
        a["mute"].triggered.connect(self.strip.request_toggle)
        a["acknowledge"].triggered.connect(self.ticker.ack_button.click)
        a["search"].triggered.connect(self._focus_search)
        a["shortcuts"].triggered.connect(self._show_shortcuts)
        self.strip.mute_requested.connect(self.mute_requested)
        self.coaching.mute_now.connect(lambda: self.strip.request(True))
        self.coaching.snoozed.connect(lambda _kind: self._order_tabs_soon())
        self.tray = Tray(self)
        self.tray.show_requested.connect(self.bring_back)
        self.tray.mute_requested.connect(self.strip.request_toggle)
        self.tray.quit_requested.connect(self.close)
        self._notifier = notifier or Notifier(self, self.tray).notify
        self.ticker.urgent_arrived.connect(self._urgent)
        self.ticker.arrived.connect(self._arrived)
        self.setWindowIcon(self.tray.icon.icon() if self.tray.icon else self.windowIcon())
        self._tabs = QTimer(self)
        self._tabs.setSingleShot(True)
        self._tabs.timeout.connect(self.order_tabs)
        self.set_theme(theme)
        self.set_mute_mode(os_mute=False)
        a["on_top"].setChecked(always_on_top)
        set_stays_on_top(self, always_on_top)
        width = max(self.minimumSizeHint().width(), _WIDTH_EM * self.fontMetrics().height())
        self.resize(width, min(760, self.area().height()))
        if not self._restore_geometry():
            self.dock(dock)
        if compact:
            a["compact"].setChecked(True)
        self.order_tabs()
        app = QApplication.instance()
        if app is not None:  # quitting (a signal, logoff, the tray) closes no window
            app.aboutToQuit.connect(self.save_place)

    def _command_button(self, text: str, command: str) -> QToolButton:
        """A short button for ``command``. Not the action's default button: that takes the
        action's (long) text whenever the action changes, and the row would wrap."""
        action = self.actions_[command]
        button = QToolButton()
        button.setText(text)
        button.setToolTip(action.toolTip())
        button.setCheckable(action.isCheckable())
        button.setChecked(action.isChecked())
        button.setEnabled(action.isEnabled())
        button.clicked.connect(action.trigger)
        action.toggled.connect(button.setChecked)
        action.enabledChanged.connect(button.setEnabled)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.setAccessibleName(action.text())
        return button

    # -- what the app feeds in --------------------------------------------------------

    def show_event(self, event: object) -> None:
        """Show a call event in the widgets it belongs to."""
        if isinstance(event, Level | Status):
            self.strip.show_event(event)
            return
        if isinstance(event, Mute | Call):
            self.strip.show_event(event)
            self.coaching.follow(event)
            self.checklist.follow(event)
            self.summary.follow(event)
            if isinstance(event, Call) and event.state == "started":
                self.knowledge.new_call()
            self.tray.set_mute_label(self.strip.mute_button.text())
        elif isinstance(event, Utterance):
            self.transcript.show_utterance(event)
            self.coaching.follow(event)
            return
        elif isinstance(event, Flag):
            self.coaching.show_flag(event)
            if event.kind == "hot_mic" and self.coaching.banner.isVisibleTo(self):
                self._hot_mic(event)
        elif isinstance(event, Suggestion):
            self.knowledge.show_suggestion(event)
        elif isinstance(event, Script):
            self.checklist.follow(event)
        elif isinstance(event, Summary):
            self.summary.follow(event)
        elif isinstance(event, ErrorEvent):
            self.statusBar().showMessage(event.message, 15000)
            return
        self._order_tabs_soon()

    def show_message(self, message: object) -> None:
        """Show a marquee message in the ticker."""
        self.ticker.show_message(message)
        self._order_tabs_soon()

    def show_shared(self, flag: Flag) -> None:
        """Tell the agent what their app just shared (the site's opt-in flag feed)."""
        self.shared.setText(
            f"Shared with your supervisor: {flag.kind.replace('_', ' ')} ({flag.severity}) at {flag.t:.0f} s"
            " · kind, severity and time only, never your words"
        )
        self.shared.show()

    def set_sharing(self, on: bool) -> None:
        """Whether flag summaries are shared now; off hides the last "Shared…" line."""
        if not on:
            self.shared.hide()

    def set_source(self, text: str) -> None:
        """Show where the audio comes from."""
        self.source.setText(text)

    def set_connection(self, text: str) -> None:
        """Show the marquee connection state."""
        self.connection.setText(f"Announcements: {text}")

    def set_mute_mode(self, *, os_mute: bool, target: str = "") -> None:
        """Whether Mute mutes the microphone in the OS, or only marks the agent muted."""
        self.strip.set_mute_mode(os_mute=os_mute, target=target)
        self.coaching.set_mute_mode(os_mute=os_mute)
        self.tray.set_mute_label(self.strip.mute_button.text())

    def mute_failed(self, reason: str) -> None:
        """The OS would not mute or unmute: the line stays as it was; say why."""
        self.strip.mute_failed(reason)
        self.statusBar().showMessage(reason, 15000)

    def set_script_pack(self, pack: ScriptPack | None) -> None:
        """The call script the checklist follows (None: no script)."""
        self.checklist.set_pack(pack)
        self._order_tabs_soon()

    def set_knowledge_empty(self, empty: bool) -> None:
        """The knowledge base has no articles: the panel says so, and how to fill it."""
        self.knowledge.set_empty(empty)

    # -- window behaviour ---------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Redraw every part in ``theme`` (apply_theme sets the palette): settings apply live."""
        self.theme = theme
        background, foreground = theme.colours("warning")
        self.policy_banner.setStyleSheet(
            f"background: {background}; color: {foreground}; padding: 6px; font-weight: bold;"
        )
        for part in (
            self.ticker,
            self.strip,
            self.coaching,
            self.knowledge,
            self.checklist,
            self.summary,
        ):
            part.set_theme(theme)
        self.transcript.theme = theme
        self._arrange_for_height()
        for section in (self.knowledge_section, self.transcript_section, self.summary):
            section.set_focus_colour(theme.focus)
        QTimer.singleShot(0, self.fit)  # the text size may have changed what fits

    def set_always_on_top(self, on: bool) -> None:
        """Keep the window above the others, or not; it stays where it is, mapped."""
        if self.actions_["on_top"].isChecked() != on:
            self.actions_["on_top"].setChecked(on)  # calls back here
            return
        set_stays_on_top(self, on)

    def set_compact(self, on: bool) -> None:
        """The compact strip: line state, the one most important alert and the ticker."""
        if self.actions_["compact"].isChecked() != on:
            self.actions_["compact"].setChecked(on)
            return
        if on == self.compact:
            return
        self.compact = on
        if on:
            self._full_geometry = self.frameGeometry()
        for widget in (self.header, self.call_view):
            widget.setVisible(not on)
        self.statusBar().setVisible(not on and bool(self.statusBar().currentMessage()))
        self.strip.set_compact(on)
        self.ticker.set_compact(on)
        self.coaching.set_compact(on)
        if on:  # the one card moves up, under the line
            self._top.addWidget(self.coaching)
        else:
            self._view.insertWidget(0, self.coaching)
        self.strip.full_view(on, self.actions_["compact"])
        central = self.centralWidget()
        layout = central.layout() if central is not None else None
        if layout is not None:
            layout.setContentsMargins(*(4, 4, 4, 4) if on else (6, 6, 6, 6))
        QTimer.singleShot(0, self._compact_geometry)

    def _compact_geometry(self, *, watch: bool = True) -> None:
        area, margins = self.area(), self._margins()
        if self.compact:
            needed = self._compact_height()
            height = max(needed, self.minimumSizeHint().height())
            frame = self.frameGeometry()
            tall = height + margins.top() + margins.bottom()
            top = area.top() if frame.top() < area.center().y() else area.bottom() - tall + 1
            self._place(QRect(frame.left(), top, frame.width(), tall))
        elif self._full_geometry is not None:
            self._place(self._full_geometry)
        self.fit()
        if watch and self.isVisible():
            self.watch_frame()

    def _place(self, frame: QRect) -> None:
        """Put the window's frame at ``frame``. The client area is set, not the frame's
        corner: some window managers place a moved and resized window by its client area,
        which put the title bar above the screen."""
        self.setGeometry(frame.marginsRemoved(self._margins()))

    def _compact_height(self) -> int:
        """What the compact strip needs: its visible parts at this width (a layout's own
        hint can still count the parts just hidden)."""
        width = self.width() - 8
        parts = [
            w
            for w in (self.policy_banner, self.ticker, self.strip, self.coaching)
            if w.isVisibleTo(self)
        ]
        heights = [w.heightForWidth(width) if w.hasHeightForWidth() else -1 for w in parts]
        total = sum(
            h if h > 0 else w.sizeHint().height() for w, h in zip(parts, heights, strict=True)
        )
        return total + self._top.spacing() * max(len(parts) - 1, 0) + 8

    def area(self) -> QRect:
        """The screen's available area (work area: without task bars and docks)."""
        if self._available is not None:
            return self._available()
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry() if screen is not None else QRect(0, 0, 1024, 768)

    def _margins(self) -> QMargins:
        self._frame = frame_margins(self, self._frame)
        return self._frame

    def _arrange_for_height(self) -> None:
        """On a screen short for the text size (large text, high scaling), only the alerts and
        the line state stay pinned: the commands move to the top of the call view, which
        scrolls, and the line state drops its second line."""
        tight = (
            not self.compact and self.area().height() < _TIGHT_LINES * self.fontMetrics().height()
        )
        if tight == self.tight:
            return
        self.tight = tight
        if tight:
            self._view.insertWidget(0, self.header)
        else:
            self._top.insertWidget(0, self.header)
        self.header.show()
        self.strip.set_terse(tight)
        self.ticker.set_terse(tight)
        self._order_tabs_soon()

    def fit(self) -> None:
        """Move (and if need be shrink) the window so that its frame is inside the area."""
        self._arrange_for_height()
        area, m = self.area(), self._margins()
        extra_w, extra_h = m.left() + m.right(), m.top() + m.bottom()
        self.setMaximumSize(area.width() - extra_w, area.height() - extra_h)
        minimum = self.minimumSizeHint().grownBy(m)
        frame = QRect(self.pos(), self.size().grownBy(m))
        target = fit_rect(frame, area, minimum)
        if target != frame:
            self._place(target)

    def dock(self, side: str) -> None:
        """Stand along the right or left edge of the screen, full height, beside the softphone."""
        if side not in ("right", "left"):
            self.fit()
            return
        area, m = self.area(), self._margins()
        width = min(self.width() + m.left() + m.right(), area.width() * 45 // 100)
        frame = dock_rect(area, side, max(width, self.minimumSizeHint().width()))
        self.resize(frame.width() - m.left() - m.right(), frame.height() - m.top() - m.bottom())
        self.move(frame.topLeft())
        self._docked = side

    def bring_back(self) -> None:
        """Show the window again (tray, hot mic): restored, raised, inside the screen."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        self.fit()

    def hidden(self) -> bool:
        """True when the agent cannot see the window (hidden or minimised)."""
        return not self.isVisible() or self.isMinimized()

    def _hot_mic(self, flag: Flag) -> None:
        if self.hidden():
            self._notifier("Your line is LIVE", flag.tip)
        self.bring_back()  # above the article window and everything else

    def _urgent(self, announcement: Announcement) -> None:
        if self.hidden():
            self._notifier("Urgent announcement", announcement.text)
        QApplication.alert(self)

    def _arrived(self, _announcement: Announcement) -> None:
        if self.hidden() or not self.isActiveWindow():
            self.unread += 1
            self.tray.set_unread(self.unread)

    def changeEvent(self, event: QEvent) -> None:
        """Reading the window clears the unread count."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.unread = 0
            self.tray.set_unread(0)

    def showEvent(self, event: QShowEvent) -> None:
        """Inside the screen from the first frame."""
        super().showEvent(event)
        self.fit()
        self.watch_frame()

    def moveEvent(self, event: QMoveEvent) -> None:
        """The window manager has framed (or placed) the window: make sure the frame fits."""
        super().moveEvent(event)
        self._check_frame()

    def watch_frame(self) -> None:
        """Check the frame for a second: a window manager frames a window (and may place it
        by its client area) some time after Qt asks, without a move event when the client
        area stays put, which left the title bar above the screen."""
        self._frame_checks = 5
        self._frame_timer.start(200)

    def _check_frame(self) -> None:
        if self._frame_checks > 0:
            self._frame_checks -= 1
        else:
            self._frame_timer.stop()
        known = self._frame
        if frame_margins(self, known) != known or not self.area().contains(self.frameGeometry()):
            if self.compact:
                self._compact_geometry(watch=False)
            else:
                self.fit()

    def _focus_search(self) -> None:
        if self.compact:
            self.set_compact(False)
        self.knowledge_section.set_expanded(True)
        self.knowledge.search.setFocus()
        self.knowledge.search.selectAll()

    def _show_shortcuts(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information, "Keyboard shortcuts", shortcuts_text(), parent=self
        )
        box.setWindowModality(Qt.WindowModality.NonModal)  # never blocks an alert
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    def _order_tabs_soon(self) -> None:
        self._tabs.start(0)

    def tab_chain(self) -> list[QWidget]:
        """The focusable controls in reading order: top to bottom, left to right."""
        chain: list[QWidget] = [
            self.settings_button,
            self.on_top_button,
            self.compact_button,
            self.help_button,
        ]
        chain += [self.ticker.ack_button, self.coaching.mute_button, self.coaching.banner_close]
        chain += [self.strip.mute_button, *self.strip.tools()]
        for card in self.coaching.cards:
            chain += [card.snooze_button, card.close_button]
        chain += [self.checklist.header, self.knowledge_section.header, self.knowledge.search]
        for article in self.knowledge.cards:
            chain += list(article.buttons.values())
        chain += [self.knowledge.add, self.transcript_section.header, self.transcript]
        chain += [self.summary.header, self.summary.note, self.summary.copy]
        return chain

    def order_tabs(self) -> None:
        """Tab follows the reading order (new cards would otherwise come last)."""
        chain = self.tab_chain()
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _restore_geometry(self) -> bool:
        store = QSettings()
        saved = store.value("agent_window/frame")
        if not isinstance(saved, QRect) or saved.isEmpty():
            return False
        known = store.value("agent_window/frame_margins")
        if self._frame.isNull() and isinstance(known, list) and len(known) == 4:
            # not framed yet: the last frame's thickness, else the window grows by it each start
            self._frame = QMargins(*(int(v) for v in known))
        m = self._margins()  # the full view's frame, moved inside this screen if need be
        self.resize(saved.width() - m.left() - m.right(), saved.height() - m.top() - m.bottom())
        self.move(saved.topLeft())
        self.fit()
        return True

    def save_place(self) -> None:
        """Remember the full view's frame (and the frame's thickness) for the next start."""
        full = self._full_geometry if self.compact else None
        store = QSettings()
        store.setValue("agent_window/frame", full or self.frameGeometry())
        m = self._margins()
        store.setValue("agent_window/frame_margins", [m.left(), m.top(), m.right(), m.bottom()])

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the full view's place and close the article windows."""
        self.save_place()
        self.knowledge.close_windows()
        super().closeEvent(event)
