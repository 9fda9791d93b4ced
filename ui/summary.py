"""The after-call summary panel (issue 15): the call in numbers and the wrap-up note.

At ``call ended`` the app's session produces a ``summary`` event; this panel
shows it at once: how long, who talked how long, hold, mute and dead air, the
script's adherence, and the wrap-up **note** in an editable box with **Copy
note**, one click to paste it into the CRM (wrap-up time is what agents and
their managers care about). The panel is the agent's own and private; it
folds away when the next call starts (:meth:`SummaryPanel.follow`).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from agent_assist.events import Call, Summary
from agent_assist.summary import clock
from ui.sections import Caption, Section
from ui.theme import Theme

__all__ = ["SummaryPanel", "headline"]


def headline(summary: Summary) -> str:
    """The call in one line of numbers, for the agent."""
    parts = [
        f"{clock(summary.duration)} call",
        f"you {clock(summary.talk.agent)}, customer {clock(summary.talk.customer)}",
    ]
    parts += [
        f"{what} {clock(s)}"
        for what, s in (
            ("on hold", summary.hold),
            ("muted", summary.mute),
            ("dead air", summary.dead_air),
        )
        if s
    ]
    return " · ".join(parts)


class SummaryPanel(Section):
    """The last call's summary with its editable, copyable wrap-up note (hidden until one)."""

    def __init__(self, *, theme: Theme) -> None:
        body = QWidget()
        self.numbers = Caption()
        self.numbers.setAccessibleName("Call summary")
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Wrap-up note (editable)")
        self.note.setTabChangesFocus(True)
        self.note.setMinimumHeight(60)
        self.copy = QPushButton("Copy note")
        self.copy.setAccessibleName("Copy the wrap-up note for the CRM")
        self.copy.setToolTip("Copies the note as edited; paste it into the CRM")
        self.copy.clicked.connect(self.copy_note)
        self.copied = Caption()
        self.copied.setAccessibleName("Copy result")
        row = QHBoxLayout()
        row.addWidget(self.copy)
        row.addWidget(self.copied, 1)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.numbers)
        layout.addWidget(self.note, 1)
        layout.addLayout(row)
        super().__init__("After the call", body, expanded=True)
        self.theme = theme
        self.summary: Summary | None = None
        self.step_label: Callable[[str], str] = lambda step: step  # script step id -> label
        self.setAccessibleName("After-call summary")
        self._clear = QTimer(self)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(lambda: self.copied.setText(""))
        self.hide()

    def set_theme(self, theme: Theme) -> None:
        """Redraw in ``theme``'s colours (the panel uses the palette's)."""
        self.theme = theme

    def follow(self, event: object) -> None:
        """A summary shows (open); the next call folds it away (still there to copy)."""
        if isinstance(event, Summary):
            self.show_summary(event)
        elif isinstance(event, Call) and event.state == "started" and self.summary is not None:
            self.set_expanded(False)

    def show_summary(self, summary: Summary) -> None:
        """Show ``summary``: numbers, script adherence and the note, ready to edit and copy."""
        self.summary = summary
        lines = [html.escape(headline(summary))]
        if summary.script is not None and summary.script.required:
            names = ", ".join(self.step_label(s) for s in summary.script.missed)
            missed = f"; missed: {names}" if names else ""
            lines.append(
                html.escape(
                    f"Script {summary.script.done} of {summary.script.required} required steps{missed}"
                )
            )
        self.numbers.setText("<br>".join(lines))
        self.note.setPlainText(summary.note)
        self.copied.setText("")
        self.set_note(clock(summary.duration))
        self.show()
        self.set_expanded(True)

    def copy_note(self) -> None:
        """Put the note, as edited, on the clipboard, and say so."""
        text = self.note.toPlainText().strip()
        clipboard = QGuiApplication.clipboard()
        if not text or clipboard is None:
            self.copied.setText("Nothing to copy")
            return
        clipboard.setText(text)
        self.copied.setText("Copied: paste it into the CRM")
        self._clear.start(8000)
