"""The console's Team view: a sortable table per agent, with trends over the last days.

A pure view: the composition root reads ``/stats?by=agent`` for the last
``days`` days (the server filters by the supervisor's scope) and calls
:meth:`TeamView.show_rows`; :attr:`TeamView.refresh_requested` asks for a read
now. Per agent: calls (the period and today), average handle time, script
adherence, coaching flags (praise not counted; the tooltip has every kind),
knowledge articles used, how long urgent announcements took to be
acknowledged, and two trends, calls and average handle time per day.
Counts and times only: agents' apps never share words.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.theme import Theme

__all__ = ["COLUMNS", "PRAISE", "AgentFigures", "TeamView", "agent_figures", "sparkline"]

PRAISE = ("ownership", "empathy")
COLUMNS = (
    "Agent", "Site", "Team", "Calls", "Today", "Avg handle", "Script", "Flags",
    "Knowledge used", "Urgent ack", "Calls per day", "Avg handle per day",
)  # fmt: skip
_BARS = "▁▂▃▄▅▆▇█"
_SORT = Qt.ItemDataRole.UserRole
_TREND = Qt.ItemDataRole.UserRole + 1  # the per-day values a trend cell draws


def sparkline(values: Sequence[float | None]) -> str:
    """One bar per value, scaled to the largest; ``·`` where there is nothing."""
    top = max((v for v in values if v), default=0.0)
    return "".join(
        "·" if not v else _BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1) + 0.5))]
        for v in values
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@dataclass
class AgentFigures:
    """One agent's period, from the per-day rows."""

    agent: str
    site: str
    team: str
    calls: int = 0
    today: int = 0
    handle_s: float = 0.0
    script_done: int = 0
    script_required: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    used: int = 0
    opened: int = 0
    suggested: int = 0
    acks: int = 0
    ack_total_s: float = 0.0
    calls_by_day: dict[str, int] = field(default_factory=dict)
    aht_by_day: dict[str, float] = field(default_factory=dict)

    @property
    def aht_s(self) -> float | None:
        """Average handle time in seconds, or None without calls."""
        return self.handle_s / self.calls if self.calls else None

    @property
    def adherence(self) -> float | None:
        """Script steps done / required (0..1), or None when nothing was required."""
        return self.script_done / self.script_required if self.script_required else None

    @property
    def coaching(self) -> int:
        """Coaching flags raised (praise not counted)."""
        return sum(n for kind, n in self.flags.items() if kind not in PRAISE)

    @property
    def ack_avg_s(self) -> float | None:
        """Average seconds to acknowledge an urgent announcement, or None."""
        return self.ack_total_s / self.acks if self.acks else None


def agent_figures(rows: Sequence[dict[str, Any]], *, today: str) -> list[AgentFigures]:
    """Per-agent figures from ``by=agent`` rows (one per agent and day)."""
    agents: dict[tuple[str, str, str], AgentFigures] = {}
    for row in rows:
        key = (row["site"], row["team"], row["agent"])
        figures = agents.setdefault(key, AgentFigures(row["agent"], row["site"], row["team"]))
        figures.calls += row["calls"]
        figures.today += row["calls"] if row["day"] == today else 0
        figures.handle_s += row["handle_s"]
        figures.script_done += row["script_done"]
        figures.script_required += row["script_required"]
        for kind, count in row["flags"].items():
            figures.flags[kind] = figures.flags.get(kind, 0) + count
        figures.used += row["articles_used"]
        figures.opened += row["articles_opened"]
        figures.suggested += row["articles_suggested"]
        if row["urgent_acks"]:
            figures.acks += row["urgent_acks"]
            figures.ack_total_s += row["ack_avg_s"] * row["urgent_acks"]
        figures.calls_by_day[row["day"]] = row["calls"]
        if row["aht_s"] is not None:
            figures.aht_by_day[row["day"]] = row["aht_s"]
    return sorted(agents.values(), key=lambda f: (f.site, f.team, f.agent.casefold()))


class _Item(QTableWidgetItem):
    """A cell that sorts by its value, not its text ("10:05" after "9:59")."""

    def __init__(self, text: str, value: object) -> None:
        super().__init__(text)
        self.setData(_SORT, value)
        self.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(_SORT), other.data(_SORT)
        if isinstance(mine, int | float) and isinstance(theirs, int | float):
            return mine < theirs
        if isinstance(mine, int | float) != isinstance(theirs, int | float):
            return isinstance(theirs, int | float)  # blanks ("–") sort first
        return str(mine) < str(theirs)


def _trend(values: list[float | None], sort: float) -> QTableWidgetItem:
    item = _Item(sparkline(values), sort)
    item.setData(_TREND, [float(v or 0.0) for v in values])
    return item


class _TrendDelegate(QStyledItemDelegate):
    """Draws a trend cell as small bars, one per day, from zero to the cell's largest value
    (its text, a row of block characters, stays for screen readers and copying)."""

    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colour = QColor(colour)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        values = index.data(_TREND)
        if not isinstance(values, list):
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        box = option.rect.adjusted(4, 5, -4, -5)
        top = max((v for v in values if v), default=0.0)
        if not values or not top:
            return
        step = min(12.0, box.width() / len(values))
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._colour)
        for i, value in enumerate(values):
            height = box.height() * (value or 0.0) / top
            painter.drawRect(
                QRectF(box.left() + i * step, box.bottom() - height, step * 0.7, max(1.0, height))
            )
        painter.restore()


class TeamView(QWidget):
    """Per-agent stats for the supervisor's scope (see the module docstring)."""

    refresh_requested = Signal()

    def __init__(self, theme: Theme, *, days: int = 7) -> None:
        super().__init__()
        self.days = days
        self._theme = theme
        self.scope = QLabel("Scope: as your token allows")
        self.scope.setAccessibleName("Scope")
        self.status = QLabel("Waiting for the server…")
        self.status.setAccessibleName("Team stats status")
        refresh = QPushButton("&Refresh")
        refresh.setAccessibleName("Refresh team stats")
        refresh.clicked.connect(self.refresh_requested)
        top = QHBoxLayout()
        top.addWidget(self.scope, 1)
        top.addWidget(self.status)
        top.addWidget(refresh)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Agents")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setAccessibleName("Rows")
        self.table.horizontalHeader().setAccessibleName("Columns: click to sort")
        self.table.setCornerButtonEnabled(False)
        for button in self.table.findChildren(QAbstractButton):
            button.setAccessibleName("Select all")
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        trends = _TrendDelegate(theme.accent, self.table)
        for column in (COLUMNS.index("Calls per day"), COLUMNS.index("Avg handle per day")):
            self.table.setItemDelegateForColumn(column, trends)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        note = QLabel(
            f"The last {days} days, per agent. Shared by agents' apps where the site opts in: "
            "counts and times only, never words."
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color:{theme.muted};")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)

    def set_scope(self, *, role: str, site: str, team: str) -> None:
        """Say whose numbers these are (from the server's welcome)."""
        if role == "admin" or not site:
            text = "all sites"
        else:
            text = f"site {site}" + (f", team {team}" if team else "")
        self.scope.setText(f"Scope: {text}")

    def set_problem(self, text: str) -> None:
        """Say why the table could not be updated (it keeps its last rows)."""
        self.status.setText(f"Not updated: {text}")

    def show_rows(self, rows: Sequence[dict[str, Any]], today: datetime.date) -> None:
        """The ``by=agent`` rows of the last ``days`` days up to ``today``."""
        days = [
            (today - datetime.timedelta(days=i)).isoformat() for i in range(self.days - 1, -1, -1)
        ]
        figures = agent_figures(rows, today=today.isoformat())
        self.table.setSortingEnabled(False)  # filling a sorting table scrambles the rows
        self.table.setRowCount(len(figures))
        for row, f in enumerate(figures):
            adherence = f.adherence
            cells = [
                _Item(f.agent, f.agent.casefold()),
                _Item(f.site, f.site),
                _Item(f.team, f.team),
                _Item(str(f.calls), f.calls),
                _Item(str(f.today), f.today),
                _Item(_duration(f.aht_s), f.aht_s if f.aht_s is not None else "–"),
                _Item(
                    "–" if adherence is None else f"{adherence:.0%}",
                    adherence if adherence is not None else "–",
                ),
                _Item(str(f.coaching), f.coaching),
                _Item(str(f.used), f.used),
                _Item(_duration(f.ack_avg_s), f.ack_avg_s if f.ack_avg_s is not None else "–"),
                _trend([f.calls_by_day.get(d, 0) for d in days], f.calls),
                _trend([f.aht_by_day.get(d) for d in days], f.aht_s or 0.0),
            ]
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(f.flags.items())) or "none"
            cells[7].setToolTip(f"Flags by kind: {kinds}")
            cells[8].setToolTip(f"Suggested {f.suggested}, opened {f.opened}, used {f.used}")
            cells[10].setToolTip(" · ".join(f"{d[5:]}: {f.calls_by_day.get(d, 0)}" for d in days))
            cells[11].setToolTip(
                " · ".join(f"{d[5:]}: {_duration(f.aht_by_day.get(d))}" for d in days)
            )
            for column, cell in enumerate(cells):
                if 3 <= column <= 9:
                    cell.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, cell)
        self.table.setSortingEnabled(True)
        self.status.setText(f"{len(figures)} agents · updated {datetime.datetime.now():%H:%M}")
