"""The wallboard (lane: adapters, Qt offscreen): what the floor sees, kiosk mode, and a real
server restarting underneath it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

from agent_assist.app.wallboard import WallboardOptions, connect_wallboard
from agent_assist.marquee.protocol import Announcement, Audience, Retracted, Welcome
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, open_session
from ui.bridge import Bridge
from ui.theme import THEMES
from ui.wallboard import Wallboard, team_figures

NOW = 1_700_000_000.0


def news(
    ident: str, text: str, priority: str = "info", *, created: float = NOW - 60, **audience: Any
) -> Announcement:
    return Announcement(
        id=ident, seq=1, text=text, priority=priority,  # type: ignore[arg-type]
        audience=Audience(**(audience or {"all": True})), author="Maria", created_at=created,
    )  # fmt: skip


@pytest.fixture
def board(qtbot: QtBot) -> Wallboard:
    clock = {"now": NOW}
    widget = Wallboard(theme=THEMES["dark"], now=lambda: clock["now"])
    widget.clock_value = clock  # type: ignore[attr-defined]
    qtbot.addWidget(widget)
    widget.resize(1920, 1080)
    widget.show_message(Welcome(v=1, role="supervisor", name="floor", site="manila"))
    return widget


def texts(board: Wallboard) -> list[str]:
    return [a.text for a in board.shown()]


def test_urgent_news_comes_first_and_largest(board: Wallboard) -> None:
    board.show_message(news("a1", "Team lunch at one", "info", created=NOW - 10))
    board.show_message(news("a2", "Top-up outage in region 3", "urgent", created=NOW - 300))
    board.show_message(news("a3", "Queue over 40", "warning", created=NOW - 5))
    assert texts(board) == ["Top-up outage in region 3", "Queue over 40", "Team lunch at one"]
    assert board.lead.text() == "URGENT  Top-up outage in region 3"
    board.lead.ensurePolished()
    board.others[0].ensurePolished()
    # on a 55-inch 1080p screen 64 px is about 4 cm: legible from across the floor
    assert board.lead.font().pixelSize() >= 64
    assert board.lead.font().pixelSize() > board.others[0].font().pixelSize() >= 36
    board.show_message(Retracted(id="a2", seq=2))
    assert board.lead.text() == "WARNING  Queue over 40"


def test_only_the_floors_news_and_never_one_agents(board: Wallboard) -> None:
    board.show_message(news("a1", "For manila", sites=("manila",)))
    board.show_message(news("a2", "For cebu", sites=("cebu",)))
    board.show_message(news("a3", "For Dana only", agents=("Dana",)))
    board.show_message(news("a4", "For the cards team", teams=("cards",)))
    assert texts(board) == ["For manila"]
    board.show_stats([stats_row("cards", 3)])  # the floor's teams, as today's numbers show them
    assert set(texts(board)) == {"For manila", "For the cards team"}


def test_expired_and_scheduled_news_follow_the_clock(board: Wallboard) -> None:
    later = Announcement(
        id="s1", seq=1, text="Fire drill", priority="warning", audience=Audience(all=True),
        author="Maria", created_at=NOW, starts_at=NOW + 60, expires_at=NOW + 120,
    )  # fmt: skip
    board.show_message(later)
    assert texts(board) == []
    assert board.quiet.isVisibleTo(board)
    board.clock_value["now"] = NOW + 61  # type: ignore[attr-defined]
    board.tick()
    assert texts(board) == ["Fire drill"]
    board.clock_value["now"] = NOW + 121  # type: ignore[attr-defined]
    board.tick()
    assert texts(board) == []


def stats_row(team: str, calls: int, **more: Any) -> dict[str, Any]:
    row = {"day": "2024-05-01", "site": "manila", "team": team, "calls": calls, "aht_s": 312.4,
           "adherence": 0.917, "articles_used": 4, "ack_avg_s": 45.0}  # fmt: skip
    return {**row, **more}


def test_todays_numbers_per_team_busiest_first(board: Wallboard) -> None:
    rows = [stats_row("loans", 5, adherence=None, ack_avg_s=None), stats_row("cards", 42)]
    assert team_figures(rows) == [
        ("cards", ["42", "5:12", "92%", "4", "0:45"]),
        ("loans", ["5", "5:12", "–", "4", "–"]),
    ]
    board.show_stats(rows)
    cells = [board.board.itemAt(i).widget().text() for i in range(board.board.count())]  # type: ignore[union-attr]
    assert cells[:6] == ["Team", "Calls", "Avg handle", "Script", "Knowledge used", "Urgent ack"]
    assert cells[6:12] == ["cards", "42", "5:12", "92%", "4", "0:45"]


def test_a_failed_read_keeps_the_last_numbers(board: Wallboard) -> None:
    board.show_stats([stats_row("cards", 42)])
    board.set_stats_problem("cannot reach the server")
    board.tick()
    assert board.note.text() == "Numbers not updated: cannot reach the server"
    assert board.board.count() == 12


def test_kiosk_mode_has_no_controls_no_cursor_and_ignores_keys(
    board: Wallboard, qtbot: QtBot
) -> None:
    for control in (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox):
        assert board.findChildren(control) == []
    assert board.cursor().shape() == Qt.CursorShape.BlankCursor
    board.show()
    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Q, Qt.Key.Key_F4):
        event = QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier)
        board.keyPressEvent(event)
        assert event.isAccepted()
    assert board.isVisible()


# -- a real server under it ---------------------------------------------------------------------


class Restartable(Node):
    def __init__(self, db: Path) -> None:
        super().__init__(lambda: MarqueeStore(db))
        self.store = MarqueeStore(db)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Restartable]:
    node = Restartable(tmp_path / "marquee.db")
    node.start()
    yield node
    with contextlib.suppress(AssertionError):
        node.stop()


def announce(node: Restartable, token: str, text: str) -> None:
    with contextlib.ExitStack() as stack:
        ws, _ = open_session(stack, node.url, token)
        ws.send(json.dumps({"type": "announce", "text": text, "priority": "urgent"}))
        while json.loads(ws.recv(timeout=5))["type"] != "announcement":
            pass


def test_the_board_survives_a_server_restart(server: Restartable, qtbot: QtBot) -> None:
    floor = server.store.create_token(role="supervisor", name="floor", site="manila")
    boss = server.store.create_token(role="supervisor", name="Maria", site="manila")
    board = Wallboard(theme=THEMES["dark"])
    qtbot.addWidget(board)
    bridge = Bridge()
    options = WallboardOptions(server=server.url, token=floor, refresh=0.5)
    stops = connect_wallboard(board, bridge, options=options, ssl_context=None)
    try:
        qtbot.waitUntil(lambda: board.connection.text() == "● live", timeout=10_000)
        announce(server, boss, "Before the restart")
        qtbot.waitUntil(lambda: texts(board) == ["Before the restart"], timeout=10_000)
        qtbot.waitUntil(lambda: board.note.text().startswith("Numbers updated"), timeout=10_000)
        server.stop()
        qtbot.waitUntil(lambda: board.connection.text() == "reconnecting…", timeout=10_000)
        qtbot.waitUntil(lambda: board.note.text().startswith("Numbers not updated"), timeout=10_000)
        assert texts(board) == ["Before the restart"]  # what the floor knew stays up
        server.start()  # the same port and database
        announce(server, boss, "After the restart")
        qtbot.waitUntil(lambda: board.connection.text() == "● live", timeout=40_000)
        qtbot.waitUntil(lambda: len(texts(board)) == 2, timeout=10_000)
        assert set(texts(board)) == {"Before the restart", "After the restart"}
        qtbot.waitUntil(lambda: board.note.text().startswith("Numbers updated"), timeout=10_000)
    finally:
        for stop in stops:
            stop()


def test_the_wallboard_command_saves_a_screenshot(server: Restartable, tmp_path: Path) -> None:
    floor = server.store.create_token(role="supervisor", name="floor", site="manila")
    shot = tmp_path / "wall.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "agent_assist", "wallboard", "--server", server.url, "--token",
         floor, "--windowed", "--quit-after", "2", "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert time.monotonic() - started < 90
