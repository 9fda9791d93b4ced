"""The console's flag feed: agents' shared flags grouped by agent, filterable, critical ones loud.

Agents' apps share a flag's kind, severity and time where the site policy allows
it, never the words. The feed keeps the newest ``FEED_LIMIT`` notices, groups them
by agent (the agent with the newest flag first), filters by agent and severity,
and emits :attr:`FlagFeed.critical` for each critical flag so the console can
alert the supervisor wherever they are looking.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent_assist.marquee import protocol as proto
from ui.theme import Theme

__all__ = ["FEED_LIMIT", "PRIVACY_NOTE", "SEVERITIES", "FlagFeed"]

FEED_LIMIT = 200  # flag notices kept in the live feed
PRIVACY_NOTE = (
    "Shared by agents' apps where the site policy allows it: "
    "kind, severity and time only — never the words."
)
SEVERITIES = ("critical", "warning", "info")  # the filter's choices, worst first
_RANK = {"critical": 0, "warning": 1, "info": 2, "praise": 3}
_ALL = ""
_AGENT = Qt.ItemDataRole.UserRole  # a group row's agent name


def _where(notice: proto.FlagNotice) -> str:
    return " / ".join(part for part in (notice.site, notice.team) if part) or "—"


class FlagFeed(QWidget):
    """Grouped, filterable live flags; ``critical`` carries each critical notice as it arrives."""

    critical = Signal(object)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.notices: list[proto.FlagNotice] = []  # newest first
        note = QLabel(PRIVACY_NOTE)
        note.setAccessibleName("About the flag feed")
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        self.agent = QComboBox()
        self.agent.setAccessibleName("Show flags of agent")
        self.agent.addItem("All agents", _ALL)
        self.severity = QComboBox()
        self.severity.setAccessibleName("Show flags of severity")
        self.severity.addItem("All severities", _ALL)
        for level in SEVERITIES:
            self.severity.addItem(level.capitalize(), level)
        for box in (self.agent, self.severity):
            box.currentIndexChanged.connect(self._rebuild)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Live flag feed, grouped by agent, newest first")
        self.tree.setHeaderLabels(["Agent / time", "Flag", "Severity"])
        self.tree.header().setAccessibleName("Flag feed columns")
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 190)
        self.tree.setColumnWidth(1, 150)
        filters = QHBoxLayout()
        for label, box in (("Agent", self.agent), ("Severity", self.severity)):
            text = QLabel(label)
            text.setBuddy(box)
            filters.addWidget(text)
            filters.addWidget(box, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(filters)
        layout.addWidget(self.tree, 1)
        self._collapsed: set[str] = set()
        self.tree.itemCollapsed.connect(lambda item: self._collapsed.add(item.data(0, _AGENT)))
        self.tree.itemExpanded.connect(lambda item: self._collapsed.discard(item.data(0, _AGENT)))

    def add(self, notice: proto.FlagNotice) -> None:
        """Take one notice (newest first; only the newest FEED_LIMIT are kept)."""
        self.notices.insert(0, notice)
        del self.notices[FEED_LIMIT:]
        if self.agent.findData(notice.agent) < 0:
            self.agent.addItem(notice.agent, notice.agent)
        self._rebuild()
        if notice.severity == "critical":
            self.critical.emit(notice)

    def show_agent(self, name: str) -> None:
        """Filter to one agent's flags (e.g. from the critical alert)."""
        index = self.agent.findData(name)
        self.agent.setCurrentIndex(max(0, index))

    def shown(self) -> list[proto.FlagNotice]:
        """The notices the filters let through, newest first."""
        agent, level = self.agent.currentData(), self.severity.currentData()
        return [
            n
            for n in self.notices
            if (not agent or n.agent == agent) and (not level or n.severity == level)
        ]

    def _rebuild(self) -> None:
        self.tree.clear()
        groups: dict[str, list[proto.FlagNotice]] = {}
        for notice in self.shown():  # newest first, so groups are ordered by their newest flag
            groups.setdefault(notice.agent, []).append(notice)
        for agent, notices in groups.items():
            worst = min(notices, key=lambda n: _RANK.get(n.severity, len(_RANK))).severity
            count = f"{len(notices)} flag" + ("s" if len(notices) != 1 else "")
            head = QTreeWidgetItem([f"{agent} ({_where(notices[0])})", count, worst.upper()])
            head.setData(0, _AGENT, agent)
            self._paint(head, worst, columns=(2,))
            for notice in notices:
                when = time.strftime("%H:%M:%S", time.localtime(notice.at))
                kind = notice.kind.replace("_", " ")
                child = QTreeWidgetItem([when, kind, notice.severity.upper()])
                self._paint(child, notice.severity, columns=(0, 1, 2))
                head.addChild(child)
            self.tree.addTopLevelItem(head)
            head.setExpanded(agent not in self._collapsed)

    def _paint(self, item: QTreeWidgetItem, level: str, *, columns: tuple[int, ...]) -> None:
        background, foreground = self._theme.colours(level)
        for column in columns:
            item.setBackground(column, QBrush(QColor(background)))
            item.setForeground(column, QBrush(QColor(foreground)))
