"""The supervisor console: compose announcements, watch them and their read receipts, see flags.

A pure view: it never touches the network and never waits. The composition root
connects :attr:`SupervisorConsole.send_requested` to a marquee client's
fire-and-forget send, reports back with :meth:`~SupervisorConsole.message_sent` or
:meth:`~SupervisorConsole.message_failed` (on the GUI thread), and calls
:meth:`~SupervisorConsole.show_message` and
:meth:`~SupervisorConsole.set_connection_state` with what the client hears. Times
are seconds since the Unix epoch, read from ``now``; which announcements are
current is decided by :class:`~agent_assist.marquee.state.ClientState`.

Audience names come from the server's directory (only what the supervisor's token
may address); an announcement is confirmed "sent" only once it was written to the
server, and the text is kept until then. While disconnected, a plain banner says
so and what is shown is greyed as stale.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsOpacityEffect,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agent_assist.marquee import protocol as proto
from agent_assist.marquee.state import ClientState, importance
from ui.console_compose import EXPIRY_CHOICES, PRIORITIES, Composer
from ui.console_flags import FEED_LIMIT, PRIVACY_NOTE, FlagFeed
from ui.console_rows import AnnouncementRow, span
from ui.console_status import (
    ActivePage,
    AlertBar,
    StatusLine,
    fit_on_screen,
    indicator_style,
)
from ui.team import TeamView
from ui.theme import Theme

__all__ = [
    "EXPIRY_CHOICES",
    "FEED_LIMIT",
    "PRIORITIES",
    "PRIVACY_NOTE",
    "AnnouncementRow",
    "SupervisorConsole",
]

_FIT_TRIES = 20  # looks for the window manager's frame, 100 ms apart
_RESEND_NAMES = 100  # agents named in one resend (a frame holds at most MAX_FRAME bytes)


class SupervisorConsole(QWidget):
    """Compose, active announcements with receipts and presence, grouped flags, team stats.

    ``send_requested`` carries a protocol message to send (Announce, Edit, Retract,
    Receipts, Directory). ``confirm(question)`` asks before a retraction (default: a
    Yes/No dialog); ``tick_ms``: how often expiries and reminders are checked;
    ``remind_after_min``: minutes an urgent announcement may go unacknowledged before
    the console reminds (changeable on the Active tab); ``presence_ms``: how often
    the directory (who is online) is asked for again while connected.
    """

    send_requested = Signal(object)

    def __init__(
        self,
        *,
        theme: Theme,
        now: Callable[[], float] = time.time,
        confirm: Callable[[str], bool] | None = None,
        tick_ms: int = 5000,
        remind_after_min: int = 10,
        presence_ms: int = 30_000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Supervisor console")
        self._theme = theme
        self._now = now
        self._confirm = confirm or self._ask
        self.state = ClientState()
        self._rows: dict[str, AnnouncementRow] = {}
        self._order: list[str] = []
        self._reminded: dict[str, float] = {}  # id -> when the reminder (or a resend) was
        self._resends = 0
        self.connected = False
        self.composer = Composer(theme=theme, now=now)
        self.composer.submitted.connect(self._submit)
        self.active = ActivePage(remind_after_min=remind_after_min)
        self.active.remind.valueChanged.connect(lambda _v: self.tick())
        self.flags = FlagFeed(theme)
        self.flags.critical.connect(self._critical)
        self.alert = AlertBar(theme)
        self.alert.show_requested.connect(self._show_flagged)
        self.alert.dismiss.clicked.connect(self._update_titles)
        self.status = StatusLine(theme)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Console sections")
        self.tabs.addTab(self.composer, "&Compose")
        self.tabs.addTab(self.active, "")
        self.tabs.addTab(self.flags, "")
        self.team = TeamView(theme)  # team stats (issue 15): the composition root feeds it
        self.tabs.addTab(self.team, "&Team")
        self.tabs.currentChanged.connect(self._tab_shown)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status.banner)
        layout.addWidget(self.alert)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(self.status.line)
        self._stale: list[QWidget] = [self.active.list_host, self.flags.tree]
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._presence = QTimer(self)
        self._presence.setInterval(presence_ms)
        self._presence.timeout.connect(self._ask_directory)
        self._presence.start()
        self._grey(True)
        self._update_titles()
        if theme.name != "light":  # the style draws unticked boxes dark on dark: outline them
            self.setStyleSheet(indicator_style(theme))
        self.resize(540, 700)
        self._fitted = False

    def showEvent(self, event: QShowEvent) -> None:
        """On first show, once the window manager has framed it: fit inside the screen."""
        super().showEvent(event)
        if not self._fitted:
            self._fitted = True
            QTimer.singleShot(0, lambda: fit_on_screen(self, tries=_FIT_TRIES))

    # -- the parts tests and the composition root reach -----------------------------------

    @property
    def editor(self) -> QPlainTextEdit:
        """The composer's announcement text."""
        return self.composer.editor

    @property
    def notice(self) -> QLabel:
        """The status line's latest message."""
        return self.status.notice

    @property
    def connection(self) -> QLabel:
        """The status line's connection state."""
        return self.status.connection

    def _ask(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Retract announcement", question)
        return answer == QMessageBox.StandardButton.Yes

    # -- sending ------------------------------------------------------------------------

    def send(self) -> None:
        """Send what the composer holds (Announce, or Edit while editing), or say why not."""
        self.composer.send()

    def _submit(self, message: proto.Announce | proto.Edit) -> None:
        if not self.connected:
            self.composer.refuse(
                "Not connected to the server: your text is kept. Send it again once the "
                "console has reconnected."
            )
            return
        self.show_notice("Sending…")
        self.send_requested.emit(message)

    def message_sent(self, message: object) -> None:
        """The server has it: confirm, and clear the composer if it was the composer's."""
        if isinstance(message, proto.Announce | proto.Edit) and self.composer.sent(message):
            what = "Edit" if isinstance(message, proto.Edit) else "Announcement"
            when = time.strftime("%H:%M", time.localtime(self._now()))
            self.show_notice(f"{what} sent at {when}.")
        elif isinstance(message, proto.Announce) and message.key and "resend" in message.key:
            self.show_notice(f"Resent to {len(message.audience.agents)} agents.")
        elif isinstance(message, proto.Retract):
            self.show_notice("Retraction sent.")

    def message_failed(self, message: object, reason: str) -> None:
        """It could not be sent (``reason`` in words): say so; the composer keeps its text."""
        what = {
            proto.Announce: "Announcement not sent",
            proto.Edit: "Edit not sent",
            proto.Retract: "Retraction not sent",
        }.get(type(message))
        if what is not None:  # receipts and directory requests are asked again on reconnect
            self.show_notice(f"{what}: {reason}. Try again once connected.")

    def start_edit(self, announcement_id: str) -> None:
        """Load an active announcement into the composer; Send then emits Edit."""
        row = self._rows.get(announcement_id)
        if row is not None:
            self.composer.start_edit(row.message)
            self.tabs.setCurrentIndex(0)
            self.editor.setFocus()

    def cancel_edit(self) -> None:
        """Leave edit mode and bring back what was being composed before."""
        self.composer.cancel_edit()

    def _retract(self, announcement_id: str) -> None:
        row = self._rows.get(announcement_id)
        if row is None:
            return
        question = f"Retract this announcement for everyone who sees it?\n\n{row.message.text}"
        if self._confirm(question):
            self.send_requested.emit(proto.Retract(id=announcement_id))

    def resend(self, announcement_id: str) -> None:
        """Send an urgent announcement again to those who have not acknowledged it: a new
        announcement naming them (idempotent: each resend has its own key)."""
        row = self._rows.get(announcement_id)
        names = () if row is None else row.unacknowledged()
        if row is None or not names:
            return
        if not self.connected:
            self.show_notice("Not connected: resend once the console has reconnected.")
            return
        now = self._now()
        m = row.message
        expires = m.expires_at if m.expires_at is not None and m.expires_at > now else None
        self._resends += 1
        for start in range(0, len(names), _RESEND_NAMES):
            part = names[start : start + _RESEND_NAMES]
            key = f"resend.{self._resends}.{start}.{uuid.uuid4().hex[:12]}"
            audience = proto.Audience(all=False, agents=part)
            self.send_requested.emit(
                proto.Announce(m.text, m.priority, audience, None, expires, key)
            )
        self._reminded[announcement_id] = now  # the next reminder counts from the resend
        row.set_reminder(None)

    def _ask_directory(self) -> None:
        if self.connected:
            self.send_requested.emit(proto.Directory())

    # -- incoming ---------------------------------------------------------------------

    def show_message(self, message: object) -> None:
        """Show one server message; types the console has no use for are ignored."""
        if isinstance(message, proto.Announcement | proto.Retracted):
            self._change(message)
        elif isinstance(message, proto.ReceiptList):
            if (row := self._rows.get(message.id)) is not None:
                row.set_receipts(message, self.composer.audience.directory.online)
                self._check_reminder(row, self._now())
        elif isinstance(message, proto.DirectoryList):
            self.composer.audience.add_directory(message)
            if not message.more:
                for row in self._rows.values():
                    if row.receipt_list is not None:
                        row.set_receipts(row.receipt_list, self.composer.audience.directory.online)
        elif isinstance(message, proto.FlagNotice):
            self.flags.add(message)
            self._update_titles()
        elif isinstance(message, proto.ErrorMessage):
            self.show_notice(f"Refused by the server: {message.message}")
        elif isinstance(message, proto.Reviewed):
            what = "approved" if message.decision == "approve" else "rejected"
            article = f" as article {message.article_id}" if message.article_id else ""
            self.show_notice(f"Submission {message.id} {what}{article} by {message.reviewer}.")
        elif isinstance(message, proto.Welcome):
            self._welcome(message)

    def _welcome(self, message: proto.Welcome) -> None:
        self.set_connection_state("connected")
        self.status.set_connected(f"Connected as {message.name} ({message.role})")
        self.team.set_scope(role=message.role, site=message.site, team=message.team)
        if message.role == "agent":
            self.show_notice("This token is an agent's: announcements will be refused.")
            return
        self.send_requested.emit(proto.Directory())
        for announcement_id in self._rows:  # what was acknowledged while we were away
            self.send_requested.emit(proto.Receipts(id=announcement_id))

    def set_connection_state(self, text: str) -> None:
        """Take the client's state ("connected" / "disconnected: why"): a plain banner while
        disconnected, stale data greyed, the last confirmation cleared."""
        connected = text == "connected"
        self.connected = connected
        self.status.set_state(text)
        self._grey(not connected)
        if not connected:
            self.show_notice("")

    def show_notice(self, text: str) -> None:
        """The one status line for errors and confirmations (newest wins)."""
        self.status.set_notice(text)

    def _grey(self, stale: bool) -> None:
        for widget in self._stale:
            widget.setEnabled(not stale)
            effect = QGraphicsOpacityEffect(widget) if stale else None
            if effect is not None:
                effect.setOpacity(0.45)
            widget.setGraphicsEffect(effect)  # type: ignore[arg-type]

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
            row.resend.clicked.connect(lambda _=False, i=current.id: self.resend(i))
            self._rows[current.id] = row
            self.send_requested.emit(proto.Receipts(id=current.id))
        row.refresh_times(now)
        self._arrange()

    def _remove(self, announcement_id: str) -> None:
        row = self._rows.pop(announcement_id, None)
        self._reminded.pop(announcement_id, None)
        if row is None:
            return
        if self.composer.editing == announcement_id:
            self.composer.cancel_edit()
            self.show_notice("The announcement being edited has gone.")
        self.active.take(row)
        self._arrange()

    def _arrange(self) -> None:
        """Most urgent first, then newest; tab order follows what is on screen."""
        rows = sorted(self._rows.values(), key=lambda r: importance(r.message))
        self.active.place(rows)
        self._order = [row.message.id for row in rows]
        self._update_titles()

    def _check_reminder(self, row: AnnouncementRow, now: float) -> None:
        """An urgent one not acknowledged by all after N minutes: remind, once per N minutes."""
        m = row.message
        waiting = row.unacknowledged()
        since = self._reminded.get(m.id, m.created_at)
        limit = self.active.remind.value() * 60.0
        if m.priority != "urgent" or not waiting or now - m.created_at < limit:
            row.set_reminder(None)
            return
        online = self.composer.audience.directory.online
        away = sum(1 for name in waiting if online(name) is False)
        offline = f" ({away} offline)" if away else ""
        row.set_reminder(
            f"Not acknowledged by {len(waiting)}{offline} after {span(now - m.created_at)}."
        )
        if m.id not in self._reminded or now - since >= limit:
            self._reminded[m.id] = now
            self.show_notice(
                f"Reminder: {len(waiting)} have not acknowledged an urgent announcement (Active)."
            )
            QApplication.alert(self)
        self._update_titles()

    def _critical(self, notice: proto.FlagNotice) -> None:
        self.alert.raise_for(notice)
        QApplication.alert(self)
        self._update_titles()

    def _show_flagged(self, agent: str) -> None:
        self.flags.show_agent(agent)
        self.tabs.setCurrentWidget(self.flags)

    def _tab_shown(self, index: int) -> None:
        if self.tabs.widget(index) is self.flags:
            self.alert.clear()
            self._update_titles()

    def _update_titles(self) -> None:
        nagging = sum(1 for r in self._rows.values() if not r.resend.isHidden())
        extra = f", {nagging} waiting" if nagging else ""
        self.tabs.setTabText(1, f"&Active ({len(self._rows)}{extra})")
        critical = " — critical!" if self.alert.isVisibleTo(self) else ""
        self.tabs.setTabText(2, f"&Flags ({len(self.flags.notices)}){critical}")
        self.active.empty.setVisible(not self._rows)

    def tick(self) -> None:
        """Drop expired announcements, refresh ages and reminders (a timer, every ``tick_ms``)."""
        now = self._now()
        for announcement_id in self.state.expire(now):
            self._remove(announcement_id)
        for row in self._rows.values():
            row.refresh_times(now)
            self._check_reminder(row, now)
        self._update_titles()

    def active_ids(self) -> list[str]:
        """Ids of the announcements shown, in screen order."""
        return list(self._order)

    def row(self, announcement_id: str) -> AnnouncementRow | None:
        """The row showing this announcement, if it is shown."""
        return self._rows.get(announcement_id)
