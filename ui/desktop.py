"""Desktop conventions: the tray icon, notifications, and "keep on top" that keeps the window.

* :class:`Tray`: the icon shows the number of unread announcements; its menu
  offers Show, Mute/Unmute and Quit; a click brings the window back.
* :class:`Notifier`: a desktop notification, through the tray where there is
  one (Windows, KDE, GNOME with the AppIndicator extension), else
  ``notify-send`` (libnotify, started detached: nothing waits), else the
  taskbar entry flashes.
* :func:`set_stays_on_top`: changing a *mapped* window's flags through QWidget
  makes Qt unmap and recreate it (the window vanished); the native window's
  own flag changes the window manager's "above" state in place.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from PySide6.QtCore import QObject, QProcess, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QSystemTrayIcon, QWidget

from ui.icons import app_icon

__all__ = ["Notifier", "Tray", "pick_file", "set_stays_on_top"]


def pick_file(
    parent: QWidget, title: str, name_filter: str, on_chosen: Callable[[str], None]
) -> QFileDialog:
    """A file picker that blocks nothing (a static QFileDialog is modal, and would block the
    agent's window and its alerts); ``on_chosen(path)`` once a file is picked."""
    dialog = QFileDialog(parent, title, "", name_filter)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(on_chosen)
    dialog.show()
    return dialog


def set_stays_on_top(window: QWidget, on: bool) -> None:
    """Keep ``window`` above others (or not) without unmapping it."""
    handle = window.windowHandle()
    if handle is None or not window.isVisible():
        window.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, on)  # not shown: nothing to lose
        return
    handle.setFlag(Qt.WindowType.WindowStaysOnTopHint, on)


class Tray(QObject):
    """The tray icon (when the desktop has a tray): unread count, Show / Mute / Quit."""

    show_requested = Signal()
    mute_requested = Signal()  # toggle
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.unread = 0
        self.icon: QSystemTrayIcon | None = None
        self.menu = QMenu()
        self.show_action = QAction("Show Agent Assist", self.menu)
        self.show_action.triggered.connect(self.show_requested)
        self.mute_action = QAction("Mute microphone", self.menu)
        self.mute_action.triggered.connect(self.mute_requested)
        self.quit_action = QAction("Quit Agent Assist", self.menu)
        self.quit_action.triggered.connect(self.quit_requested)
        for action in (self.show_action, self.mute_action, self.quit_action):
            self.menu.addAction(action)
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(app_icon(), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
            self.icon.show()
        self.set_unread(0)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason != QSystemTrayIcon.ActivationReason.Context:
            self.show_requested.emit()

    def set_unread(self, count: int) -> None:
        """Show ``count`` unread announcements on the icon and in its tooltip."""
        self.unread = count
        tip = (
            f"Agent Assist: {count} unread announcement{'s' if count != 1 else ''}"
            if count
            else "Agent Assist"
        )
        if self.icon is not None:
            self.icon.setIcon(app_icon(count))
            self.icon.setToolTip(tip)

    def set_mute_label(self, text: str) -> None:
        """What the menu's mute entry says (Mute microphone, Unmute microphone, Mark me as…)."""
        self.mute_action.setText(text)

    def notify(self, title: str, text: str) -> bool:
        """A notification through the tray; False when the tray cannot show one."""
        if self.icon is None or not QSystemTrayIcon.supportsMessages():
            return False
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 15_000)
        return True


class Notifier:
    """Desktop notifications (see the module docstring); never waits.

    ``run`` starts a program detached (a seam for tests); ``alert`` flashes the window.
    """

    def __init__(
        self,
        window: QWidget,
        tray: Tray | None,
        *,
        run: Callable[[str, list[str]], bool] | None = None,
    ) -> None:
        self.window, self.tray = window, tray
        self._run = run or (lambda program, args: QProcess.startDetached(program, args)[0])
        self.sent: list[tuple[str, str, str]] = []  # (how, title, text), for the agent's record

    def notify(self, title: str, text: str) -> str:
        """Show a notification; returns how: tray, notify-send or alert."""
        how = "alert"
        if self.tray is not None and self.tray.notify(title, text):
            how = "tray"
        else:
            program = shutil.which("notify-send")
            if program is not None and self._run(
                program, ["--app-name=Agent Assist", "--urgency=critical", title, text]
            ):
                how = "notify-send"
        QApplication.alert(self.window)
        self.sent.append((how, title, text))
        return how
