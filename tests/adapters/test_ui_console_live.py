"""The supervisor console against a real marquee server on 127.0.0.1, wired as the app wires it.

A real :class:`MarqueeClient` on its own thread, the Qt bridge, and
:func:`link_console` (fire-and-forget sends with callbacks): the console's pickers
are fed by the server within the supervisor's scope, an announcement is "sent" only
once the server has it, receipts carry presence, and a server going away shows a
plain banner and comes back by itself.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent_assist.app.console_link import link_console
from agent_assist.marquee.client import MarqueeClient
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node, next_of, open_session
from ui.bridge import Bridge
from ui.console_status import RECONNECTING
from ui.supervisor import SupervisorConsole
from ui.theme import theme_named

WAIT = 20_000  # ms: a wait for the network, not a speed target


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "marquee.db"


@pytest.fixture
def tokens(db: Path) -> dict[str, str]:
    store = MarqueeStore(db)
    return {
        "ana": store.create_token(role="agent", name="ana", site="manila", team="cards"),
        "bo": store.create_token(role="agent", name="bo", site="manila", team="loans"),
        "cy": store.create_token(role="agent", name="cy", site="cebu", team="cards"),
        "maria": store.create_token(role="supervisor", name="maria", site=("manila",)),
    }


@pytest.fixture
def node(db: Path) -> Iterator[Node]:
    running = Node(lambda: MarqueeStore(db)).start()
    yield running
    running.stop()


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as opened:
        yield opened


def wire(qtbot: QtBot, url: str, token: str) -> tuple[SupervisorConsole, MarqueeClient]:
    """The console and a client, connected as ``agent_assist.app.main`` connects them."""
    bridge = Bridge()
    console = SupervisorConsole(theme=theme_named("light"))
    qtbot.addWidget(console)
    bridge.message.connect(console.show_message)
    bridge.connection.connect(console.set_connection_state)
    client = MarqueeClient(
        url,
        token,
        on_message=bridge.message.emit,
        on_state=bridge.connection.emit,
        backoff=(0.1, 0.5),
    )
    console.send_requested.connect(link_console(console, client, run_on_main=bridge.run_on_main))
    client.start()
    return console, client


@pytest.fixture
def console(
    qtbot: QtBot, node: Node, tokens: dict[str, str]
) -> Iterator[tuple[SupervisorConsole, MarqueeClient]]:
    wired = wire(qtbot, node.url, tokens["maria"])
    yield wired
    wired[1].stop()


def agents_listed(console: SupervisorConsole) -> list[str]:
    box = console.composer.audience.agents
    return [box.item(i).text() for i in range(box.count())]


def test_the_pickers_hold_what_the_server_lists_for_the_supervisors_scope(
    qtbot: QtBot,
    console: tuple[SupervisorConsole, MarqueeClient],
    node: Node,
    tokens: dict[str, str],
    stack: contextlib.ExitStack,
) -> None:
    view, _ = console
    qtbot.waitUntil(lambda: agents_listed(view) == ["ana", "bo"], timeout=WAIT)  # not cebu's cy
    picker = view.composer.audience
    assert [picker.sites.item(i).text() for i in range(picker.sites.count())] == ["manila"]
    assert picker.count.text() == "Reaches 2 agents (0 online now)."


def test_an_announcement_to_a_picked_team_reaches_its_agent_and_is_confirmed_sent(
    qtbot: QtBot,
    console: tuple[SupervisorConsole, MarqueeClient],
    node: Node,
    tokens: dict[str, str],
    stack: contextlib.ExitStack,
) -> None:
    view, _ = console
    ana, _ = open_session(stack, node.url, tokens["ana"])
    qtbot.waitUntil(lambda: agents_listed(view) == ["ana", "bo"], timeout=WAIT)
    c = view.composer
    c.audience.choose(teams=["cards"])
    c.priority.setCurrentIndex(c.priority.findData("urgent"))
    view.editor.setPlainText("Card systems down: use script B")
    c.send_button.click()
    qtbot.waitUntil(lambda: view.notice.text().startswith("Announcement sent at"), timeout=WAIT)
    assert view.editor.toPlainText() == ""
    assert c.priority.currentText() == "Normal"
    got = next_of(ana, "announcement")
    assert (got["text"], got["priority"]) == ("Card systems down: use script B", "urgent")
    assert got["audience"]["teams"] == ["cards"]


def test_receipts_show_who_acknowledged_and_that_the_rest_is_offline(
    qtbot: QtBot,
    console: tuple[SupervisorConsole, MarqueeClient],
    node: Node,
    tokens: dict[str, str],
    stack: contextlib.ExitStack,
) -> None:
    view, _ = console
    ana, _ = open_session(stack, node.url, tokens["ana"])  # bo is not at his desk
    qtbot.waitUntil(lambda: view.composer.audience.directory.online("ana") is True, timeout=WAIT)
    view.editor.setPlainText("Fire drill at 3")
    view.composer.priority.setCurrentIndex(view.composer.priority.findData("urgent"))
    view.composer.send_button.click()
    announced = next_of(ana, "announcement")
    ana.send(json.dumps({"type": "ack", "id": announced["id"]}))

    def receipts() -> str:
        row = view.row(announced["id"])
        return "" if row is None else row.receipts.text()

    qtbot.waitUntil(lambda: receipts() == "acknowledged 1 / 2 · 1 offline", timeout=WAIT)
    row = view.row(announced["id"])
    assert row is not None
    assert "bo (offline)" in row.pending.text()


def test_a_server_going_away_shows_a_plain_banner_and_coming_back_lifts_it(
    qtbot: QtBot, db: Path, tokens: dict[str, str]
) -> None:
    first = Node(lambda: MarqueeStore(db)).start()
    view, client = wire(qtbot, first.url, tokens["maria"])
    try:
        qtbot.waitUntil(lambda: view.connected and agents_listed(view) != [], timeout=WAIT)
        port = first.port
        first.stop()
        qtbot.waitUntil(lambda: not view.status.banner.isHidden(), timeout=WAIT)
        assert view.status.banner.text().startswith(RECONNECTING)
        for name in ("Error", "Refused", "Closed", "Timeout"):
            assert name not in view.status.banner.text()
        assert not view.active.list_host.isEnabled()  # stale: greyed
        second = Node(lambda: MarqueeStore(db))
        second.port = port
        second.start()
        try:
            qtbot.waitUntil(lambda: view.status.banner.isHidden(), timeout=WAIT)
            assert view.active.list_host.isEnabled()
        finally:
            client.stop()
            second.stop()
    finally:
        client.stop()
