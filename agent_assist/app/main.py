"""The desktop app's composition root: wires audio, session, knowledge and marquee to the UI.

Threads (ARCHITECTURE.md §1): the call worker (:mod:`agent_assist.app.workers`),
the knowledge worker (:mod:`agent_assist.app.knowledge`) and the marquee client's
loop; the GUI thread only renders what the bridge delivers and never waits for
any of them. ``agent-assist demo`` adds an embedded marquee server on 127.0.0.1
with a demo supervisor who sends announcements during the replayed call
(:mod:`agent_assist.app.demo`).

:func:`run_app` is a list of named steps; each takes what it needs and registers
how to undo itself in the :class:`Cleanup`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agent_assist.app.calls import CallSetup, start_live, start_replay
from agent_assist.app.demo import DEMO_ANNOUNCEMENTS, DemoServer, start_demo_agent
from agent_assist.app.dialogs import (
    apply_live,
    load_app_settings,
    open_settings,
    report_settings_problems,
    stored_token,
)
from agent_assist.app.firstrun import open_first_run
from agent_assist.app.knowledge import (
    KnowledgeSync,
    KnowledgeWorker,
    article_count,
    connect_panel,
)
from agent_assist.app.messaging import report, share_flag
from agent_assist.app.mute import connect_mute_toggle, microphone_mute
from agent_assist.app.workers import CallWorker
from agent_assist.config import Settings
from agent_assist.events import ErrorEvent

if TYPE_CHECKING:
    import ssl

    from PySide6.QtWidgets import QApplication, QTabWidget

    from agent_assist.app.wrapup import AfterCall
    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import CallStats
    from ui.agent_window import AgentWindow
    from ui.bridge import Bridge
    from ui.supervisor import SupervisorConsole
    from ui.theme import Theme

__all__ = ["AppOptions", "connect_mute_toggle", "run_app"]

log = logging.getLogger("agent_assist.app")


@dataclass(frozen=True, kw_only=True)
class AppOptions:
    demo: bool = False
    view: Literal["agent", "supervisor"] = "agent"
    events: str | None = None  # replay this event log instead of DEMO_CALL
    speed: float = 1.0  # replay speed
    screenshot: str | None = None
    quit_after: float | None = None
    theme: str | None = None  # overrides the ui.theme setting (e.g. for screenshots)
    audio: str | None = None  # demo: replay this WAV through the real recogniser, if installed
    server: str | None = None  # overrides server.url
    token: str | None = None  # overrides the stored token


@dataclass(frozen=True, slots=True)
class _Link:
    """Where the marquee server is and how to reach it (no url or token: not configured)."""

    url: str | None
    token: str | None
    ssl_context: ssl.SSLContext | None


class Cleanup:
    """What to undo when the app ends, undone last first; one failing step stops no other."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []

    def add(self, *steps: Callable[[], None]) -> None:
        self._steps.extend(steps)

    def run(self) -> None:
        for step in reversed(self._steps):
            with contextlib.suppress(Exception):
                step()
        self._steps.clear()


def run_app(options: AppOptions) -> int:
    """Run the desktop app (or the demo) until the window closes; returns the exit code."""
    from agent_assist.app.shutdown import quit_on_signals
    from ui.bridge import Bridge
    from ui.collector import MainThreadCollector

    settings = load_app_settings()
    report_settings_problems(settings)
    app, theme = _start_qt(options, settings)
    collector = MainThreadCollector(app)  # cycles die on the GUI thread, never on a worker's
    bridge = Bridge()
    cleanup = Cleanup()
    cleanup.add(collector.stop)
    cleanup.add(quit_on_signals(app))  # SIGTERM, Ctrl-C, logoff: quit, then join every worker
    try:
        server = _start_demo_server(options, cleanup)
        link = _link(options, settings, server)
        client = _client(link, bridge, channel=settings.get_str("updates.channel"))
        window: AgentWindow | SupervisorConsole
        if options.view == "supervisor":
            window = _supervisor_console(theme, bridge, client)
            _feed_team_view(window, bridge, link, cleanup)
            if server is not None:  # a demo agent on a call
                cleanup.add(*start_demo_agent(server, options.speed))
        else:
            window = _agent_window(options, settings, theme, bridge, client, link, cleanup)
        if client is not None:  # once the window listens: its state reaches the window
            client.start()
            cleanup.add(client.stop)
        if server is not None:
            _schedule_demo_announcements(server, options.speed, cleanup)
        window.show()
        if options.quit_after is not None:
            _quit_after(app, window, options.quit_after, options.screenshot)
        return app.exec()
    finally:
        cleanup.run()


# -- the steps ------------------------------------------------------------------------


def _start_qt(options: AppOptions, settings: Settings) -> tuple[QApplication, Theme]:
    """The QApplication (one per process) with the theme the settings and options ask for."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme, theme_named

    QCoreApplication.setOrganizationName("agent-assist")
    QCoreApplication.setApplicationName("agent-assist")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    dark = app.styleHints().colorScheme().name == "Dark"
    theme = theme_named(options.theme or settings.get_str("ui.theme"), system_dark=dark)
    apply_theme(app, theme, font_scale=settings.get_float("ui.font_scale"))
    return app, theme


def _start_demo_server(options: AppOptions, cleanup: Cleanup) -> DemoServer | None:
    if not options.demo:
        return None
    server = DemoServer()
    cleanup.add(server.close)
    return server


def _link(options: AppOptions, settings: Settings, server: DemoServer | None) -> _Link:
    """The demo server, or the one the options and settings name, with the site's TLS."""
    from agent_assist.marquee.tls import context_for

    if server is not None:
        return _Link(server.url, server.tokens[options.view], None)
    url = options.server or settings.get_str("server.url") or None
    context = context_for(
        url or "",
        ca_file=settings.get_str("server.ca_file") or None,
        pin_sha256=settings.get_str("server.pin_sha256") or None,
    )
    return _Link(url, options.token or stored_token(), context)


def _client(link: _Link, bridge: Bridge, *, channel: str) -> MarqueeClient | None:
    """The marquee client (messages and state through the bridge; not started), if configured."""
    from agent_assist.marquee.client import MarqueeClient

    if not (link.url and link.token):
        return None
    return MarqueeClient(
        link.url,
        link.token,
        on_message=bridge.message.emit,
        on_state=bridge.connection.emit,
        ssl_context=link.ssl_context,
        channel=channel,
    )


def _supervisor_console(
    theme: Theme, bridge: Bridge, client: MarqueeClient | None
) -> SupervisorConsole:
    from ui.supervisor import SupervisorConsole

    console = SupervisorConsole(theme=theme)
    console.setWindowTitle("Agent Assist: supervisor console")
    bridge.message.connect(console.show_message)
    bridge.connection.connect(console.set_connection_state)
    if client is None:
        console.set_connection_state("disconnected: no server or token (use --server and --token)")
    else:
        from agent_assist.app.console_link import link_console

        console.send_requested.connect(
            link_console(console, client, run_on_main=bridge.run_on_main)
        )
    return console


def _feed_team_view(
    console: SupervisorConsole, bridge: Bridge, link: _Link, cleanup: Cleanup
) -> None:
    """The console's Team view: the last days' stats per agent, read every minute (issue 15)."""
    from agent_assist.app.teamstats import StatsPoller, StatsRequest

    if not (link.url and link.token):
        console.team.set_problem("no server or token")
        return
    poller = StatsPoller(
        server=link.url,
        token=link.token,
        request=StatsRequest(by="agent", days=console.team.days),
        on_rows=console.team.show_rows,
        on_problem=console.team.set_problem,
        run_on_main=bridge.run_on_main,
        every=60.0,
        ssl_context=link.ssl_context,
    )
    console.team.refresh_requested.connect(poller.refresh)
    poller.start()
    cleanup.add(poller.stop)


def _agent_window(
    options: AppOptions,
    settings: Settings,
    theme: Theme,
    bridge: Bridge,
    client: MarqueeClient | None,
    link: _Link,
    cleanup: Cleanup,
) -> AgentWindow:
    """The agent's window with its knowledge worker, messaging and call worker."""
    from PySide6.QtCore import QTimer

    from ui.agent_window import AgentWindow

    window = AgentWindow(
        theme=theme,
        always_on_top=settings.get_bool("ui.always_on_top"),
        dock=settings.get_str("ui.dock"),
        compact=settings.get_bool("ui.compact"),
        compact_locked=settings.locked("ui.compact"),
        policy_problem=settings.policy_problem,
    )
    _show_script(window, settings, demo=options.demo)
    bridge.call_event.connect(window.show_event)
    bridge.message.connect(window.show_message)
    bridge.connection.connect(window.set_connection)
    sync = _knowledge_sync(settings, client, link)
    knowledge = _start_knowledge(options, settings, bridge, window, sync, cleanup)
    sharing = _Sharing(on=options.demo or settings.get_bool("privacy.flag_feed"))
    if client is None:
        window.set_connection("no server configured")
    else:
        _connect_agent_messaging(bridge, window, client, sharing)

    after = _after_call(options, settings, client)
    calls = _Calls()

    def listen(now: Settings) -> None:
        """A live call worker on ``now``'s microphone and model (none: the window says why)."""
        calls.worker = start_live(
            window, bridge, knowledge, setup=CallSetup(settings=now, after=after)
        )
        if calls.worker is not None:
            cleanup.add(calls.worker.stop)

    def saved(new: Settings) -> None:
        apply_live(window, new)
        sharing.on = options.demo or new.get_bool("privacy.flag_feed")
        window.set_sharing(sharing.on)
        if calls.worker is None and not replay:  # the first run (or a fix) made listening possible
            listen(new)

    replay = bool(options.demo or options.events or options.audio)
    if replay:
        calls.worker = start_replay(
            window, bridge, knowledge, setup=CallSetup(settings=settings, demo=options.demo, after=after),
            events=options.events, audio=options.audio, speed=options.speed,
        )  # fmt: skip
        cleanup.add(calls.worker.stop)
    else:
        listen(settings)
        if calls.worker is None:
            QTimer.singleShot(0, lambda: open_first_run(window, on_saved=saved))

    def snooze(kind: str) -> None:
        if calls.worker is not None:
            calls.worker.snooze(kind)

    window.coaching.snoozed.connect(snooze)
    mute = connect_mute_toggle(
        window,
        lambda: calls.worker,
        # a replayed call never touches the real microphone (nor the sound server's files)
        open_mic=None if replay else microphone_mute(settings),
        emit=bridge.call_event.emit,
        run_on_main=bridge.run_on_main,
        without="a replayed call: your microphone is not touched",
    )
    cleanup.add(mute.stop)
    window.settings_requested.connect(
        lambda: open_settings(window, first_run=False, demo=options.demo, on_saved=saved)
    )
    if not options.demo:
        _start_update_checks(settings, bridge, window, cleanup)
    return window


def _start_update_checks(
    settings: Settings, bridge: Bridge, window: AgentWindow, cleanup: Cleanup
) -> None:
    """The daily background update check; what it finds goes to the status bar."""
    from agent_assist.app.updates import start_update_checks

    def show(text: str) -> None:
        bridge.run_on_main(lambda: window.statusBar().showMessage(text))

    stop = start_update_checks(settings, report=show)
    if stop is not None:
        cleanup.add(stop)


def _after_call(options: AppOptions, settings: Settings, client: MarqueeClient | None) -> AfterCall:
    """The summary kept where the site allows it; its numbers shared where the site opts in."""
    from agent_assist.app.wrapup import AfterCall, summaries_path

    share = client is not None and (options.demo or settings.get_bool("share.stats"))
    return AfterCall(
        store=summaries_path() if settings.get_bool("privacy.store_summaries") else None,
        client=client if share else None,
        on_failure=report,
    )


def _show_shared(window: AgentWindow, stats: CallStats) -> None:
    """The agent sees exactly what their app shared for team stats."""
    from agent_assist.app.wrapup import shared_text

    window.statusBar().showMessage(shared_text(stats), 60_000)


def _knowledge_sync(
    settings: Settings, client: MarqueeClient | None, link: _Link
) -> KnowledgeSync | None:
    if client is None or not (link.url and link.token) or not settings.get_bool("knowledge.sync"):
        return None
    return KnowledgeSync(
        url=link.url,
        token=link.token,
        client=client,
        ssl_context=link.ssl_context,
        every=settings.get_int("knowledge.sync_interval_s"),
    )


def _start_knowledge(
    options: AppOptions,
    settings: Settings,
    bridge: Bridge,
    window: AgentWindow,
    sync: KnowledgeSync | None,
    cleanup: Cleanup,
) -> KnowledgeWorker:
    """The knowledge worker on the cache the settings name (the demo fills an empty default)."""
    from kb_cache.cache import open_knowledge

    path = settings.get_str("knowledge.db") or None
    knowledge = KnowledgeWorker(
        open_kb=lambda: open_knowledge(path, seed_demo=options.demo, notify=report),
        on_error=lambda text: bridge.call_event.emit(
            ErrorEvent(t=0.0, code="knowledge", message=text)
        ),
        on_status=lambda text: window.statusBar().showMessage(text, 15000),
        run_on_main=bridge.run_on_main,
        sync=sync,
        learn=options.demo or settings.get_bool("privacy.learn_phrasings"),
    )
    connect_panel(window.knowledge, knowledge)
    knowledge.submit(  # an empty cache says so, and how it gets filled
        article_count()
        .success(lambda n: window.set_knowledge_empty(n == 0))
        .failure(lambda why: None)  # the worker has already said why the cache is unavailable
    )
    knowledge.start()
    cleanup.add(knowledge.stop)
    return knowledge


@dataclass
class _Calls:
    """The call worker now (None: not listening); the first run may start one later."""

    worker: CallWorker | None = None


@dataclass
class _Sharing:
    """Whether flag summaries are shared now: the setting (live), always in the demo."""

    on: bool


def _show_script(window: AgentWindow, settings: Settings, *, demo: bool) -> None:
    """The checklist follows the site's call script (a broken pack: the call reports it)."""
    from agent_assist.app.wrapup import script_pack
    from agent_assist.errors import AgentAssistError

    with contextlib.suppress(AgentAssistError):
        window.set_script_pack(script_pack(settings, demo=demo))


def _connect_agent_messaging(
    bridge: Bridge, window: AgentWindow, client: MarqueeClient, sharing: _Sharing
) -> None:
    """Read receipts and, while sharing is on (the site's opt-in), flag summaries: never
    waiting."""
    from agent_assist.marquee.protocol import Ack

    window.ticker.acknowledged.connect(
        lambda announcement: client.send_soon(
            Ack(id=announcement),
            on_failure=lambda why: bridge.run_on_main(  # from the client's thread
                lambda: window.statusBar().showMessage(f"Read receipt not sent: {why}", 15000)
            ),
        )
    )
    bridge.call_event.connect(
        lambda event: (
            share_flag(
                event,
                client,
                on_shared=lambda flag: bridge.run_on_main(lambda: window.show_shared(flag)),
                silenced=window.coaching.snoozes.silences,
            )
            if sharing.on
            else None
        )
    )


def _schedule_demo_announcements(server: DemoServer, speed: float, cleanup: Cleanup) -> None:
    """The demo supervisor speaks up during the call."""
    from PySide6.QtCore import QTimer

    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import Announce, Audience

    announcer = MarqueeClient(server.url, server.tokens["supervisor"], on_message=lambda m: None)
    announcer.start()
    cleanup.add(announcer.stop)
    for delay, priority, text in DEMO_ANNOUNCEMENTS:
        message = Announce(text=text, priority=priority, audience=Audience(all=True))
        QTimer.singleShot(
            int(delay / max(speed, 0.1) * 1000),
            lambda m=message: announcer.send_soon(m, on_failure=report, wait=5.0),
        )


def _quit_after(
    app: QApplication,
    window: AgentWindow | SupervisorConsole,
    seconds: float,
    screenshot: str | None,
) -> None:
    """Close after ``seconds``, saving the window first (the console: every section too)."""
    from PySide6.QtCore import QTimer

    def finish() -> None:
        if screenshot:
            window.grab().save(screenshot)
            tabs: QTabWidget | None = getattr(window, "tabs", None)
            if tabs is not None:
                for index in range(1, tabs.count()):
                    _save_section(window, tabs, index, screenshot)
        app.quit()

    QTimer.singleShot(int(seconds * 1000), finish)


def _save_section(
    window: AgentWindow | SupervisorConsole, tabs: QTabWidget, index: int, screenshot: str
) -> None:
    tabs.setCurrentIndex(index)
    name = tabs.tabText(index).replace("&", "").split(" ")[0].lower()
    window.grab().save(str(Path(screenshot).with_suffix(f".{name}.png")))
