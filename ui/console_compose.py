"""The console's composer: text, priority, audience, expiry and start, with a ticker preview.

:meth:`Composer.send` checks the draft as the server would and emits
:attr:`Composer.submitted` with an ``announce`` (or an ``edit`` while editing); the
draft stays until :meth:`Composer.sent` says the server has it. Each distinct
announcement carries its own idempotency key, and a retry of the same draft the
same key, so a send whose fate was unclear never shows twice.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent_assist.marquee import protocol as proto
from ui.console_audience import AudiencePicker
from ui.console_rows import plain_label
from ui.theme import Theme

__all__ = ["EXPIRY_CHOICES", "PRIORITIES", "Composer"]

PRIORITIES = (("info", "Normal"), ("warning", "Warning"), ("urgent", "Urgent"))
EXPIRY_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("No expiry", None),
    ("15 minutes", 15 * 60.0),
    ("1 hour", 3600.0),
    ("4 hours", 4 * 3600.0),
    ("End of shift (8 hours)", 8 * 3600.0),
)


class Composer(QWidget):
    """The Compose tab. ``submitted`` carries a checked Announce or Edit to send."""

    submitted = Signal(object)

    def __init__(
        self, *, theme: Theme, now: Callable[[], float] = time.time, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._theme = theme
        self._now = now
        self.editing: str | None = None  # the id of the announcement being edited
        self._before: proto.Announcement | None = None
        self._draft = ("", 0)  # (text, priority index) put aside while editing
        self._attempt: tuple[proto.Announce, str] | None = None  # last draft sent, its key
        self.editor = QPlainTextEdit()
        self.editor.setAccessibleName("Announcement text")
        self.editor.setPlaceholderText("Plain text, one line, up to 500 characters")
        self.editor.setTabChangesFocus(True)
        self.editor.textChanged.connect(self._update_preview)
        self.counter = plain_label(name="Characters used")
        self.problem = plain_label(name="Why it cannot be sent", wrap=True)
        self.problem.hide()
        self.priority = QComboBox()
        self.priority.setAccessibleName("Priority")
        for value, label in PRIORITIES:
            self.priority.addItem(label, value)
        self.priority.currentIndexChanged.connect(self._update_preview)
        self.expiry = QComboBox()
        self.expiry.setAccessibleName("Expires after")
        for label, seconds in EXPIRY_CHOICES:
            self.expiry.addItem(label, seconds)
        self.delay = QSpinBox()
        self.delay.setAccessibleName("Start delay in minutes")
        self.delay.setRange(0, 8 * 60)
        self.delay.setSingleStep(5)
        self.delay.setSpecialValueText("now")
        self.delay.setSuffix(" min")
        self.audience = AudiencePicker()
        self.preview = plain_label(name="Ticker preview", wrap=True)
        self.send_button = QPushButton("&Send (Ctrl+Enter)")
        self.send_button.setAccessibleName("Send announcement")
        self.send_button.clicked.connect(self.send)
        self.cancel_button = QPushButton("Cancel edit (Esc)")
        self.cancel_button.setAccessibleName("Cancel editing")
        self.cancel_button.clicked.connect(self.cancel_edit)
        self.cancel_button.hide()
        self._lay_out()
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.send)
        cancel = QShortcut(QKeySequence("Escape"), self.editor)
        cancel.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        cancel.activated.connect(self.cancel_edit)
        self._update_preview()

    def _lay_out(self) -> None:
        options = QHBoxLayout()
        for title, box in (("&Priority", self.priority), ("E&xpires", self.expiry),
                           ("Start &delay", self.delay)):  # fmt: skip
            label = QLabel(title)
            label.setBuddy(box)
            options.addWidget(label)
            options.addWidget(box, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.counter, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.problem)
        layout.addLayout(options)
        layout.addWidget(self.audience)
        layout.addWidget(plain_label("Preview", name="Preview heading"))
        layout.addWidget(self.preview)
        layout.addLayout(buttons)
        self.editor.setMinimumHeight(60)

    # -- the draft ------------------------------------------------------------------------

    def _update_preview(self) -> None:
        text = self.editor.toPlainText()
        priority = self.priority.currentData() or "info"
        background, foreground = self._theme.colours(priority)
        shown = " ".join(text.split()) or "Your announcement appears here."
        self.preview.setText(f"{priority.upper()}  {shown}")
        self.preview.setStyleSheet(f"background:{background}; color:{foreground}; padding:4px;")
        over = len(text) > proto.MAX_TEXT
        self.counter.setText(f"{len(text)} / {proto.MAX_TEXT}" + (" — too long" if over else ""))
        self.problem.hide()

    def refuse(self, why: str) -> None:
        """Say why the draft cannot be sent (it is kept)."""
        self.problem.setText(why)
        self.problem.show()

    def _text(self) -> tuple[str, str | None]:
        """The text as sent (line breaks become spaces: one line), or why it cannot be."""
        text = " ".join(self.editor.toPlainText().split())
        if not text:
            return text, "Write the announcement first."
        if len(text) > proto.MAX_TEXT:
            return text, (
                f"Too long: {len(text)} characters; the limit is {proto.MAX_TEXT}. Shorten it to send."
            )
        if proto.MARKUP.search(text):
            return text, "Plain text only: remove tags such as <b> (they would show as typed)."
        return text, None

    def send(self) -> None:
        """Emit ``submitted`` with an Announce (or Edit, while editing), or explain why not."""
        text, problem = self._text()
        if problem is not None:
            self.refuse(problem)
            return
        priority = self.priority.currentData()
        message: proto.Announce | proto.Edit
        if self._before is not None:
            old = self._before
            if text == old.text and priority == old.priority:
                self.refuse("Nothing has changed.")
                return
            message = proto.Edit(
                id=old.id,
                text=None if text == old.text else text,
                priority=None if priority == old.priority else priority,
            )
        else:
            audience = self.audience.audience()
            if audience is None:
                self.refuse("Choose who should see it: everyone, or some sites, teams or agents.")
                return
            now = self._now()
            starts = now + self.delay.value() * 60.0 if self.delay.value() else None
            lasts = self.expiry.currentData()  # measured from when it starts showing
            expires = (starts or now) + lasts if lasts is not None else None
            draft = proto.Announce(text, priority, audience, starts_at=starts, expires_at=expires)
            message = dataclasses.replace(draft, key=self._key_for(draft))
        try:  # the protocol's own validation, so the console never sends what it would reject
            proto.validate(message, now=self._now())
        except proto.ProtocolError as exc:
            self.refuse(f"Cannot be sent: {exc}")
            return
        self.submitted.emit(message)

    def _key_for(self, draft: proto.Announce) -> str:
        """The same key for a retry of the same draft (times aside), a new one otherwise."""
        same = dataclasses.replace(draft, starts_at=None, expires_at=None)
        if self._attempt is None or self._attempt[0] != same:
            self._attempt = (same, uuid.uuid4().hex)
        return self._attempt[1]

    def sent(self, message: proto.Announce | proto.Edit) -> bool:
        """The server has ``message``: if it is this composer's draft, clear it (priority and
        start back to Normal and now) and return True."""
        if isinstance(message, proto.Edit):
            if message.id != self.editing:
                return False
            self.cancel_edit()
            return True
        if self._attempt is None or message.key != self._attempt[1]:
            return False
        self._attempt = None
        self.editor.clear()
        self.priority.setCurrentIndex(0)
        self.delay.setValue(0)
        return True

    # -- editing ----------------------------------------------------------------------------

    def start_edit(self, announcement: proto.Announcement) -> None:
        """Load an active announcement; Send then emits Edit (text and priority only)."""
        if self._before is None:  # keep the draft for afterwards
            self._draft = (self.editor.toPlainText(), self.priority.currentIndex())
        self._set_editing(announcement)
        self.editor.setPlainText(announcement.text)
        self.priority.setCurrentIndex(self.priority.findData(announcement.priority))

    def cancel_edit(self) -> None:
        """Leave edit mode and bring back what was being composed before."""
        if self._before is not None:
            self._set_editing(None)
            self.editor.setPlainText(self._draft[0])
            self.priority.setCurrentIndex(self._draft[1])

    def _set_editing(self, announcement: proto.Announcement | None) -> None:
        """Edit mode: audience, expiry and start are fixed once sent; Send emits Edit."""
        self._before = announcement
        self.editing = editing = None if announcement is None else announcement.id
        for widget in (self.expiry, self.delay):
            widget.setEnabled(not editing)
        self.audience.set_editing(bool(editing))
        self.send_button.setText("&Save edit (Ctrl+Enter)" if editing else "&Send (Ctrl+Enter)")
        self.send_button.setAccessibleName(
            "Save edited announcement" if editing else "Send announcement"
        )
        self.cancel_button.setVisible(bool(editing))
