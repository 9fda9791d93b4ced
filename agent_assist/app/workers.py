"""Worker threads of the desktop app: the call (source -> session -> bridge) and knowledge.

The call worker reads events (live capture, an audio file, or a recorded event
log), feeds the :class:`CallSession` and emits every event and result through
the bridge; the knowledge worker owns its own SQLite connection and answers
searches, article requests, feedback and resolutions, and syncs with the server.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_assist.errors import AgentAssistError, EventFormatError, RetryLaterError
from agent_assist.events import ArticleRef, Event, decode_lines

log = logging.getLogger("agent_assist.app")
Search = Callable[[str], list[ArticleRef]]


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
        self._snoozes: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._t = 0.0  # call time of the newest event from the source

    def inject(self, make: Callable[[float], Event]) -> None:
        """Add an event (made with the current call time, s) from the GUI, e.g. the mute toggle."""
        self._injected.put(make)

    def snooze(self, kind: str) -> None:
        """The agent snoozed ``kind`` (from the GUI): applied before the next event."""
        self._snoozes.put(kind)

    def run(self) -> None:
        from agent_assist.events import ErrorEvent
        from agent_assist.risk.pack import load_pack
        from agent_assist.session import CallSession

        search = None
        try:  # opened on this thread; without it the call still gets coaching, just no articles
            search = self._make_search(self.stop_event) if self._make_search else None
        except AgentAssistError as exc:
            self._emit(ErrorEvent(t=0.0, code="knowledge", message=f"no suggestions: {exc}"))
        if self.stop_event.is_set():
            return
        try:
            session = CallSession(pack=load_pack(None), search=search)
            for event in self._source(self.stop_event):
                while not self._snoozes.empty():
                    session.snooze(self._snoozes.get())
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
        self,
        *,
        db: str | None,
        bridge: Any,
        server: KnowledgeServer | None = None,
        seed_demo: bool = False,
    ) -> None:
        """``seed_demo``: fill an empty cache with the demo articles (the demo only)."""
        super().__init__(name="knowledge-worker", daemon=True)
        self.db, self._bridge, self.server, self.seed_demo = db, bridge, server, seed_demo
        self._jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self.ready = threading.Event()  # the cache is open (and, first time, filled with the demo)

    def submit(self, job: str, payload: Any) -> None:
        self._jobs.put((job, payload))

    def _exchange(self, kb: Any) -> None:
        assert self.server is not None
        if not self.server.client.wait_connected(0):
            return  # offline: the outbox waits, the cache stays as it is; try on the next tick
        try:
            sent, version = exchange_knowledge(kb, self.server)
        except AgentAssistError as exc:
            self._bridge.knowledge_status.emit(f"Knowledge not synced: {exc}")
            return
        if version >= 0:
            self._bridge.knowledge_status.emit(f"Knowledge updated to version {version}")
        elif sent:
            self._bridge.knowledge_status.emit(f"{sent} resolution(s) sent for review")

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
            kb = open_kb(self.db, seed_demo=self.seed_demo)
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
            except (
                Exception
            ) as exc:  # e.g. the cache locked by a CLI sync: this job fails, not the panel
                log.exception("knowledge job %s failed", job)
                message = f"the knowledge cache failed ({exc.__class__.__name__}); try again"
                self._bridge.call_event.emit(ErrorEvent(t=0.0, code="knowledge", message=message))


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
            raise RetryLaterError("not connected to the marquee server")
        try:
            server.client.submit(message)
        except AgentAssistError as exc:
            raise RetryLaterError(str(exc)) from None

    sent, _ = flush(kb.db, send)
    since = synced_version(kb.db)
    path = f"/kb/changes?since={since}"
    changes = fetch_json(
        server.url, path, token=server.token, ssl_context=server.ssl_context, timeout=10.0
    )
    if isinstance(changes, dict) and changes.get("version") == since:
        return sent, -1
    apply_sync(kb.db, changes, embedder=kb.embedder)
    return sent, int(changes["version"])


def _session_search(
    db: str | None, *, after: threading.Event | None = None, seed_demo: bool = False
) -> Callable[[threading.Event], Search | None]:
    def make(stop: threading.Event) -> Search | None:
        from agent_assist.cli.kb import open_kb

        while after is not None and not after.wait(0.1):  # one thread fills an empty cache
            if stop.is_set():
                return None
        kb = open_kb(db, seed_demo=seed_demo)

        def search(query: str) -> list[ArticleRef]:
            return [
                ArticleRef(h.id, h.title, h.score, h.snippet, h.department, h.authority)
                for h in kb.search(query, limit=4)
            ]

        return search

    return make
