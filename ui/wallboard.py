"""The wallboard: a read-only, full-screen floor display, legible from across the room.

Top: the floor's announcements, most important first (urgent, warning, info;
then newest), the first one huge. Bottom: today's numbers per team. No
controls at all (kiosk): nothing to click, no cursor, keys do nothing. A pure
view: the composition root feeds it marquee messages (:meth:`Wallboard.show_message`),
stats rows (:meth:`Wallboard.show_stats`) and the connection state; when the
server restarts it keeps showing what it had, says it is reconnecting, and
catches up. Announcements addressed to one agent never appear here.

Sizes follow the screen height (designed at 1920x1080); colours come from the
theme, and priority is always a word as well as a colour.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from agent_assist.marquee.protocol import Announcement, Audience, Retracted, Welcome
from ui.theme import Theme

__all__ = ["MAX_SHOWN", "Wallboard", "clock_text", "team_figures"]

MAX_SHOWN = 4  # announcements on screen at once (the first one large)
MAX_TEAMS = 6
_RANK = {"urgent": 0, "warning": 1, "info": 2}
_COLUMNS = ("Team", "Calls", "Avg handle", "Script", "Knowledge used", "Urgent ack")


def clock_text(seconds: float | None) -> str:
    """``m:ss`` or an en dash when there is nothing to show."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def team_figures(rows: Sequence[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(team label, its figures) per team of today's ``by=team`` stats rows, busiest first."""
    teams = []
    for row in sorted(rows, key=lambda r: (-r["calls"], r["site"], r["team"])):
        adherence = row.get("adherence")
        label = row["team"] or "(no team)"
        if len({r["site"] for r in rows}) > 1:
            label += f" · {row['site'] or '(no site)'}"
        teams.append(
            (
                label,
                [
                    str(row["calls"]),
                    clock_text(row.get("aht_s")),
                    "–" if adherence is None else f"{adherence:.0%}",
                    str(row.get("articles_used", 0)),
                    clock_text(row.get("ack_avg_s")),
                ],
            )
        )
    return teams[:MAX_TEAMS]


def _plain(text: str = "", *, name: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # announcements are untrusted text
    label.setAccessibleName(name)
    return label


class Wallboard(QWidget):
    """The floor display. ``floor``: the title; ``now``: epoch seconds (injectable for tests)."""

    def __init__(
        self, *, theme: Theme, floor: str = "", now: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.setWindowTitle("Agent Assist wallboard")
        self.setAccessibleName("Wallboard")
        self.setCursor(Qt.CursorShape.BlankCursor)  # kiosk: nothing to point at
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._theme, self._now = theme, now
        self._site, self._team, self._floor = "", "", floor
        self._teams_seen: set[str] = set()
        self._announcements: dict[str, Announcement] = {}
        self._updated: float | None = None
        self._problem: str | None = None
        self._live = False
        self._unit = 30.0  # px: the base size, from the screen height
        self.setStyleSheet(f"background:{theme.window}; color:{theme.text};")

        self.title = _plain(name="Floor")
        self.clock = _plain(name="Time")
        self.connection = _plain("connecting…", name="Connection")
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.connection)
        header.addSpacing(24)
        header.addWidget(self.clock)
        self.lead = _plain(name="Most important announcement")
        self.lead.setWordWrap(True)
        self.lead.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.others = [_plain(name="Announcement") for _ in range(MAX_SHOWN - 1)]
        for label in self.others:
            label.setWordWrap(True)
        self.quiet = _plain("No announcements", name="No announcements")
        self.board = QGridLayout()
        self.board.setHorizontalSpacing(24)
        self.board.setVerticalSpacing(8)
        self.today = _plain("Today", name="Today's numbers")
        self.note = _plain(name="Stats note")
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet(f"color:{theme.border};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 32, 48, 24)
        layout.addLayout(header)
        layout.addSpacing(16)
        layout.addWidget(self.lead)
        for label in self.others:
            layout.addWidget(label)
        layout.addWidget(self.quiet)
        layout.addStretch(1)
        layout.addWidget(line)
        layout.addWidget(self.today)
        layout.addLayout(self.board)
        layout.addStretch(1)
        layout.addWidget(self.note)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)
        self._timer.start(1000)
        self._restyle()
        self._fill(None)
        self.tick()

    # -- what the composition root feeds in ------------------------------------------------

    def show_message(self, message: object) -> None:
        """A marquee message (on the GUI thread): welcome, announcement, retraction."""
        if isinstance(message, Welcome):
            self._site, self._team = message.site, message.team
        elif isinstance(message, Announcement):
            self._announcements[message.id] = message
        elif isinstance(message, Retracted):
            self._announcements.pop(message.id, None)
        self._arrange()

    def show_stats(self, rows: Sequence[dict[str, Any]]) -> None:
        """Today's ``by=team`` rows (what the token's scope allows)."""
        self._teams_seen = {r["team"] for r in rows if r["team"]}
        self._fill(rows)
        self._updated, self._problem = self._now(), None
        self.tick()

    def _fill(self, rows: Sequence[dict[str, Any]] | None) -> None:
        while self.board.count():
            item = self.board.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        figures = team_figures(rows or [])
        if figures:
            for column, heading in enumerate(_COLUMNS):
                self._cell(heading, 0, column, heading=True)
            for row, (team, values) in enumerate(figures, start=1):
                self._cell(team, row, 0, heading=False)
                for column, value in enumerate(values, start=1):
                    self._cell(value, row, column, heading=False)
        else:
            waiting = "Waiting for today's numbers…" if rows is None else "No calls yet today"
            self._cell(waiting, 0, 0, heading=True)

    def set_connection(self, state: str) -> None:
        """The marquee client's state: "connected", or why not (it keeps retrying)."""
        self._live = state == "connected"
        self.connection.setText("● live" if self._live else "reconnecting…")
        self._style_connection()

    def _style_connection(self) -> None:
        colour = self._theme.live[0] if self._live else self._theme.severity["warning"][0]
        self.connection.setStyleSheet(f"color:{colour}; font-size:{self._unit * 0.8:.0f}px;")

    def set_stats_problem(self, text: str) -> None:
        """The last stats read failed: say so quietly and keep the last numbers."""
        self._problem = text
        self.tick()

    # -- kiosk ---------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Kiosk: keys are ignored (nobody at the wall should change what it shows)."""
        event.accept()  # no controls: no key does anything (close it from the system)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Scale the type to the screen so it stays legible across a room."""
        self._unit = max(12.0, self.height() / 36)
        self._restyle()
        super().resizeEvent(event)

    # -- drawing ---------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: the clock, the age of the numbers, scheduled and expired news."""
        now = self._now()
        self.clock.setText(time.strftime("%H:%M", time.localtime(now)))
        where = self._floor or self._site or "all sites"
        self.title.setText(f"Floor · {where}")
        if self._problem is not None:
            self.note.setText(f"Numbers not updated: {self._problem}")
        elif self._updated is not None:
            age = time.strftime("%H:%M", time.localtime(self._updated))
            self.note.setText(f"Numbers updated {age} · counts and times only, never words")
        self._arrange()

    def _for_floor(self, audience: Audience) -> bool:
        teams = {self._team} if self._team else self._teams_seen
        return (
            audience.all
            or not self._site  # an admin's board: every site and team
            or self._site in audience.sites
            or bool(teams & set(audience.teams))
        )

    def shown(self) -> list[Announcement]:
        """The announcements on screen now, in order."""
        now = self._now()
        live = [
            a
            for a in self._announcements.values()
            if (a.starts_at or 0) <= now
            and (a.expires_at is None or a.expires_at > now)
            and self._for_floor(a.audience)
        ]
        live.sort(key=lambda a: (_RANK.get(a.priority, 3), -a.created_at))
        return live[:MAX_SHOWN]

    def _arrange(self) -> None:
        shown = self.shown()
        labels = [self.lead, *self.others]
        for index, label in enumerate(labels):
            if index < len(shown):
                message = shown[index]
                label.setText(f"{message.priority.upper()}  {message.text}")
                background, colour = self._theme.colours(message.priority)
                size = self._fitting(label.text()) if index == 0 else self._unit * 1.3
                label.setStyleSheet(
                    f"background:{background}; color:{colour}; font-size:{size:.0f}px;"
                    f" font-weight:{700 if index == 0 else 600}; padding:{size * 0.35:.0f}px;"
                    " border-radius:8px;"
                )
                label.show()
            else:
                label.hide()
        self.quiet.setVisible(not shown)

    def _fitting(self, text: str) -> float:
        """The lead's font size: as large as 2.4 units while the text fits in three lines."""
        width = max(1.0, self.width() - 2 * 48 - 2 * 30)
        size = self._unit * 2.4
        while size > self._unit * 1.3 and len(text) * 0.55 * size / width > 3:
            size *= 0.9
        return size

    def _cell(self, text: str, row: int, column: int, *, heading: bool) -> None:
        label = _plain(text, name=_COLUMNS[column] if column < len(_COLUMNS) else "value")
        label.setProperty("heading", heading)
        label.setProperty("firstColumn", column == 0)
        self._style_cell(label)
        align = Qt.AlignmentFlag.AlignLeft if column == 0 else Qt.AlignmentFlag.AlignRight
        label.setAlignment(align | Qt.AlignmentFlag.AlignVCenter)
        self.board.addWidget(label, row, column)

    def _style_cell(self, label: QLabel) -> None:
        heading, first = bool(label.property("heading")), bool(label.property("firstColumn"))
        size = self._unit * (0.8 if heading else 1.6 if not first else 1.2)
        colour = self._theme.muted if heading else self._theme.text
        label.setStyleSheet(
            f"color:{colour}; font-size:{size:.0f}px; font-weight:{400 if heading else 700};"
        )

    def _restyle(self) -> None:
        unit = self._unit
        self.title.setStyleSheet(f"font-size:{unit * 1.2:.0f}px; font-weight:700;")
        self.clock.setStyleSheet(f"font-size:{unit * 1.2:.0f}px; font-weight:700;")
        self.quiet.setStyleSheet(f"color:{self._theme.muted}; font-size:{unit * 1.2:.0f}px;")
        self.today.setStyleSheet(f"font-size:{unit:.0f}px; font-weight:700;")
        self.note.setStyleSheet(f"color:{self._theme.muted}; font-size:{unit * 0.6:.0f}px;")
        for index in range(self.board.count()):
            item = self.board.itemAt(index)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel):
                self._style_cell(widget)
        self._style_connection()
        self._arrange()
