"""The agent's window: a narrow panel beside the softphone.

Top to bottom: the marquee ticker, the call strip (LIVE/MUTED, levels, status),
coaching cards, then knowledge above the live transcript. Everything arrives
through :meth:`show_event` (call events) and :meth:`show_message` (marquee
messages), always on the GUI thread: the app connects them to a
:class:`ui.bridge.Bridge`'s signals.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QStyle,
    QSystemTrayIcon,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from agent_assist.events import Call, ErrorEvent, Flag, Level, Mute, Status, Suggestion, Utterance
from agent_assist.marquee.protocol import Announcement
from ui.callstrip import CallStrip
from ui.coaching import CoachingPanel
from ui.knowledge import KnowledgePanel
from ui.theme import Theme
from ui.ticker import MarqueeTicker
from ui.transcript import TranscriptView

__all__ = ["AgentWindow"]


class AgentWindow(QMainWindow):
    """The agent's window: call strip, ticker, coaching, knowledge, transcript.

    A view: the app feeds it with :meth:`show_event` and :meth:`show_message` on the GUI thread.
    """

    settings_requested = Signal()

    def __init__(
        self,
        *,
        theme: Theme,
        always_on_top: bool = False,
        dock: str = "floating",
        policy_problem: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``dock``: right | left puts the window along that screen edge (unless it was moved).

        ``policy_problem``: one line shown in a banner at the top when the site policy could
        not be read (the app runs on safe settings; the agent should tell IT).
        """
        super().__init__(parent)
        self.setWindowTitle("Agent Assist")
        self.setAccessibleName("Agent Assist")
        self.theme = theme
        self.ticker = MarqueeTicker(theme=theme)
        self.strip = CallStrip(theme=theme)
        self.coaching = CoachingPanel(theme=theme)
        self.knowledge = KnowledgePanel(theme=theme)
        self.transcript = TranscriptView(theme=theme)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.source.setAccessibleName("Audio source")
        self.shared = QLabel()
        self.shared.setWordWrap(True)
        self.shared.setAccessibleName("Shared with your supervisor")
        self.shared.hide()
        self.connection = QLabel("Announcements: not connected")
        self.connection.setAccessibleName("Announcement server status")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.knowledge)
        split.addWidget(self.transcript)
        split.setSizes([340, 200])
        self.policy_banner = QLabel(policy_problem or "")
        self.policy_banner.setWordWrap(True)
        self.policy_banner.setAccessibleName("Site policy problem")
        background, foreground = theme.colours("warning")
        self.policy_banner.setStyleSheet(
            f"background: {background}; color: {foreground}; padding: 6px; font-weight: bold;"
        )
        self.policy_banner.setVisible(bool(policy_problem))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.policy_banner)
        layout.addWidget(self.ticker)
        layout.addWidget(self.strip)
        self.coaching.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout.addWidget(self.coaching)
        layout.addWidget(split, 1)
        layout.addWidget(self.shared)
        layout.addWidget(self.source)
        self.setCentralWidget(central)
        self.statusBar().addWidget(self.connection, 1)
        bar = QToolBar("Window")
        bar.setMovable(False)
        self.addToolBar(bar)
        settings = QAction("Settings", self)
        settings.setShortcut(QKeySequence("Ctrl+,"))
        settings.triggered.connect(self.settings_requested)
        self.on_top = QAction("Keep on top", self)
        self.on_top.setCheckable(True)
        self.on_top.setChecked(always_on_top)
        self.on_top.toggled.connect(self.set_always_on_top)
        bar.addAction(settings)
        bar.addAction(self.on_top)
        self.set_always_on_top(always_on_top)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(self._icon(), self)
            self.tray.setToolTip("Agent Assist")
            self.tray.activated.connect(self._bring_back)
            self.tray.show()
        self.ticker.urgent_arrived.connect(self._notify)
        self.strip.mute_toggled.connect(self._mute_toggled)
        self.resize(400, 760)
        if not self._restore_geometry():
            self.dock(dock)

    def _bring_back(self, _reason: object = None) -> None:
        self.showNormal()
        self.raise_()

    def _mute_toggled(self, muted: bool) -> None:
        if muted:
            self.coaching.line_muted()

    def _icon(self) -> QIcon:
        return self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)

    # -- what the app feeds in --------------------------------------------------------

    def show_event(self, event: object) -> None:
        """Show a call event in the widget it belongs to."""
        if isinstance(event, Level | Mute | Call | Status):
            self.strip.show_event(event)
            if isinstance(event, Mute) and event.muted:
                self.coaching.line_muted()
            if isinstance(event, Call) and event.state == "ended":
                self.coaching.clear_call()
        elif isinstance(event, Utterance):
            self.transcript.show_utterance(event)
        elif isinstance(event, Flag):
            self.coaching.show_flag(event)
            if event.kind == "hot_mic":
                self.raise_()
        elif isinstance(event, Suggestion):
            self.knowledge.show_suggestion(event)
        elif isinstance(event, ErrorEvent):
            self.statusBar().showMessage(event.message, 15000)

    def show_message(self, message: object) -> None:
        """Show a marquee message in the ticker."""
        self.ticker.show_message(message)

    def show_shared(self, flag: Flag) -> None:
        """Tell the agent what their app just shared (the site's opt-in flag feed)."""
        self.shared.setText(
            f"Shared with your supervisor: {flag.kind.replace('_', ' ')} ({flag.severity}) at {flag.t:.0f} s"
            " · kind, severity and time only, never your words"
        )
        self.shared.show()

    def set_source(self, text: str) -> None:
        """Show where the audio comes from."""
        self.source.setText(text)

    def set_connection(self, text: str) -> None:
        """Show the marquee connection state."""
        self.connection.setText(f"Announcements: {text}")

    # -- window behaviour ---------------------------------------------------------------

    def set_always_on_top(self, on: bool) -> None:
        """Keep the window above the others, or not."""
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, on)
        if self.isVisible():
            self.show()  # Qt hides a window whose flags change

    def _notify(self, announcement: Announcement) -> None:
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            self.tray.showMessage(
                "Urgent announcement", announcement.text, QSystemTrayIcon.MessageIcon.Warning, 15000
            )
        QApplication.alert(self)

    def _restore_geometry(self) -> bool:
        saved = QSettings().value("agent_window/geometry")
        return isinstance(saved, QByteArray) and self.restoreGeometry(saved)

    def dock(self, side: str) -> None:
        """Stand along the right or left edge of the screen, full height, beside the softphone."""
        screen = self.screen() or QApplication.primaryScreen()
        if side not in ("right", "left") or screen is None:
            return
        area = screen.availableGeometry()
        width = min(max(self.width(), 360), area.width() // 3 or self.width())
        x = area.right() - width + 1 if side == "right" else area.left()
        self.setGeometry(x, area.top(), width, area.height())

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the window's geometry for next time."""
        QSettings().setValue("agent_window/geometry", self.saveGeometry())
        super().closeEvent(event)
