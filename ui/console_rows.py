"""One active announcement in the console: what, for whom, who has seen it, who is offline.

Receipts say who has seen an announcement and who it is for has not; the server's
directory adds who of them is online, so a supervisor can tell "has not looked"
from "is not at the desk". An urgent one left unacknowledged too long carries a
reminder and a button to resend it to those who have not acknowledged it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from agent_assist.marquee import protocol as proto
from ui.theme import Theme

__all__ = ["AnnouncementRow", "audience_summary", "plain_label", "span"]


def plain_label(text: str = "", *, name: str, wrap: bool = False) -> QLabel:
    """A label that shows text as typed, never as rich text (announcements are untrusted)."""
    label = QLabel(text)
    label.setAccessibleName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    return label


def audience_summary(audience: proto.Audience) -> str:
    """Who it is for, in words: "everyone" or e.g. "sites: north; agents: Dana"."""
    if audience.all:
        return "everyone"
    groups = {"sites": audience.sites, "teams": audience.teams, "agents": audience.agents}
    return "; ".join(f"{label}: {', '.join(names)}" for label, names in groups.items() if names)


def span(seconds: float) -> str:
    """A duration in words: "under a minute", "12 min", "2 h 5 min"."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class AnnouncementRow(QFrame):
    """One active announcement: what, for whom, by whom, when, who has seen it (and who of the
    rest is offline), and a reminder with Resend when an urgent one waits too long."""

    def __init__(self, message: proto.Announcement, theme: Theme) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._theme = theme
        self.receipt_list: proto.ReceiptList | None = None
        self.priority = plain_label(name="Priority")
        self.text = plain_label(name="Announcement text", wrap=True)
        self.details = plain_label(name="Audience, author and age", wrap=True)
        self.receipts = plain_label("seen – / –", name="Read receipts")
        self.pending = plain_label(name="Not seen yet by", wrap=True)
        self.pending.hide()
        self.reminder = plain_label(name="Reminder", wrap=True)
        self.reminder.hide()
        self.who = QPushButton("Who hasn't?")
        self.who.setCheckable(True)
        self.who.setEnabled(False)
        self.who.toggled.connect(self.pending.setVisible)
        self.edit = QPushButton("Edit")
        self.retract = QPushButton("Retract")
        self.resend = QPushButton("Resend")
        self.resend.hide()
        self.receipts.setMinimumWidth(1)  # long counts are cut, never widening the row
        top = QHBoxLayout()
        top.addWidget(self.priority)
        top.addWidget(self.receipts, 1)
        buttons = QHBoxLayout()
        for button in (self.who, self.edit, self.retract):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.resend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        for widget in (self.text, self.details, self.pending, self.reminder):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.message = message
        self.update_message(message)

    def update_message(self, message: proto.Announcement) -> None:
        """Show a newer version of the announcement."""
        self.message = message
        background, foreground = self._theme.colours(message.priority)
        self.priority.setText(message.priority.upper())
        self.priority.setStyleSheet(
            f"background:{background}; color:{foreground}; padding:1px 4px;"
        )
        self.text.setText(message.text)
        short = message.text if len(message.text) <= 40 else message.text[:39] + "…"
        self.setAccessibleName(f"{message.priority} announcement: {short}")
        self.edit.setAccessibleName(f"Edit announcement: {short}")
        self.retract.setAccessibleName(f"Retract announcement: {short}")
        self.who.setAccessibleName(f"Show who has not seen: {short}")
        self.resend.setAccessibleName(f"Resend to those who have not acknowledged: {short}")

    def refresh_times(self, now: float) -> None:
        """Show its age, start and expiry relative to ``now`` (epoch s)."""
        m = self.message
        parts = [audience_summary(m.audience), f"by {m.author}", f"{span(now - m.created_at)} ago"]
        if m.edited_at is not None:
            parts.append("edited")
        if m.starts_at is not None and m.phase(now) == "pending":
            parts.append(f"starts in {span(m.starts_at - now)}")
        expiry = "no expiry" if m.expires_at is None else f"expires in {span(m.expires_at - now)}"
        self.details.setText(" · ".join([*parts, expiry]))

    def set_receipts(
        self, receipts: proto.ReceiptList, online: Callable[[str], bool | None]
    ) -> None:
        """Show how many have seen it, and per recipient who has not: online or offline.

        ``online(name)``: the directory's word on an agent (None: not known).
        """
        self.receipt_list = receipts
        seen, pending = len(receipts.seen), receipts.pending
        away = [name for name in pending if online(name) is False]
        word = "acknowledged" if self.message.needs_acknowledgement else "seen"
        text = f"{word} {seen} / {seen + len(pending)}"
        self.receipts.setText(text + (f" · {len(away)} offline" if away else ""))

        def state(name: str) -> str:
            known = online(name)
            return name if known is None else f"{name} ({'online' if known else 'offline'})"

        names = ", ".join(state(name) for name in pending)
        lines = [f"Not {word} yet: {names}" if pending else f"Everyone has {word} it."]
        if receipts.seen:
            lines.append(f"{word.capitalize()}: " + ", ".join(s.name for s in receipts.seen))
        self.receipts.setToolTip("\n".join(lines))
        self.pending.setText("\n".join(lines))
        self.who.setEnabled(bool(pending) or bool(receipts.seen))
        if not pending:
            self.set_reminder(None)

    def unacknowledged(self) -> tuple[str, ...]:
        """Who it is for has not acknowledged (seen) it yet, as last reported."""
        return () if self.receipt_list is None else self.receipt_list.pending

    def set_reminder(self, text: str | None) -> None:
        """Show (or, with None, clear) the reminder and its Resend button."""
        self.reminder.setVisible(text is not None)
        self.resend.setVisible(text is not None)
        if text is None:
            return
        background, foreground = self._theme.colours("warning")
        self.reminder.setText(text)
        self.reminder.setStyleSheet(f"background:{background}; color:{foreground}; padding:2px;")
        count = len(self.unacknowledged())
        self.resend.setText(f"Resend to {count}")
