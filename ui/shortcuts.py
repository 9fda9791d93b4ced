"""The agent window's commands: one QAction each, with its key, listed in the Help menu.

Keys that must work whatever window of ours has the focus (mute, acknowledge:
an article may be open) are application-wide; the others belong to the agent's
window. The Help menu lists every command with its key, so the keys can be
learnt where they are used.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

__all__ = ["COMMANDS", "Command", "help_menu", "make_actions", "shortcuts_text"]


@dataclass(frozen=True, slots=True)
class Command:
    """A command of the agent's window: its name, key and description."""

    name: str
    key: str
    text: str
    everywhere: bool = False  # also while an article or the resolution form has the focus
    checkable: bool = False


COMMANDS = (
    Command("mute", "Ctrl+M", "Mute / unmute the microphone", everywhere=True),
    Command("acknowledge", "Ctrl+Shift+A", "Acknowledge the urgent announcement", everywhere=True),
    Command("search", "Ctrl+F", "Search the knowledge base"),
    Command(
        "compact",
        "Ctrl+Shift+C",
        "Compact strip (line state, alerts, announcements)",
        checkable=True,
    ),
    Command("on_top", "Ctrl+Shift+T", "Keep this window on top", checkable=True),
    Command("settings", "Ctrl+,", "Settings"),
    Command("shortcuts", "F1", "Keyboard shortcuts"),
)


def make_actions(owner: QObject) -> dict[str, QAction]:
    """One QAction per command, with its key and shortcut context."""
    actions = {}
    for command in COMMANDS:
        action = QAction(command.text, owner)
        action.setShortcut(QKeySequence(command.key))
        action.setCheckable(command.checkable)
        action.setShortcutContext(
            Qt.ShortcutContext.ApplicationShortcut
            if command.everywhere
            else Qt.ShortcutContext.WindowShortcut
        )
        action.setToolTip(
            f"{command.text} ({QKeySequence(command.key).toString(QKeySequence.SequenceFormat.NativeText)})"
        )
        actions[command.name] = action
    return actions


def help_menu(actions: dict[str, QAction], parent: QWidget | None = None) -> QMenu:
    """The Help menu: every command with its key. Give it a ``parent``: a button's menu is
    not owned by the button, and an unowned menu is garbage collected."""
    menu = QMenu("Help", parent)
    menu.setToolTipsVisible(True)
    menu.addSection("Keyboard shortcuts")
    for command in COMMANDS:
        menu.addAction(actions[command.name])
    return menu


def shortcuts_text() -> str:
    """Every command and its key, one per line (the shortcuts window, screen readers)."""
    return "\n".join(
        f"{QKeySequence(c.key).toString(QKeySequence.SequenceFormat.NativeText)}\t{c.text}"
        for c in COMMANDS
    )
