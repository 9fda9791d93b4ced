"""The full article and "Add a resolution": non-modal windows beside the agent's window.

Neither is a modal dialog: nothing may block or cover the hot-mic alert or an
urgent announcement (issue 11). They are top-level windows of their own (not
children: a child window would be kept above the agent's window by the window
manager), placed beside the agent's window (:func:`place_beside`) and closed
with it.
"""

from __future__ import annotations

import html
from typing import TypedDict

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from agent_assist.marquee.protocol import ProtocolError, Submit, validate
from ui.sections import Caption

__all__ = ["ArticleWindow", "Resolution", "ResolutionForm", "place_beside"]


class Resolution(TypedDict):
    """A resolution the agent wrote in the panel (``resolution_submitted`` carries one)."""

    title: str
    steps: str
    triggers: list[str]


def place_beside(window: QWidget, anchor: QWidget, *, width: int, height: int) -> None:
    """Put ``window`` next to ``anchor`` (left of it if there is room, else right, else over
    its lower part so its alerts stay in view), inside the screen's available area."""
    screen = anchor.screen() or QGuiApplication.primaryScreen()
    area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1024, 768)
    frame = anchor.frameGeometry()
    width, height = min(width, area.width()), min(height, area.height())
    if frame.left() - area.left() >= width:
        x, y = frame.left() - width, frame.top()
    elif area.right() - frame.right() >= width:
        x, y = frame.right() + 1, frame.top()
    else:  # no room beside: cover the lower half, never the line state and the alerts
        x, y = frame.left(), frame.top() + frame.height() // 2
        height = min(height, area.bottom() - y)
    x = max(area.left(), min(x, area.right() - width + 1))
    y = max(area.top(), min(y, area.bottom() - height + 1))
    window.setGeometry(x, y, width, height)


class _Window(QWidget):
    """A top-level, non-modal window that Esc closes."""

    def __init__(self, title: str) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self).activated.connect(self.close)


class ArticleWindow(_Window):
    """The full article: its steps, who handles it, what the agent may do."""

    def __init__(self) -> None:
        super().__init__("Article")
        self.view = QTextBrowser()
        self.view.setAccessibleName("Article")
        close = QPushButton("Close")
        close.setAccessibleName("Close the article")
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)

    def show_article(
        self, title: str, body: str, department: str | None, authority: str | None
    ) -> None:
        """Fill the window with an article (the caller shows it)."""
        self.setWindowTitle(f"{title} · Agent Assist")
        extra = "".join(
            f"<p><b>{label}:</b> {html.escape(value)}</p>"
            for label, value in (("Handled by", department), ("You may", authority))
            if value
        )
        self.view.setHtml(
            f"<h3>{html.escape(title)}</h3>{extra}<p>{html.escape(body).replace(chr(10), '<br>')}</p>"
        )


class ResolutionForm(_Window):
    """Title, steps and how customers put it; **Submit for review** queues it (personal data is
    scrubbed before it is stored) and says so in the form: no second dialog."""

    submitted = Signal(object)  # a Resolution

    def __init__(self) -> None:
        super().__init__("Add a resolution · Agent Assist")
        self.title = QLineEdit()
        self.title.setAccessibleName("Resolution title")
        self.title.setMaxLength(200)
        self.steps = QPlainTextEdit()
        self.steps.setAccessibleName("Resolution steps")
        self.steps.setTabChangesFocus(True)
        self.triggers = QLineEdit()
        self.triggers.setAccessibleName("How customers put it")
        self.triggers.setPlaceholderText("e.g. my card never came | card not delivered")
        self.note = Caption(
            "Card numbers, phone numbers and e-mail addresses are removed before saving."
        )
        self.note.setAccessibleName("Resolution form message")
        self.submit = QPushButton("Submit for review")
        self.submit.setDefault(True)
        self.submit.clicked.connect(self._submit)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.close)
        form = QFormLayout(self)
        form.addRow("Title", self.title)
        form.addRow("What resolved it", self.steps)
        form.addRow("Customer phrasings", self.triggers)
        form.addRow(self.note)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.submit)
        buttons.addWidget(self.cancel)
        form.addRow(buttons)

    def start(self) -> None:
        """A fresh, empty form."""
        for field in (self.title, self.triggers):
            field.clear()
        self.steps.clear()
        self.note.setText(
            "Card numbers, phone numbers and e-mail addresses are removed before saving."
        )
        self.submit.setEnabled(True)
        self.cancel.setText("Cancel")
        self.title.setFocus()

    def value(self) -> Resolution:
        """What the agent wrote: title, steps and customer phrasings (trimmed)."""
        return {
            "title": self.title.text().strip(),
            "steps": self.steps.toPlainText().strip(),
            "triggers": [t.strip() for t in self.triggers.text().split("|") if t.strip()],
        }

    def _submit(self) -> None:
        value = self.value()
        if not value["title"] or not value["steps"]:
            self.note.setText("A resolution needs a title and what resolved it.")
            return
        try:  # what the server would refuse is refused now, while the agent can still fix it
            validate(
                Submit(
                    ref="check",
                    title=value["title"],
                    body=value["steps"],
                    triggers=tuple(value["triggers"]),
                )
            )
        except ProtocolError as exc:
            self.note.setText(f"Please change this: {exc}")
            return
        self.submitted.emit(value)
        self.note.setText(
            "Thank you: queued for your supervisor's review. It is sent when the server is "
            "reachable."
        )
        self.submit.setEnabled(False)
        self.cancel.setText("Close")
        self.cancel.setFocus()
