"""The console's audience picker: everyone, or sites, teams and agents the server listed.

Names come only from the server's ``directory_list`` (the sites, teams and agents
inside the supervisor's scope), so nothing can be mistyped and nothing outside the
scope can be chosen. The picker counts who the chosen audience reaches, and how
many of them are online, from the same directory.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QWidget,
)

from agent_assist.marquee import protocol as proto

__all__ = ["AudiencePicker", "Directory", "recipients"]

_LIST_HEIGHT = 96  # px: about four names; the lists scroll beyond that


class Directory:
    """What the server said a supervisor may address, joined from its directory_list frames.

    :meth:`add` takes frames in order; a frame after a complete directory (``more``
    false) starts a new one, so a refresh replaces the old names. ``ready`` is True
    once a complete directory has arrived.
    """

    def __init__(self) -> None:
        self.sites: tuple[str, ...] = ()
        self.teams: tuple[str, ...] = ()
        self.agents: tuple[proto.Member, ...] = ()
        self.ready = False
        self._parts: list[proto.DirectoryList] = []

    def add(self, frame: proto.DirectoryList) -> bool:
        """Take one frame; True when it completed a directory (the lists are then new)."""
        self._parts.append(frame)
        if frame.more:
            return False
        parts, self._parts = self._parts, []
        self.sites = tuple(dict.fromkeys(s for p in parts for s in p.sites))
        self.teams = tuple(dict.fromkeys(t for p in parts for t in p.teams))
        self.agents = tuple(a for p in parts for a in p.agents)
        self.ready = True
        return True

    def online(self, name: str) -> bool | None:
        """Is an agent of this name online (any of its desktops)? None when not listed."""
        found = [a.online for a in self.agents if a.name == name]
        return any(found) if found else None


def recipients(audience: proto.Audience, agents: Iterable[proto.Member]) -> list[proto.Member]:
    """The listed agents ``audience`` reaches, each name once (online if any desktop is)."""
    reached: dict[str, proto.Member] = {}
    for agent in agents:
        site, team = agent.site or None, agent.team or None
        if audience.includes(site=site, team=team, name=agent.name):
            known = reached.get(agent.name)
            if known is None or (agent.online and not known.online):
                reached[agent.name] = agent
    return sorted(reached.values(), key=lambda a: a.name)


class AudiencePicker(QWidget):
    """Everyone, or ticked sites, teams and agents; ``changed`` whenever the choice changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.directory = Directory()
        self.everyone = QCheckBox("&Everyone in my scope")
        self.everyone.setAccessibleName("Audience: everyone")
        self.everyone.setChecked(True)
        self.everyone.toggled.connect(self._sync)
        self.sites, self.teams, self.agents = (self._list(w) for w in ("sites", "teams", "agents"))
        self.filter = QLineEdit()
        self.filter.setAccessibleName("Find an agent")
        self.filter.setPlaceholderText("Find an agent…")
        self.filter.setClearButtonEnabled(True)
        for button in self.filter.findChildren(QToolButton):  # Qt's own clear button
            button.setAccessibleName("Clear the agent search")
        self.filter.textChanged.connect(self._apply_filter)
        self.count = QLabel()
        self.count.setAccessibleName("Who it reaches")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.count.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.everyone, 0, 0, 1, 3)
        for column, (title, box) in enumerate(
            (("S&ites", self.sites), ("Tea&ms", self.teams), ("A&gents", self.agents))
        ):
            label = QLabel(title)
            label.setBuddy(box)
            grid.addWidget(label, 1, column)
            grid.addWidget(box, 2, column)
        grid.addWidget(self.filter, 3, 2)
        grid.addWidget(self.count, 3, 0, 1, 2)
        self._editing = False
        self._sync()

    def _list(self, what: str) -> QListWidget:
        box = QListWidget()
        box.setAccessibleName(f"Audience {what}: tick to include")
        box.setMaximumHeight(_LIST_HEIGHT)
        box.itemChanged.connect(lambda _item: self._sync())
        return box

    # -- the server's directory -------------------------------------------------------

    def add_directory(self, frame: proto.DirectoryList) -> None:
        """Take a directory_list frame; the lists are rebuilt once a directory is complete,
        keeping what was ticked (names no longer listed are dropped)."""
        if not self.directory.add(frame):
            return
        d = self.directory
        for box, names in (
            (self.sites, d.sites),
            (self.teams, d.teams),
            (self.agents, tuple(dict.fromkeys(a.name for a in d.agents))),
        ):
            ticked = set(_ticked(box))
            box.blockSignals(True)
            box.clear()
            for name in names:
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked
                item.setCheckState(checked)
                box.addItem(item)
            box.blockSignals(False)
        self._apply_filter(self.filter.text())
        self._sync()

    # -- the choice ---------------------------------------------------------------------

    def audience(self) -> proto.Audience | None:
        """The chosen audience, or None when nobody is chosen."""
        if self.everyone.isChecked():
            return proto.Audience(all=True)
        sites, teams, agents = (_ticked(b) for b in (self.sites, self.teams, self.agents))
        if not (sites or teams or agents):
            return None
        return proto.Audience(all=False, sites=sites, teams=teams, agents=agents)

    def choose(
        self,
        *,
        sites: Iterable[str] = (),
        teams: Iterable[str] = (),
        agents: Iterable[str] = (),
    ) -> None:
        """Tick exactly these names (names not listed are ignored) and untick Everyone."""
        self.everyone.setChecked(False)
        for box, names in ((self.sites, sites), (self.teams, teams), (self.agents, agents)):
            wanted = set(names)
            for index in range(box.count()):
                item = box.item(index)
                on = item.text() in wanted
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self._sync()

    def reset(self) -> None:
        """Back to Everyone, nothing ticked."""
        self.choose()
        self.everyone.setChecked(True)

    def set_editing(self, editing: bool) -> None:
        """While editing a sent announcement the audience is fixed."""
        self._editing = editing
        self.everyone.setEnabled(not editing)
        self._sync()

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for index in range(self.agents.count()):
            item = self.agents.item(index)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    def _sync(self) -> None:
        picking = not self.everyone.isChecked() and not self._editing
        for widget in (self.sites, self.teams, self.agents, self.filter):
            widget.setEnabled(picking)
        self.count.setText(self._count_text())
        self.changed.emit()

    def _count_text(self) -> str:
        if not self.directory.ready:
            return "Waiting for the server's list of sites, teams and agents…"
        audience = self.audience()
        if audience is None:
            return "Tick sites, teams or agents (or Everyone)."
        reached = recipients(audience, self.directory.agents)
        online = sum(1 for a in reached if a.online)
        people = "agent" if len(reached) == 1 else "agents"
        return f"Reaches {len(reached)} {people} ({online} online now)."


def _ticked(box: QListWidget) -> tuple[str, ...]:
    return tuple(
        box.item(i).text()
        for i in range(box.count())
        if box.item(i).checkState() == Qt.CheckState.Checked
    )
