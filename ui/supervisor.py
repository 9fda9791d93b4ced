"""The supervisor console: compose announcements, watch them and their read receipts, see flags.

A pure view: it never touches the network. The composition root connects
:attr:`SupervisorConsole.send_requested` to a marquee client and calls
:meth:`SupervisorConsole.show_message` (on the GUI thread) with what the
server sends. Times are seconds since the Unix epoch, read from ``now``; which
announcements are current is decided by
:class:`~agent_assist.marquee.state.ClientState`, which the rows only show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agent_assist.marquee import protocol as proto
from agent_assist.marquee.state import ClientState, importance
from ui.team import TeamView
from ui.theme import Theme

__all__ = ["EXPIRY_CHOICES", "FEED_LIMIT", "PRIVACY_NOTE", "AnnouncementRow", "SupervisorConsole"]

PRIORITIES = ("info", "warning", "urgent")
EXPIRY_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("No expiry", None),
    ("15 minutes", 15 * 60.0),
    ("1 hour", 3600.0),
    ("4 hours", 4 * 3600.0),
    ("End of shift (8 hours)", 8 * 3600.0),
)
FEED_LIMIT = 200  # flag rows kept in the live feed
PRIVACY_NOTE = (
    "Shared by agents' apps where the site policy allows it: "
    "kind, severity and time only — never the words."
)
_W = TypeVar("_W", bound=QWidget)
_L = TypeVar("_L", bound=QBoxLayout)


def _names(text: str) -> tuple[str, ...]:
    """Comma-separated names, trimmed, without blanks or repeats (order kept)."""
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def audience_summary(audience: proto.Audience) -> str:
    """Who it is for, in words: "everyone" or e.g. "sites: north; agents: Dana"."""
    if audience.all:
        return "everyone"
    groups = {"sites": audience.sites, "teams": audience.teams, "agents": audience.agents}
    return "; ".join(f"{label}: {', '.join(names)}" for label, names in groups.items() if names)


def _span(seconds: float) -> str:
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _named(widget: _W, name: str) -> _W:
    widget.setAccessibleName(name)
    return widget


def _plain_label(text: str = "", *, name: str, wrap: bool = False) -> QLabel:
    """A label that shows text as typed, never as rich text (announcements are untrusted)."""
    label = _named(QLabel(text), name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    return label


def _fill(layout: _L, *items: QWidget | QLayout | tuple[QWidget, int]) -> _L:
    """Add widgets and layouts in order; ``(widget, n)`` stretches by ``n``."""
    for item in items:
        if isinstance(item, QLayout):
            layout.addLayout(item)
        elif isinstance(item, tuple):
            layout.addWidget(*item)
        else:
            layout.addWidget(item)
    return layout


class AnnouncementRow(QFrame):
    """One active announcement: what, for whom, by whom, when, who has seen it."""

    def __init__(self, message: proto.Announcement, theme: Theme) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._theme = theme
        self.priority = _plain_label(name="Priority")
        self.text = _plain_label(name="Announcement text", wrap=True)
        self.details = _plain_label(name="Audience, author and age", wrap=True)
        self.receipts = _plain_label("seen – / –", name="Read receipts")
        self.pending = _plain_label(name="Not seen yet by", wrap=True)
        self.pending.hide()
        self.who = QPushButton("Who hasn't?")
        self.who.setCheckable(True)
        self.who.setEnabled(False)
        self.who.toggled.connect(self.pending.setVisible)
        self.edit = QPushButton("Edit")
        self.retract = QPushButton("Retract")
        top = _fill(QHBoxLayout(), self.priority, (self.receipts, 1), self.who, self.edit)
        top.addWidget(self.retract)
        layout = _fill(QVBoxLayout(self), top, self.text, self.details, self.pending)
        layout.setContentsMargins(6, 4, 6, 4)
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

    def refresh_times(self, now: float) -> None:
        """Show its age, start and expiry relative to ``now`` (epoch s)."""
        m = self.message
        parts = [audience_summary(m.audience), f"by {m.author}", f"{_span(now - m.created_at)} ago"]
        if m.edited_at is not None:
            parts.append("edited")
        if m.starts_at is not None and m.phase(now) == "pending":
            parts.append(f"starts in {_span(m.starts_at - now)}")
        expiry = "no expiry" if m.expires_at is None else f"expires in {_span(m.expires_at - now)}"
        self.details.setText(" · ".join([*parts, expiry]))

    def set_receipts(self, receipts: proto.ReceiptList) -> None:
        """Show how many have seen it, and who has not."""
        seen, pending = len(receipts.seen), receipts.pending
        self.receipts.setText(f"seen {seen} / {seen + len(pending)}")
        names = ", ".join(pending)
        self.receipts.setToolTip(f"Not seen yet: {names}" if pending else "Everyone has seen it")
        self.pending.setText(f"Not seen yet: {names}")
        self.who.setEnabled(bool(pending))
        if not pending:
            self.who.setChecked(False)


class SupervisorConsole(QWidget):
    """Compose, active announcements with read receipts, live flag feed, status line.

    ``send_requested`` carries a protocol message to send: Announce, Edit,
    Retract or Receipts. ``confirm(question)`` asks before a retraction
    (default: a Yes/No dialog); ``tick_ms`` is how often expiries are checked.
    """

    send_requested = Signal(object)

    def __init__(
        self,
        *,
        theme: Theme,
        now: Callable[[], float] = time.time,
        confirm: Callable[[str], bool] | None = None,
        tick_ms: int = 5000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Supervisor console")
        self._theme = theme
        self._now = now
        self._confirm = confirm or self._ask
        self.state = ClientState()
        self._rows: dict[str, AnnouncementRow] = {}
        self._editing: str | None = None
        self._order: list[str] = []
        self._draft = ("", 0)  # (text, priority index) put aside while editing
        self.tabs = _named(QTabWidget(), "Console sections")
        self.tabs.addTab(self._build_compose(), "&Compose")
        self.tabs.addTab(self._build_active(), "")
        self.tabs.addTab(self._build_flags(), "")
        self.team = TeamView(theme)  # team stats (issue 15): the composition root feeds it
        self.tabs.addTab(self.team, "&Team")
        self.connection = _plain_label("disconnected", name="Connection state")
        self.notice = _plain_label(name="Latest message")
        for label in (self.connection, self.notice):  # one line: long text is cut, not widening
            label.setMinimumWidth(1)
        status = _fill(QHBoxLayout(), self.connection, (self.notice, 1))
        _fill(QVBoxLayout(self), (self.tabs, 1), status)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.send)
        cancel = QShortcut(QKeySequence("Escape"), self.editor)
        cancel.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        cancel.activated.connect(self.cancel_edit)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._update_titles()
        self._update_preview()
        self.resize(480, 640)

    # -- building ---------------------------------------------------------------------

    def _build_compose(self) -> QWidget:
        page = QWidget()
        self.editor = _named(QPlainTextEdit(), "Announcement text")
        self.editor.setPlaceholderText("Plain text, up to 500 characters")
        self.editor.setTabChangesFocus(True)
        self.editor.textChanged.connect(self._update_preview)
        self.counter = _plain_label(name="Characters used")
        self.problem = _plain_label(name="Why it cannot be sent", wrap=True)
        self.problem.hide()
        self.priority = _named(QComboBox(), "Priority")
        for value in PRIORITIES:
            self.priority.addItem(value.capitalize(), value)
        self.priority.currentIndexChanged.connect(self._update_preview)
        self.everyone = _named(QCheckBox("&Everyone"), "Audience: everyone")
        self.everyone.setChecked(True)
        self.sites, self.teams, self.agents = (QLineEdit(), QLineEdit(), QLineEdit())
        for edit, what in ((self.sites, "sites"), (self.teams, "teams"), (self.agents, "agents")):
            edit.setAccessibleName(f"Audience {what}, comma-separated")
            edit.setPlaceholderText(f"{what}, comma-separated")
            edit.setEnabled(False)
            self.everyone.toggled.connect(lambda on, e=edit: e.setEnabled(not on))
        self.expiry = _named(QComboBox(), "Expires after")
        for label, seconds in EXPIRY_CHOICES:
            self.expiry.addItem(label, seconds)
        self.delay = _named(QSpinBox(), "Start delay in minutes")
        self.delay.setRange(0, 8 * 60)
        self.delay.setSingleStep(5)
        self.delay.setSpecialValueText("now")
        self.delay.setSuffix(" min")
        self.preview = _plain_label(name="Ticker preview", wrap=True)
        self.send_button = _named(QPushButton("&Send (Ctrl+Enter)"), "Send announcement")
        self.send_button.clicked.connect(self.send)
        self.cancel_button = _named(QPushButton("Cancel edit (Esc)"), "Cancel editing")
        self.cancel_button.clicked.connect(self.cancel_edit)
        self.cancel_button.hide()
        form = QFormLayout()
        for label, field in (
            ("&Priority", self.priority),
            ("Audience", self.everyone),
            ("S&ites", self.sites),
            ("&Teams", self.teams),
            ("A&gents", self.agents),
            ("E&xpires", self.expiry),
            ("Start &delay", self.delay),
        ):
            form.addRow(label, field)
        buttons = _fill(QHBoxLayout(), (self.counter, 1), self.cancel_button, self.send_button)
        heading = _plain_label("Preview", name="Preview heading")
        _fill(
            QVBoxLayout(page), (self.editor, 1), self.problem, form, heading, self.preview, buttons
        )
        return page

    def _build_active(self) -> QWidget:
        self._list_host = QWidget()
        self._list = QVBoxLayout(self._list_host)
        self._list.setContentsMargins(0, 0, 0, 0)
        self._list.addStretch(1)
        self.empty = _plain_label("No active announcements.", name="No active announcements")
        self._list.insertWidget(0, self.empty)
        scroll = _named(QScrollArea(), "Active announcements")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list_host)
        return scroll

    def _build_flags(self) -> QWidget:
        page = QWidget()
        note = _plain_label(PRIVACY_NOTE, name="About the flag feed", wrap=True)
        self.feed = _named(QListWidget(), "Live flag feed, newest first")
        _fill(QVBoxLayout(page), note, (self.feed, 1))
        return page

    def _ask(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Retract announcement", question)
        return answer == QMessageBox.StandardButton.Yes

    # -- compose ----------------------------------------------------------------------

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

    def _refuse(self, why: str) -> None:
        self.problem.setText(why)
        self.problem.show()

    def _text_problem(self, text: str) -> str | None:
        if not text.strip():
            return "Write the announcement first."
        if len(text) > proto.MAX_TEXT:
            return f"Too long: {len(text)} characters; the limit is {proto.MAX_TEXT}. Shorten it to send."
        if proto.MARKUP.search(text):
            return "Plain text only: remove tags such as <b> (they would show as typed)."
        return None

    def _audience(self) -> proto.Audience | None:
        if self.everyone.isChecked():
            return proto.Audience(all=True)
        sites, teams, agents = (_names(e.text()) for e in (self.sites, self.teams, self.agents))
        if not (sites or teams or agents):
            return None
        return proto.Audience(all=False, sites=sites, teams=teams, agents=agents)

    def send(self) -> None:
        """Emit Announce (or Edit, while editing) for the composer, or explain why not."""
        text = self.editor.toPlainText()
        problem = self._text_problem(text)
        if problem is not None:
            self._refuse(problem)
            return
        priority = self.priority.currentData()
        message: proto.Announce | proto.Edit
        if self._editing is not None:
            old = self._rows[self._editing].message
            if text == old.text and priority == old.priority:
                self._refuse("Nothing has changed.")
                return
            message = proto.Edit(
                id=old.id,
                text=None if text == old.text else text,
                priority=None if priority == old.priority else priority,
            )
        else:
            audience = self._audience()
            if audience is None:
                self._refuse("Choose who should see it: everyone, or some sites, teams or agents.")
                return
            now = self._now()
            starts = now + self.delay.value() * 60.0 if self.delay.value() else None
            lasts = self.expiry.currentData()  # measured from when it starts showing
            expires = (starts or now) + lasts if lasts is not None else None
            message = proto.Announce(text, priority, audience, starts_at=starts, expires_at=expires)
        try:  # the protocol's own validation, so the console never sends what it would reject
            proto.validate(message)
        except proto.ProtocolError as exc:
            self._refuse(str(exc))
            return
        self.send_requested.emit(message)
        if self._editing is None:
            self.editor.clear()
        self.cancel_edit()
        self.show_notice("Edit sent." if isinstance(message, proto.Edit) else "Announcement sent.")

    def start_edit(self, announcement_id: str) -> None:
        """Load an active announcement into the composer; Send then emits Edit."""
        row = self._rows.get(announcement_id)
        if row is None:
            return
        if self._editing is None:  # keep the draft for afterwards
            self._draft = (self.editor.toPlainText(), self.priority.currentIndex())
        self._set_editing(announcement_id)
        self.editor.setPlainText(row.message.text)
        self.priority.setCurrentIndex(PRIORITIES.index(row.message.priority))
        self.tabs.setCurrentIndex(0)
        self.editor.setFocus()

    def cancel_edit(self) -> None:
        """Leave edit mode and bring back what was being composed before."""
        if self._editing is not None:
            self._set_editing(None)
            self.editor.setPlainText(self._draft[0])
            self.priority.setCurrentIndex(self._draft[1])

    def _set_editing(self, announcement_id: str | None) -> None:
        """Edit mode: audience, expiry and start are fixed once sent; Send emits Edit."""
        self._editing = editing = announcement_id
        for widget in (self.everyone, self.expiry, self.delay):
            widget.setEnabled(not editing)
        for line in (self.sites, self.teams, self.agents):
            line.setEnabled(not editing and not self.everyone.isChecked())
        self.send_button.setText("&Save edit (Ctrl+Enter)" if editing else "&Send (Ctrl+Enter)")
        self.send_button.setAccessibleName(
            "Save edited announcement" if editing else "Send announcement"
        )
        self.cancel_button.setVisible(bool(editing))

    def _retract(self, announcement_id: str) -> None:
        row = self._rows.get(announcement_id)
        if row is None:
            return
        question = f"Retract this announcement for everyone who sees it?\n\n{row.message.text}"
        if self._confirm(question):
            self.send_requested.emit(proto.Retract(id=announcement_id))

    # -- incoming ---------------------------------------------------------------------

    def show_message(self, message: object) -> None:
        """Show one server message; types the console has no use for are ignored."""
        if isinstance(message, proto.Announcement | proto.Retracted):
            self._change(message)
        elif isinstance(message, proto.ReceiptList):
            if (row := self._rows.get(message.id)) is not None:
                row.set_receipts(message)
        elif isinstance(message, proto.FlagNotice):
            self._flag(message)
        elif isinstance(message, proto.ErrorMessage):
            self.show_notice(f"Error ({message.code}): {message.message}")
        elif isinstance(message, proto.Reviewed):
            what = "approved" if message.decision == "approve" else "rejected"
            article = f" as article {message.article_id}" if message.article_id else ""
            self.show_notice(f"Submission {message.id} {what}{article} by {message.reviewer}.")
        elif isinstance(message, proto.Welcome):
            self.set_connection_state(f"connected as {message.name} ({message.role})")
            self.team.set_scope(role=message.role, site=message.site, team=message.team)
            if message.role == "agent":
                self.show_notice("This token is an agent's: announcements will be refused.")

    def set_connection_state(self, text: str) -> None:
        """Show the connection state."""
        self.connection.setText(text)
        self.connection.setToolTip(text)

    def show_notice(self, text: str) -> None:
        """The one status line for errors and confirmations (newest wins)."""
        self.notice.setText(" ".join(text.split()))
        self.notice.setToolTip(text)

    def _change(self, message: proto.Announcement | proto.Retracted) -> None:
        now = self._now()
        self.state.receive(message, now)
        for gone in self.state.expire(now):
            self._remove(gone)
        current = self.state.get(message.id)
        if current is None:
            self._remove(message.id)  # retracted, or over already
            return
        row = self._rows.get(current.id)
        if row is not None:
            row.update_message(current)
        else:
            row = AnnouncementRow(current, self._theme)
            row.edit.clicked.connect(lambda _=False, i=current.id: self.start_edit(i))
            row.retract.clicked.connect(lambda _=False, i=current.id: self._retract(i))
            self._rows[current.id] = row
            self.send_requested.emit(proto.Receipts(id=current.id))
        row.refresh_times(now)
        self._arrange()

    def _remove(self, announcement_id: str) -> None:
        row = self._rows.pop(announcement_id, None)
        if row is None:
            return
        if self._editing == announcement_id:
            self.cancel_edit()
            self.show_notice("The announcement being edited has gone.")
        self._list.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._arrange()

    def _arrange(self) -> None:
        """Most urgent first, then newest; tab order follows what is on screen."""
        rows = sorted(self._rows.values(), key=lambda r: importance(r.message))
        for row in rows:
            self._list.removeWidget(row)
        for index, row in enumerate(rows):
            self._list.insertWidget(index, row)
        self._order = [row.message.id for row in rows]
        self.empty.setVisible(not rows)
        previous: QWidget | None = None
        for row in rows:
            for widget in (row.who, row.edit, row.retract):
                if previous is not None:
                    QWidget.setTabOrder(previous, widget)
                previous = widget
        self._update_titles()

    def _flag(self, notice: proto.FlagNotice) -> None:
        background, foreground = self._theme.colours(notice.severity)
        when = time.strftime("%H:%M:%S", time.localtime(notice.at))
        where = " / ".join(part for part in (notice.site, notice.team) if part) or "—"
        kind = notice.kind.replace("_", " ")
        item = QListWidgetItem(
            f"{when}  {notice.agent} ({where})  {kind}  {notice.severity.upper()}"
        )
        item.setBackground(QBrush(QColor(background)))
        item.setForeground(QBrush(QColor(foreground)))
        self.feed.insertItem(0, item)
        while self.feed.count() > FEED_LIMIT:
            self.feed.takeItem(self.feed.count() - 1)
        self._update_titles()

    def _update_titles(self) -> None:
        self.tabs.setTabText(1, f"&Active ({len(self._rows)})")
        self.tabs.setTabText(2, f"&Flags ({self.feed.count()})")

    def tick(self) -> None:
        """Drop expired announcements and refresh ages (run by a timer every ``tick_ms``)."""
        now = self._now()
        for announcement_id in self.state.expire(now):
            self._remove(announcement_id)
        for row in self._rows.values():
            row.refresh_times(now)

    def active_ids(self) -> list[str]:
        """Ids of the announcements shown, in screen order."""
        return list(self._order)

    def row(self, announcement_id: str) -> AnnouncementRow | None:
        """The row showing this announcement, if it is shown."""
        return self._rows.get(announcement_id)
