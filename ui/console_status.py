"""The console's frame: the connection banner and status line, the critical-flag alert, and the
Active tab's list with its reminder setting; fitting the window on its screen and tick boxes
that show on every theme.

The banner speaks plainly: "Disconnected — reconnecting…" whatever the network
error was (exception names never reach the screen); only a reason the supervisor
can act on (a refused token, an app too old, no server configured) is named.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent_assist.marquee import protocol as proto
from ui.console_rows import AnnouncementRow, plain_label
from ui.theme import Theme

__all__ = [
    "RECONNECTING",
    "ActivePage",
    "AlertBar",
    "StatusLine",
    "banner_text",
    "fit_on_screen",
    "indicator_style",
]

RECONNECTING = "Disconnected — reconnecting…"
# reasons a retry cannot fix, as the marquee client words them, and what to tell the supervisor
_FINAL = (
    ("refused this token", "Not connected: the server refused this sign-in token. Ask IT for a new one."),
    ("update the app", "Not connected: this console is too old for the server. Update the app."),
    ("no server or token", "Not connected: no server or token is set up."),
    ("certificate", "Disconnected: the server's certificate was refused — reconnecting…"),
)  # fmt: skip


def banner_text(state: str) -> str | None:
    """What the banner says for a client state ("connected": nothing)."""
    if state == "connected":
        return None
    return next((words for needle, words in _FINAL if needle in state), RECONNECTING)


class StatusLine:
    """The banner (top, only while not connected) and the status line (bottom: connection
    state and the latest message). ``line`` is the bottom layout."""

    def __init__(self, theme: Theme) -> None:
        background, foreground = theme.colours("warning")
        self.banner = plain_label(name="Connection problem", wrap=True)
        self.banner.setStyleSheet(
            f"background:{background}; color:{foreground}; padding:6px; font-weight:bold;"
        )
        self.connection = plain_label("Connecting…", name="Connection state")
        self.notice = plain_label(name="Latest message", wrap=True)
        self.connection.setMinimumWidth(1)  # long text is cut, not widening the window
        self.line = QHBoxLayout()
        self.line.addWidget(self.connection)
        self.line.addWidget(self.notice, 1)
        self.banner.hide()
        self._since: float | None = None

    def set_state(self, state: str) -> None:
        """Show a client state: the banner while not connected (with since when data is stale)."""
        words = banner_text(state)
        if words is None:
            self._since = None
            self.banner.hide()
            self.connection.setText("Connected")
            return
        if self._since is None:
            self._since = time.time()
        when = time.strftime("%H:%M", time.localtime(self._since))
        self.banner.setText(f"{words} What is shown is as of {when}.")
        self.banner.show()
        self.connection.setText("Offline")
        self.connection.setToolTip("")

    def set_connected(self, text: str) -> None:
        """Who the console is connected as."""
        self.connection.setText(text)
        self.connection.setToolTip(text)

    def set_notice(self, text: str) -> None:
        """The one line for errors and confirmations (newest wins; "" clears it)."""
        self.notice.setText(" ".join(text.split()))
        self.notice.setToolTip(text)


class AlertBar(QFrame):
    """A critical flag, loud, above the tabs until looked at; ``show_requested(agent)``."""

    show_requested = Signal(str)

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        background, foreground = theme.colours("critical")
        self.setStyleSheet(
            f"QFrame {{ background:{background}; }} QLabel {{ color:{foreground}; }}"
        )
        self.setAccessibleName("Critical flag alert")
        self.text = plain_label(name="Critical flag", wrap=True)
        self.look = QPushButton("Show")
        self.look.setAccessibleName("Show the agent's flags")
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setAccessibleName("Dismiss the critical flag alert")
        self.dismiss.clicked.connect(self.clear)
        self._agent = ""
        self.look.clicked.connect(lambda: self.show_requested.emit(self._agent))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.look)
        layout.addWidget(self.dismiss)
        self.hide()

    def raise_for(self, notice: proto.FlagNotice) -> None:
        """Alert about one critical flag (the newest replaces an older alert)."""
        self._agent = notice.agent
        when = time.strftime("%H:%M", time.localtime(notice.at))
        kind = notice.kind.replace("_", " ")
        self.text.setText(f"CRITICAL: {notice.agent} — {kind} at {when}")
        self.show()

    def clear(self) -> None:
        """Hide the alert (the flag stays in the feed)."""
        self.hide()


class ActivePage(QWidget):
    """The Active tab: the reminder setting and the scrolling list of announcement rows."""

    def __init__(self, *, remind_after_min: int) -> None:
        super().__init__()
        self.remind = QSpinBox()
        self.remind.setAccessibleName("Remind about unacknowledged urgent announcements after")
        self.remind.setRange(1, 240)
        self.remind.setValue(remind_after_min)
        self.remind.setSuffix(" min")
        label = QLabel("Remind me when an urgent one is not acknowledged after")
        label.setWordWrap(True)
        label.setBuddy(self.remind)
        setting = QHBoxLayout()
        setting.addWidget(label, 1)
        setting.addWidget(self.remind)
        self.list_host = QWidget()
        self._list = QVBoxLayout(self.list_host)
        self._list.setContentsMargins(0, 0, 0, 0)
        self._list.addStretch(1)
        self.empty = plain_label("No active announcements.", name="No active announcements")
        self._list.insertWidget(0, self.empty)
        self.scroller = QScrollArea()
        self.scroller.setAccessibleName("Active announcements")
        self.scroller.setWidgetResizable(True)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setWidget(self.list_host)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(setting)
        layout.addWidget(self.scroller, 1)

    def place(self, rows: list[AnnouncementRow]) -> None:
        """Show ``rows`` in this order; tab order follows the screen."""
        for row in rows:
            self._list.removeWidget(row)
        for index, row in enumerate(rows, start=1):  # after the "none" label
            self._list.insertWidget(index, row)
        self.empty.setVisible(not rows)
        previous: QWidget | None = None
        for row in rows:
            for widget in (row.who, row.edit, row.retract, row.resend):
                if previous is not None:
                    QWidget.setTabOrder(previous, widget)
                previous = widget

    def take(self, row: AnnouncementRow) -> None:
        """Remove one row for good."""
        self._list.removeWidget(row)
        row.hide()
        row.deleteLater()


def indicator_style(theme: Theme) -> str:
    """Tick boxes (check boxes and the pickers' items) outlined in the theme's own colours,
    so an unticked one shows on a dark background; a ticked one is filled with the accent.
    Text fields and lists get a border in the theme's border colour for the same reason."""
    return (
        "QPlainTextEdit, QLineEdit, QListView, QTreeView {"
        f" border: 1px solid {theme.border}; }}"
        "QCheckBox::indicator, QListView::indicator {"
        f" width: 13px; height: 13px; border: 2px solid {theme.text};"
        f" background: {theme.panel}; border-radius: 2px; }}"
        "QCheckBox::indicator:checked, QListView::indicator:checked {"
        f" background: {theme.accent}; border-color: {theme.text}; }}"
        "QCheckBox::indicator:disabled, QListView::indicator:disabled {"
        f" border-color: {theme.muted}; }}"
    )


def fit_on_screen(window: QWidget, *, tries: int = 0) -> None:
    """Shrink and move ``window`` so that all of it, frame included, is on its screen.

    The frame is known only once the window manager has wrapped the window; until
    then (no frame yet) it looks again every 100 ms, ``tries`` more times.
    """
    screen = window.screen()
    if screen is None:
        return
    frame = window.frameGeometry()
    if frame.size() == window.size() and tries > 0:
        QTimer.singleShot(100, lambda: fit_on_screen(window, tries=tries - 1))
        return
    room = screen.availableGeometry()
    extra_w, extra_h = frame.width() - window.width(), frame.height() - window.height()
    width = min(window.width(), room.width() - extra_w)
    height = min(window.height(), room.height() - extra_h)
    window.resize(width, height)
    left = min(max(frame.left(), room.left()), room.right() + 1 - width - extra_w)
    top = min(max(frame.top(), room.top()), room.bottom() + 1 - height - extra_h)
    window.move(left, top)
