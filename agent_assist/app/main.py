"""The desktop app's composition root: wires audio, session, knowledge and marquee to the UI.

Threads (ARCHITECTURE.md §1): see :mod:`agent_assist.app.workers`. The GUI thread
only renders what the bridge delivers. ``agent-assist demo`` adds an embedded
marquee server on 127.0.0.1 with a demo supervisor who sends announcements
during the replayed call (:mod:`agent_assist.app.demo`).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_assist.app.demo import _DEMO_ANNOUNCEMENTS, DEMO_CALL, DemoServer, _demo_agent
from agent_assist.app.dialogs import _open_settings, _settings, _stored_token
from agent_assist.app.messaging import send_quietly, share_flag
from agent_assist.app.workers import (
    CallWorker,
    KnowledgeServer,
    KnowledgeWorker,
    _session_search,
    listener_source,
    replay,
)
from agent_assist.config import Settings
from agent_assist.errors import AgentAssistError
from agent_assist.events import Event, Mute


@dataclass(frozen=True, kw_only=True)
class AppOptions:
    demo: bool = False
    view: str = "agent"  # agent | supervisor
    events: str | None = None  # replay this event log instead of DEMO_CALL
    speed: float = 1.0  # replay speed
    screenshot: str | None = None
    quit_after: float | None = None
    theme: str | None = None  # overrides the ui.theme setting (e.g. for screenshots)
    audio: str | None = (
        None  # demo: replay this WAV through the real recogniser (if a model is installed)
    )
    server: str | None = None  # overrides server.url
    token: str | None = None  # overrides the stored token


def run_app(options: AppOptions) -> int:
    """Run the desktop app (or the demo) until the window closes; returns the exit code."""
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import Ack, Announce, Audience
    from ui.bridge import Bridge
    from ui.theme import apply_theme, theme_named

    settings = _settings()
    QCoreApplication.setOrganizationName("agent-assist")
    QCoreApplication.setApplicationName("agent-assist")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    dark = app.styleHints().colorScheme().name == "Dark"
    theme = theme_named(options.theme or settings.get_str("ui.theme"), system_dark=dark)
    apply_theme(app, theme, font_scale=settings.get_float("ui.font_scale"))
    bridge = Bridge()
    cleanup: list[Callable[[], None]] = []
    server = DemoServer() if options.demo else None
    if server is not None:
        cleanup.append(server.close)
    url = server.url if server else options.server or settings.get_str("server.url")
    token = server.tokens[options.view] if server else options.token or _stored_token()
    ssl_context = None
    if url and url.startswith("wss://"):
        from agent_assist.marquee.tls import client_context

        ssl_context = client_context(
            ca_file=settings.get_str("server.ca_file") or None,
            pin_sha256=settings.get_str("server.pin_sha256") or None,
        )

    if options.view == "supervisor":
        from ui.supervisor import SupervisorConsole

        console = SupervisorConsole(theme=theme)
        console.setWindowTitle("Agent Assist: supervisor console")
        window: Any = console
        bridge.message.connect(console.show_message)
        bridge.connection.connect(console.set_connection_state)
    else:
        from ui.agent_window import AgentWindow

        window = AgentWindow(
            theme=theme,
            always_on_top=settings.get_bool("ui.always_on_top"),
            dock=settings.get_str("ui.dock"),
        )
        kb_path = settings.get_str("knowledge.db") or None
        knowledge = KnowledgeWorker(db=kb_path, bridge=bridge, seed_demo=options.demo)
        bridge.knowledge_status.connect(lambda text: window.statusBar().showMessage(text, 15000))
        bridge.call_event.connect(window.show_event)
        bridge.message.connect(window.show_message)
        bridge.connection.connect(window.set_connection)
        bridge.results.connect(window.knowledge.show_results)
        bridge.article.connect(
            lambda a: window.knowledge.show_article(
                a["title"], a["body"], a.get("department"), a.get("authority")
            )
        )
        knowledge.start()
        cleanup.append(knowledge.stop)
        window.knowledge.search_requested.connect(
            lambda q: knowledge.submit("search", q) if q else None
        )
        window.knowledge.open_requested.connect(lambda i: knowledge.submit("open", i))
        window.knowledge.feedback.connect(lambda i, a: knowledge.submit("feedback", (i, a)))
        window.knowledge.resolution_submitted.connect(lambda r: knowledge.submit("resolution", r))

    client = None
    if url and token:
        client = MarqueeClient(
            url,
            token,
            on_message=bridge.message.emit,
            on_state=bridge.connection.emit,
            ssl_context=ssl_context,
        )
        client.start()
        cleanup.append(client.stop)
        if options.view == "agent":
            if settings.get_bool("knowledge.sync"):
                knowledge.server = KnowledgeServer(
                    url=url,
                    token=token,
                    client=client,
                    ssl_context=ssl_context,
                    every=settings.get_int("knowledge.sync_interval_s"),
                )
            window.ticker.acknowledged.connect(lambda i: send_quietly(client, Ack(id=i)))
            if options.demo or settings.get_bool("privacy.flag_feed"):  # the site's opt-in
                bridge.call_event.connect(lambda e: share_flag(e, client, window))
        else:
            window.send_requested.connect(lambda m: send_quietly(client, m))
    elif options.view == "agent":
        window.set_connection("no server configured")
    else:
        window.set_connection_state("disconnected: no server or token (use --server and --token)")

    if options.view == "agent":
        worker: CallWorker | None
        if options.demo or options.events or options.audio:
            worker = _start_replay(window, bridge, settings, knowledge, options)
        else:
            worker = _start_live(window, bridge, settings, knowledge)
            if worker is None:
                QTimer.singleShot(0, lambda: _open_settings(window, first_run=True))
        if worker is not None:
            cleanup.append(worker.stop)
            connect_mute_toggle(window, worker)
            connect_snooze(window, worker)

    if server is not None:  # the demo supervisor speaks up during the call
        announcer = MarqueeClient(
            server.url, server.tokens["supervisor"], on_message=lambda m: None
        )
        announcer.start()
        cleanup.append(announcer.stop)
        for delay, priority, text in _DEMO_ANNOUNCEMENTS:
            message = Announce(text=text, priority=priority, audience=Audience(all=True))  # type: ignore[arg-type]
            QTimer.singleShot(
                int(delay / max(options.speed, 0.1) * 1000),
                lambda m=message: send_quietly(announcer, m, wait=5.0),
            )

    if server is not None and options.view == "supervisor":  # a demo agent on a call
        cleanup.extend(_demo_agent(server, options.speed))
    if options.view == "agent":
        window.settings_requested.connect(lambda: _open_settings(window, first_run=False))
    window.show()
    if options.quit_after is not None:

        def finish() -> None:
            if options.screenshot:
                window.grab().save(options.screenshot)
                tabs: Any = getattr(
                    window, "tabs", None
                )  # the supervisor console: every section too
                for index in range(1, tabs.count()) if tabs is not None else ():
                    tabs.setCurrentIndex(index)
                    name = tabs.tabText(index).replace("&", "").split(" ")[0].lower()
                    window.grab().save(str(Path(options.screenshot).with_suffix(f".{name}.png")))
            app.quit()

        QTimer.singleShot(int(options.quit_after * 1000), finish)
    try:
        return app.exec()
    finally:
        for step in reversed(cleanup):
            with contextlib.suppress(Exception):
                step()


def connect_mute_toggle(window: Any, worker: CallWorker) -> None:
    """The window's manual mute toggle becomes an ``app`` mute source for the risk engine."""

    def toggled(muted: bool) -> None:
        worker.inject(lambda t: Mute(t=t, muted=muted, source="app"))

    window.strip.mute_toggled.connect(toggled)


def connect_snooze(window: Any, worker: CallWorker) -> None:
    """A kind the agent snoozes on a coaching card stops being raised for the rest of the call."""
    window.coaching.snoozed.connect(worker.snooze)


def _start_replay(
    window: Any, bridge: Any, settings: Settings, knowledge: KnowledgeWorker, options: AppOptions
) -> CallWorker:
    """The demo call: from audio through the real recogniser when a model is installed, else events."""
    events = Path(options.events) if options.events else DEMO_CALL
    source: Callable[[threading.Event], Iterator[Event]] | None = None
    interrupt = None
    if options.audio:
        try:
            from audio.models import ModelStore
            from audio.pipeline import Listener
            from audio.recognizer import load_model

            installed = ModelStore().find(settings.get_str("models.path") or None)
            audio, path = options.audio, installed.path
            source, interrupt = lazy_listener(
                lambda: Listener.from_wav(audio, model=load_model(path), realtime=True)
            )
            source = _as_a_call(source)
            window.set_source(
                f"Replaying {Path(options.audio).name} through {installed.name}: real recognition."
            )
            window.strip.set_status(f"Recogniser: {installed.name}")
        except AgentAssistError as exc:
            window.set_source(
                f"Cannot recognise {Path(options.audio).name} ({exc}); replaying recorded events instead."
            )
    if source is None:
        source = lambda stop: replay(events, speed=options.speed, stop=stop)  # noqa: E731
        window.set_source(
            window.source.text() or f"Replaying a recorded call ({events.name}): events, not audio."
        )
        window.strip.set_status("Recogniser: not used (replaying recognised events)")
    return _start_call_worker(source, interrupt, bridge, knowledge)


def _start_call_worker(
    source: Callable[[threading.Event], Iterator[Event]],
    interrupt: Callable[[], None] | None,
    bridge: Any,
    knowledge: KnowledgeWorker,
) -> CallWorker:
    """A started CallWorker whose suggestions come from the knowledge worker's cache."""
    worker = CallWorker(
        source,
        emit=bridge.call_event.emit,
        make_search=_session_search(
            knowledge.db, after=knowledge.ready, seed_demo=knowledge.seed_demo
        ),
        interrupt=interrupt,
    )
    worker.start()
    return worker


def _as_a_call(
    source: Callable[[threading.Event], Iterator[Event]],
) -> Callable[[threading.Event], Iterator[Event]]:
    """A recording is one whole call: frame its events with call started and ended."""
    from agent_assist.events import Call

    def events(stop: threading.Event) -> Iterator[Event]:
        yield Call(t=0.0, state="started")
        last = 0.0
        for event in source(stop):
            last = max(last, event.t)
            yield event
        yield Call(t=last, state="ended")

    return events


def _start_live(
    window: Any, bridge: Any, settings: Settings, knowledge: KnowledgeWorker
) -> CallWorker | None:
    """Listen to the configured headset with the configured model; None (and why) if not possible."""
    try:
        from audio.devices import resolve_device
        from audio.models import ModelStore
        from audio.pipeline import Listener
        from audio.recognizer import load_model

        mirror = settings.get_str("models.mirror") or None
        installed = ModelStore(mirror=mirror).find(settings.get_str("models.path") or None)
        agent = resolve_device(settings.get_str("audio.input") or "default")
        far_end = settings.get_str("audio.far_end")
        customer = resolve_device(far_end) if far_end else None
        source, interrupt = lazy_listener(  # the model loads on the worker, not the GUI thread
            lambda: Listener.from_devices(
                model=load_model(installed.path), agent=agent, customer=customer
            )
        )
    except AgentAssistError as exc:
        window.set_source(f"Not listening: {exc}")
        return None
    window.set_source(
        f"Live: {agent.name}" + (f" + {customer.name}" if customer else "") + f" · {installed.name}"
    )
    return _start_call_worker(source, interrupt, bridge, knowledge)


def lazy_listener(
    build: Callable[[], Any],
) -> tuple[Callable[[threading.Event], Iterator[Event]], Callable[[], None]]:
    """A CallWorker source that builds its Listener (loading the model) on the worker thread,
    and the interrupt that stops it once built."""
    built: list[Any] = []
    lock = threading.Lock()

    def events(stop: threading.Event) -> Iterator[Event]:
        listener = build()
        with lock:
            built.append(listener)
        if stop.is_set():
            return
        yield from listener_source(listener)(stop)

    def interrupt() -> None:
        with lock:
            for listener in built:
                listener.stop()

    return events, interrupt
