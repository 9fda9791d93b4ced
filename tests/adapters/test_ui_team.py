"""The console's Team view (lane: adapters, Qt offscreen): per-agent figures, trends, sorting,
scope; and the console's new tab."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from agent_assist.marquee.protocol import Welcome
from ui.supervisor import SupervisorConsole
from ui.team import COLUMNS, TeamView, agent_figures, sparkline
from ui.theme import THEMES

TODAY = datetime.date(2024, 5, 7)


def row(agent: str, day: int, calls: int, handle: float, **more: Any) -> dict[str, Any]:
    """A ``by=agent`` row of the server for 2024-05-``day``."""
    base = {
        "day": f"2024-05-{day:02d}", "site": "manila", "team": "cards", "agent": agent,
        "calls": calls, "handle_s": handle, "aht_s": handle / calls if calls else None,
        "script_done": 3 * calls, "script_required": 4 * calls, "flags": {"rudeness": 1, "empathy": 2},
        "articles_suggested": 5, "articles_opened": 2, "articles_used": 1, "urgent_acks": 0,
        "ack_avg_s": None,
    }  # fmt: skip
    return {**base, **more}


ROWS = [
    row("ana", 5, 4, 1200.0),
    row("ana", 7, 2, 700.0, urgent_acks=2, ack_avg_s=30.0),
    row("ben", 7, 1, 599.0),
    row("Carla", 6, 3, 1818.0, script_required=0, script_done=0),
]


def test_an_agents_week_adds_up_across_days() -> None:
    ana, ben, carla = agent_figures(ROWS, today="2024-05-07")  # by site, team, then name
    assert (ana.agent, ana.calls, ana.today) == ("ana", 6, 2)
    assert ana.aht_s == pytest.approx(1900.0 / 6)
    assert ana.adherence == pytest.approx(0.75)
    assert ana.coaching == 2  # rudeness on two days; empathy is praise, not counted
    assert (ana.used, ana.acks, ana.ack_avg_s) == (2, 2, 30.0)
    assert ana.calls_by_day == {"2024-05-05": 4, "2024-05-07": 2}
    assert carla.adherence is None  # no script: no adherence, rather than 0 %
    assert ben.today == 1


def test_sparklines_scale_to_the_busiest_day() -> None:
    assert sparkline([0, 2, 4, 8]) == "·▃▅█"
    assert sparkline([None, 5.0]) == "·█"
    assert sparkline([]) == ""


@pytest.fixture
def view(qtbot: QtBot) -> TeamView:
    widget = TeamView(THEMES["light"], days=3)
    qtbot.addWidget(widget)
    widget.show_rows(ROWS, TODAY)
    return widget


def column(view: TeamView, name: str) -> list[str]:
    index = COLUMNS.index(name)
    return [view.table.item(r, index).text() for r in range(view.table.rowCount())]  # type: ignore[union-attr]


def test_one_row_per_agent_with_trends(view: TeamView) -> None:
    assert column(view, "Agent") == ["ana", "ben", "Carla"]
    assert column(view, "Calls") == ["6", "1", "3"]
    assert column(view, "Today") == ["2", "1", "0"]
    assert column(view, "Avg handle") == ["5:17", "9:59", "10:06"]
    assert column(view, "Script") == ["75%", "75%", "–"]
    assert column(view, "Urgent ack") == ["0:30", "–", "–"]
    assert column(view, "Calls per day") == ["█·▅", "··█", "·█·"]  # 05-05, 05-06, 05-07
    tip = view.table.item(0, COLUMNS.index("Flags")).toolTip()  # type: ignore[union-attr]
    assert tip == "Flags by kind: empathy 4, rudeness 2"


def test_columns_sort_by_value_not_by_text(view: TeamView) -> None:
    view.table.sortItems(COLUMNS.index("Avg handle"), Qt.SortOrder.AscendingOrder)
    assert column(view, "Agent") == ["ana", "ben", "Carla"]  # 5:17 < 9:59 < 10:06
    view.table.sortItems(COLUMNS.index("Script"), Qt.SortOrder.DescendingOrder)
    assert column(view, "Agent")[-1] == "Carla"  # no adherence sorts below any number
    view.table.sortItems(COLUMNS.index("Agent"), Qt.SortOrder.AscendingOrder)
    assert column(view, "Agent") == ["ana", "ben", "Carla"]  # case does not matter


def test_scope_and_problems_are_said(view: TeamView) -> None:
    view.set_scope(role="supervisor", site="manila", team="cards")
    assert view.scope.text() == "Scope: site manila, team cards"
    view.set_scope(role="admin", site="", team="")
    assert view.scope.text() == "Scope: all sites"
    view.set_problem("the server answered HTTP 403")
    assert view.status.text() == "Not updated: the server answered HTTP 403"


def test_the_console_has_a_team_tab_that_knows_its_scope(qtbot: QtBot) -> None:
    console = SupervisorConsole(theme=THEMES["light"], confirm=lambda q: True)
    qtbot.addWidget(console)
    names = [console.tabs.tabText(i).replace("&", "") for i in range(console.tabs.count())]
    assert names[-1] == "Team"
    console.show_message(Welcome(v=1, role="supervisor", name="Maria", site="cebu"))
    assert console.team.scope.text() == "Scope: site cebu"
    refreshed: list[bool] = []
    console.team.refresh_requested.connect(lambda: refreshed.append(True))
    (refresh,) = [b for b in console.team.findChildren(QPushButton) if b.text() == "&Refresh"]
    refresh.click()
    assert refreshed == [True]
