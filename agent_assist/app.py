"""The desktop app's composition root: wires audio, session, knowledge and marquee to the UI.

Threads (ARCHITECTURE.md §1): the call worker reads events (live capture, an
audio file, or a recorded event log), feeds the :class:`CallSession` and emits
every event and result through :class:`ui.bridge.Bridge`; the knowledge worker
owns its own SQLite connection and answers searches, article requests, feedback
and resolutions; the marquee client runs its own asyncio loop. The GUI thread
only renders what the bridge delivers.

``agent-assist demo`` adds an embedded marquee server on 127.0.0.1 with a demo
supervisor who sends announcements during the replayed call.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_assist.config import Settings, load_settings, site_policy_path, user_settings_path
from agent_assist.errors import AgentAssistError, EventFormatError
from agent_assist.events import ArticleRef, Event, Mute, decode_lines

Search = Callable[[str], list[ArticleRef]]

__all__ = [
    "DEMO_CALL",
    "AppOptions",
    "CallWorker",
    "KnowledgeServer",
    "KnowledgeWorker",
    "connect_mute_toggle",
    "exchange_knowledge",
    "install_model",
    "listener_source",
    "replay",
    "run_app",
]

DEMO_CALL = Path(__file__).parent / "demo" / "call.jsonl"
_DEMO_ANNOUNCEMENTS = (  # (seconds after start, priority, text)
    (2.0, "info", "Welcome to the late shift. Card delivery times are 5–7 working days this week."),
    (
        18.0,
        "urgent",
        "Top-up outage in region 3: use the manual top-up script (KB: top-up-failed).",
    ),
    (40.0, "warning", "Queue over 40: keep wrap-up under 60 seconds."),
)


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


def replay(path: Path | str, *, speed: float, stop: threading.Event) -> Iterator[Event]:
    """The events of a JSON Lines log, each when its ``t`` comes (``speed`` x real time)."""
    try:
        with open(path, encoding="utf-8") as handle:
            events = [e for e in decode_lines(handle) if not isinstance(e, EventFormatError)]
    except OSError as exc:
        raise AgentAssistError(f"cannot read the event log {path}: {exc.strerror}") from None
    started = time.monotonic()
    for event in events:
        wait = event.t / speed - (time.monotonic() - started)
        if wait > 0 and stop.wait(wait):
            return
        if stop.is_set():
            return
        yield event


def listener_source(listener: Any) -> Callable[[threading.Event], Iterator[Event]]:
    """A CallWorker source from an audio Listener (live devices or a WAV file)."""

    def events(stop: threading.Event) -> Iterator[Event]:
        listener.start()
        try:
            for event in listener.events():
                if stop.is_set():
                    return
                yield event
        finally:
            listener.stop()

    return events


class CallWorker(threading.Thread):
    """Feeds ``source`` through a CallSession; everything goes to ``emit`` (the bridge)."""

    def __init__(
        self,
        source: Callable[[threading.Event], Iterator[Event]],
        *,
        emit: Callable[[Event], None],
        make_search: Callable[[threading.Event], Search | None] | None,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="call-worker", daemon=True)
        self._source, self._emit, self._make_search = source, emit, make_search
        self._interrupt = interrupt  # unblocks a source waiting for audio (Listener.stop)
        self.stop_event = threading.Event()
        self.error: str | None = None
        self._injected: queue.SimpleQueue[Callable[[float], Event]] = queue.SimpleQueue()
        self._t = 0.0  # call time of the newest event from the source

    def inject(self, make: Callable[[float], Event]) -> None:
        """Add an event (made with the current call time, s) from the GUI, e.g. the mute toggle."""
        self._injected.put(make)

    def run(self) -> None:
        from agent_assist.events import ErrorEvent
        from agent_assist.risk.pack import load_pack
        from agent_assist.session import CallSession

        try:
            search = (
                self._make_search(self.stop_event) if self._make_search else None
            )  # on this thread
            if self.stop_event.is_set():
                return
            session = CallSession(pack=load_pack(None), search=search)
            for event in self._source(self.stop_event):
                while not self._injected.empty():  # the app's own events, at the current call time
                    self._feed(session, self._injected.get()(self._t))
                self._t = max(self._t, event.t)
                self._feed(session, event)
        except AgentAssistError as exc:
            self.error = str(exc)
            self._emit(ErrorEvent(t=0.0, code="call_worker", message=str(exc)))

    def _feed(self, session: Any, event: Event) -> None:
        self._emit(event)
        for out in session.feed(event):
            self._emit(out)

    def stop(self) -> None:
        """Stop and wait: the worker may be inside onnxruntime or Vosk, which must not be torn down."""
        self.stop_event.set()
        if self._interrupt is not None:
            self._interrupt()
        if self.is_alive():
            self.join()


@dataclass(frozen=True, kw_only=True)
class KnowledgeServer:
    """Where the knowledge worker syncs articles from and sends resolutions to."""

    url: str
    token: str
    client: Any  # the app's MarqueeClient (resolutions go over its connection)
    ssl_context: Any = None
    every: float = 300.0  # seconds between syncs


class KnowledgeWorker(threading.Thread):
    """Serves the knowledge panel from its own connection: search, open, feedback, resolutions.

    With a ``server``, it also sends queued resolutions and syncs the cache (all or
    nothing) every ``server.every`` seconds and right after a new resolution; an
    unreachable server only means "later".
    """

    def __init__(
        self, *, db: str | None, bridge: Any, server: KnowledgeServer | None = None
    ) -> None:
        super().__init__(name="knowledge-worker", daemon=True)
        self._db, self._bridge, self.server = db, bridge, server
        self._jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self.ready = threading.Event()  # the cache is open (and, first time, filled with the demo)

    def submit(self, job: str, payload: Any) -> None:
        self._jobs.put((job, payload))

    def _exchange(self, kb: Any) -> None:
        assert self.server is not None
        try:
            sent, version = exchange_knowledge(kb, self.server)
        except AgentAssistError as exc:  # offline: the outbox waits, the cache stays as it is
            self._bridge.connection.emit(f"connected; knowledge not synced ({exc})")
            return
        if version >= 0:
            self._bridge.connection.emit(f"connected; knowledge synced to version {version}")
        elif sent:
            self._bridge.connection.emit(f"connected; {sent} resolution(s) sent for review")

    def stop(self) -> None:
        """Finish the current job (the first fill of the cache cannot be cut short) and end."""
        self._jobs.put(None)
        if self.is_alive():
            self.join()

    def run(self) -> None:
        from agent_assist.cli.kb import open_kb
        from agent_assist.events import ErrorEvent
        from kb_cache.feedback import record
        from kb_cache.outbox import submit_resolution

        try:
            kb = open_kb(self._db)
        except AgentAssistError as exc:
            self._bridge.call_event.emit(ErrorEvent(t=0.0, code="knowledge", message=str(exc)))
            return
        finally:
            self.ready.set()
        next_exchange = time.monotonic() + 5.0  # let the window settle first
        while True:
            try:
                item = self._jobs.get(timeout=max(0.1, next_exchange - time.monotonic()))
            except queue.Empty:
                item = ("exchange", None)
            if item is None:
                return
            job, payload = item
            if job == "exchange":
                next_exchange = time.monotonic() + (self.server.every if self.server else 1e9)
            try:
                if job == "search":
                    hits = kb.search(payload, limit=6)
                    refs = [
                        ArticleRef(h.id, h.title, h.score, h.snippet, h.department, h.authority)
                        for h in hits
                    ]
                    self._bridge.results.emit(payload, refs)
                elif job == "open":
                    article = kb.article(payload)
                    if article:
                        self._bridge.article.emit(article)
                elif job == "feedback":
                    record(kb.db, *payload)
                elif job == "resolution":
                    submit_resolution(
                        kb.db,
                        title=payload["title"],
                        steps=payload["steps"],
                        triggers=payload["triggers"],
                    )
                    self.submit("exchange", None)
                elif job == "exchange" and self.server is not None:
                    self._exchange(kb)
            except AgentAssistError as exc:
                self._bridge.call_event.emit(ErrorEvent(t=0.0, code="knowledge", message=str(exc)))


def exchange_knowledge(kb: Any, server: KnowledgeServer) -> tuple[int, int]:
    """Send queued resolutions, then sync the cache; returns (sent, new version or -1)."""
    from agent_assist.marquee.http import fetch_json
    from agent_assist.marquee.protocol import ProtocolError, Submit, decode, encode
    from kb_cache.outbox import Rejected, flush
    from kb_cache.sync import apply_sync, synced_version

    def send(payload: dict[str, Any]) -> None:
        try:
            message = Submit(
                ref=f"r{time.monotonic_ns()}",
                title=payload["title"],
                body=payload["body"],
                tags=tuple(payload.get("tags", ())),
                triggers=tuple(payload.get("triggers", ())),
            )
            decode(encode(message))  # what the server would refuse is refused here, for good
        except (ProtocolError, KeyError, TypeError) as exc:
            raise Rejected(str(exc)) from None
        if not server.client.wait_connected(0):
            raise OSError("not connected")
        try:
            server.client.submit(message)
        except AgentAssistError as exc:
            raise OSError(str(exc)) from None

    sent, _ = flush(kb.db, send)
    since = synced_version(kb.db)
    changes = fetch_json(
        server.url, f"/kb/changes?since={since}", token=server.token, ssl_context=server.ssl_context
    )
    if isinstance(changes, dict) and changes.get("version") == since:
        return sent, -1
    apply_sync(kb.db, changes, embedder=kb.embedder)
    return sent, int(changes["version"])


def _session_search(
    db: str | None, *, after: threading.Event | None = None
) -> Callable[[threading.Event], Search | None]:
    def make(stop: threading.Event) -> Search | None:
        from agent_assist.cli.kb import open_kb

        while after is not None and not after.wait(0.1):  # one thread fills an empty cache
            if stop.is_set():
                return None
        kb = open_kb(db)

        def search(query: str) -> list[ArticleRef]:
            return [
                ArticleRef(h.id, h.title, h.score, h.snippet, h.department, h.authority)
                for h in kb.search(query, limit=4)
            ]

        return search

    return make


class DemoServer:
    """An embedded marquee server on 127.0.0.1 (free port) with demo tokens."""

    def __init__(self) -> None:
        import asyncio

        from agent_assist.marquee.server import MarqueeServer
        from agent_assist.marquee.store import MarqueeStore

        self._folder = tempfile.TemporaryDirectory(prefix="agent-assist-demo-")
        store = MarqueeStore(Path(self._folder.name) / "marquee.db")
        self.tokens = {
            "agent": store.create_token(role="agent", name="you", site="demo", team="cards"),
            "supervisor": store.create_token(role="supervisor", name="Maria", site="demo"),
        }
        for name in ("Ben", "Chloe", "Dev"):  # colleagues in the read receipts
            store.create_token(role="agent", name=name, site="demo", team="cards")
        self._loop = asyncio.new_event_loop()
        self._server = MarqueeServer(store, port=0, flag_feed=True)
        self.port = self._loop.run_until_complete(self._server.start())
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="demo-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._folder.cleanup()


def _settings() -> Settings:
    settings = load_settings(site=site_policy_path(), user=user_settings_path())
    for problem in settings.problems:
        print(f"agent-assist: {problem}", file=sys.stderr)
    return settings


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
        knowledge = KnowledgeWorker(db=None, bridge=bridge)
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
            window.ticker.acknowledged.connect(lambda i: _send(client, Ack(id=i)))
            if options.demo or settings.get_bool("privacy.flag_feed"):  # the site's opt-in
                bridge.call_event.connect(lambda e: _share_flag(e, client, window))
        else:
            window.send_requested.connect(lambda m: _send(client, m))
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
                lambda m=message: _send(announcer, m, wait=5.0),
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
            listener = Listener.from_wav(
                options.audio, model=load_model(installed.path), realtime=True
            )
            source, interrupt = listener_source(listener), listener.stop
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
    worker = CallWorker(
        source,
        emit=bridge.call_event.emit,
        make_search=_session_search(None, after=knowledge.ready),
        interrupt=interrupt,
    )
    worker.start()
    return worker


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
        listener = Listener.from_devices(
            model=load_model(installed.path), agent=agent, customer=customer
        )
    except AgentAssistError as exc:
        window.set_source(f"Not listening: {exc}")
        return None
    window.set_source(
        f"Live: {agent.name}" + (f" + {customer.name}" if customer else "") + f" · {installed.name}"
    )
    worker = CallWorker(
        listener_source(listener),
        emit=bridge.call_event.emit,
        make_search=_session_search(None, after=knowledge.ready),
        interrupt=listener.stop,
    )
    worker.start()
    return worker


def _open_settings(window: Any, *, first_run: bool) -> None:
    """The settings dialog; saves what changed (locked keys cannot be changed) and the token."""
    from PySide6.QtWidgets import QDialog, QMessageBox

    from agent_assist.config import save_user_setting
    from agent_assist.errors import SettingsError
    from ui.bridge import Bridge
    from ui.settings import SettingsDialog

    settings = _settings()
    try:
        from audio.devices import list_input_devices
        from audio.models import ModelStore

        devices = [d.id for d in list_input_devices()]
        models = [m.name for m in ModelStore().installed()]
    except AgentAssistError as exc:
        devices, models = [], []
        window.set_source(f"Cannot list devices or models: {exc}")
    dialog = SettingsDialog(
        settings,
        devices=devices,
        models=models,
        first_run=first_run,
        token_set=bool(_stored_token()),
        parent=window,
    )
    relay = Bridge()
    relay.level.connect(dialog.show_test_level)
    relay.connection.connect(dialog.show_problem)  # the microphone test's failure, if any
    relay.progress.connect(dialog.show_install_progress)
    relay.installed.connect(dialog.model_installed)
    relay.failed.connect(dialog.install_failed)
    dialog.install_model.connect(lambda source: install_model(source, relay, settings))
    dialog.test_device.connect(
        lambda spec: _test_microphone(spec, relay.level.emit, relay.connection.emit)
    )
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return
    problems = []
    for key, value in dialog.changes().items():
        try:
            settings = save_user_setting(user_settings_path(), key, value, settings=settings)
        except SettingsError as exc:
            problems.append(str(exc))
    token = dialog.new_token()
    if token and not _store_token(token):
        problems.append(
            "No keyring on this desktop: set AGENT_ASSIST_TOKEN instead of saving the token."
        )
    if problems:
        QMessageBox.warning(window, "Some settings were not saved", "\n".join(problems))
    else:
        window.statusBar().showMessage(
            "Saved. Restart Agent Assist to listen with the new settings.", 10000
        )


def _test_microphone(
    spec: str, on_level: Callable[[float], None], on_problem: Callable[[str], None]
) -> None:
    """Three seconds of the device's level, measured on a worker thread."""

    def run() -> None:
        from audio.devices import resolve_device
        from audio.probe import probe_levels

        try:
            probe_levels(resolve_device(spec or "default"), seconds=3.0, on_level=on_level)
        except AgentAssistError as exc:
            on_problem(f"Microphone test: {exc}")

    threading.Thread(target=run, name="microphone-test", daemon=True).start()


def install_model(source: str, relay: Any, settings: Settings) -> None:
    """Install a model (catalog name, URL, zip, folder or signed bundle) on a worker thread."""

    def run() -> None:
        from audio.models import ModelStore

        try:
            store = ModelStore(mirror=settings.get_str("models.mirror") or None)
            installed = store.install(
                source, progress=lambda done, total: relay.progress.emit(done, total or 0)
            )
        except AgentAssistError as exc:
            relay.failed.emit(f"Could not install {source}: {exc}")
            return
        relay.installed.emit(installed.name)

    threading.Thread(target=run, name="model-install", daemon=True).start()


def _store_token(token: str) -> bool:
    try:
        import keyring

        keyring.set_password("agent-assist", "marquee-token", token)
    except Exception:  # no keyring package or no usable backend
        return False
    return True


def _share_flag(event: object, client: Any, window: Any) -> None:
    """Send a flag's summary (kind, severity, time: never the words) and show the agent it was sent."""
    from agent_assist.events import Flag
    from agent_assist.marquee.protocol import FlagSummary

    if not isinstance(event, Flag) or event.severity == "praise" or not client.wait_connected(0):
        return
    summary = FlagSummary(kind=event.kind, severity=event.severity, at=time.time())
    if _quietly(lambda: client.send(summary)):
        window.show_shared(event)


def _demo_agent(server: DemoServer, speed: float) -> list[Callable[[], None]]:
    """For the supervisor demo: an agent's app replaying the call, sharing flags, acking urgent news."""
    from agent_assist.events import Flag
    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import Ack, Announcement, FlagSummary

    def on_message(message: object) -> None:
        if isinstance(message, Announcement):
            threading.Timer(3.0, lambda: _send(agent, Ack(id=message.id))).start()

    agent = MarqueeClient(server.url, server.tokens["agent"], on_message=on_message)
    agent.start()

    def emit(event: Event) -> None:
        if isinstance(event, Flag) and event.severity != "praise" and agent.wait_connected(0):
            _quietly(
                lambda: agent.send(
                    FlagSummary(kind=event.kind, severity=event.severity, at=time.time())
                )
            )

    worker = CallWorker(
        lambda stop: replay(DEMO_CALL, speed=speed, stop=stop), emit=emit, make_search=None
    )
    worker.start()
    return [agent.stop, worker.stop]


def _send(client: Any, message: Any, *, wait: float = 0.0) -> None:
    """Send through a marquee client from a Qt slot; failures are reported, never raised.

    Returns None on purpose: a Qt slot (or single-shot functor) that returns a
    value trips a reference-count bug in PySide6 that crashes at exit.
    """
    if wait and not client.wait_connected(wait):
        print("agent-assist: the marquee server is not reachable", file=sys.stderr)
        return
    _quietly(lambda: client.send(message))


def _quietly(action: Callable[[], object]) -> bool:
    try:
        action()
    except AgentAssistError as exc:
        print(f"agent-assist: {exc}", file=sys.stderr)
        return False
    return True


def _stored_token() -> str | None:
    """The marquee token: the OS keyring when available, else AGENT_ASSIST_TOKEN."""
    import os

    try:
        import keyring

        token = keyring.get_password("agent-assist", "marquee-token")
    except Exception:  # no keyring package or no backend on this desktop
        token = None
    return token or os.environ.get("AGENT_ASSIST_TOKEN")
