"""``agent-assist wallboard``: the floor display's composition root.

Wires a marquee client (announcements; it reconnects and resumes by itself
through server restarts) and a :class:`~agent_assist.app.teamstats.StatsPoller`
(today's numbers per team) to the read-only :class:`ui.wallboard.Wallboard`.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent_assist.app.teamstats import StatsPoller, StatsRequest

if TYPE_CHECKING:
    from ui.bridge import Bridge
    from ui.wallboard import Wallboard

__all__ = ["WallboardOptions", "connect_wallboard", "run_wallboard"]


@dataclass(frozen=True, kw_only=True)
class WallboardOptions:
    server: str
    token: str
    ca: str | None = None
    pin: str | None = None
    windowed: bool = False
    refresh: float = 30.0  # s between stats reads
    screenshot: str | None = None
    quit_after: float | None = None
    theme: str = "dark"


def run_wallboard(options: WallboardOptions) -> int:
    """Show the wallboard until the window is closed (or ``quit_after``); the exit code."""
    from PySide6.QtCore import QCoreApplication, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from agent_assist.marquee.tls import context_for
    from ui.bridge import Bridge
    from ui.collector import MainThreadCollector
    from ui.theme import apply_theme, theme_named
    from ui.wallboard import Wallboard

    context = context_for(options.server, ca_file=options.ca, pin_sha256=options.pin)
    QCoreApplication.setApplicationName("agent-assist-wallboard")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    theme = theme_named(options.theme)
    apply_theme(app, theme)
    app.setOverrideCursor(Qt.CursorShape.BlankCursor)  # kiosk: no pointer anywhere
    collector = MainThreadCollector(app)  # cycles die on the GUI thread, never on a worker's
    bridge = Bridge()
    board = Wallboard(theme=theme)
    stops = connect_wallboard(board, bridge, options=options, ssl_context=context)
    if options.windowed:
        board.resize(1920, 1080)
        board.show()
    else:
        board.setWindowFlag(Qt.WindowType.FramelessWindowHint)
        screen = app.primaryScreen()
        if screen is not None:  # without a window manager, full screen alone keeps the size
            board.setGeometry(screen.geometry())
        board.showFullScreen()
    if options.quit_after is not None:

        def finish() -> None:
            if options.screenshot:
                board.grab().save(options.screenshot)
            app.quit()

        QTimer.singleShot(int(options.quit_after * 1000), finish)
    try:
        return app.exec()
    finally:
        collector.stop()
        for stop in stops:
            stop()
        app.restoreOverrideCursor()


def connect_wallboard(
    board: Wallboard,
    bridge: Bridge,
    *,
    options: WallboardOptions,
    ssl_context: ssl.SSLContext | None,
) -> list[Callable[[], None]]:
    """Start feeding ``board``: announcements through a marquee client, today's team numbers
    through a stats poller. Returns what stops them."""
    from agent_assist.marquee.client import MarqueeClient

    bridge.message.connect(board.show_message)
    bridge.connection.connect(board.set_connection)
    client = MarqueeClient(
        options.server,
        options.token,
        on_message=bridge.message.emit,
        on_state=bridge.connection.emit,
        ssl_context=ssl_context,
        client_name="agent-assist-wallboard",
    )
    poller = StatsPoller(
        server=options.server,
        token=options.token,
        request=StatsRequest(by="team", days=1),
        on_rows=lambda rows, day: board.show_stats(rows),
        on_problem=board.set_stats_problem,
        run_on_main=bridge.run_on_main,
        every=options.refresh,
        ssl_context=ssl_context,
    )
    client.start()
    poller.start()
    return [poller.stop, client.stop]
