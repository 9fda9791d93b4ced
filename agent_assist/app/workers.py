"""Worker threads of the desktop app: the call (source -> session -> bridge) and knowledge.

The call worker reads events (live capture, an audio file, or a recorded event
log), feeds the :class:`CallSession` and emits every event and result through
the bridge; the knowledge worker owns its own SQLite connection and answers
searches, article requests, feedback and resolutions, and syncs with the server.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_assist.errors import AgentAssistError, EventFormatError
from agent_assist.events import Event, decode_lines
from agent_assist.session import Answer, Request
from agent_assist.suggest import MIN_SCORE, SearchResults

if TYPE_CHECKING:
    from agent_assist.session import CallSession
    from kb_cache.search import KnowledgeBase

log = logging.getLogger("agent_assist.app")


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


Source = Callable[[threading.Event], Iterator[Event]]
"""A call's events (live capture, an audio file, a log), until the stop event is set."""
Perform = Callable[[Request, Callable[[Answer], None]], None]
"""Start a session's request elsewhere; call the second argument with the answer (any thread)."""


@dataclass(frozen=True, slots=True)
class _Inject:
    make: Callable[[float], Event]


@dataclass(frozen=True, slots=True)
class _End:
    error: str | None = None


class CallWorker(threading.Thread):
    """Runs one call's :class:`CallSession`; every event and result goes to ``emit`` (the bridge).

    The session's thread never waits for anything but its inbox: the source is read
    on a helper thread (it blocks on audio or on the replay clock), the GUI's events
    (:meth:`inject`) and the answers to the session's requests (:meth:`answer`) arrive
    in the same inbox. Requests go to ``perform`` (the knowledge worker's queue), so
    a slow search never delays a flag; without ``perform`` there are no suggestions.
    An answer is fed at the call time of the newest event, so the stream stays in order.
    """

    def __init__(
        self,
        source: Source,
        *,
        emit: Callable[[Event], None],
        perform: Perform | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="call-worker", daemon=True)
        self._source, self._emit, self._perform = source, emit, perform
        self._interrupt = interrupt  # unblocks a source waiting for audio (Listener.stop)
        self.stop_event = threading.Event()
        self.error: str | None = None
        self._inbox: queue.SimpleQueue[Event | Answer | _Inject | _End] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name="call-source", daemon=True)
        self._t = 0.0  # call time of the newest event from the source

    def inject(self, make: Callable[[float], Event]) -> None:
        """Add an event (made with the current call time, s) from the GUI, e.g. the mute toggle."""
        self._inbox.put(_Inject(make))

    def answer(self, answer: Answer) -> None:
        """Hand the session the answer to one of its requests (from any thread)."""
        self._inbox.put(answer)

    def run(self) -> None:
        from agent_assist.events import ErrorEvent
        from agent_assist.risk.pack import load_pack
        from agent_assist.session import CallSession

        try:
            session = CallSession(pack=load_pack(None), suggest=self._perform is not None)
        except AgentAssistError as exc:
            self.error = str(exc)
            self._emit(ErrorEvent(t=0.0, code="call_worker", message=str(exc)))
            return
        self._reader.start()
        ended: _End | None = None
        while ended is None or (session.awaiting and not self.stop_event.is_set()):
            item = self._inbox.get()
            if isinstance(item, _End):  # the source is done; the answers it asked for may not be
                ended = ended or item
            elif isinstance(item, _Inject):  # the app's own events, at the current call time
                self._feed(session, item.make(self._t))
            elif isinstance(item, Answer):
                self._feed(session, replace(item, t=max(item.t, self._t)))
            else:
                self._t = max(self._t, item.t)
                self._feed(session, item)
        if ended.error is not None:
            self.error = ended.error
            self._emit(ErrorEvent(t=0.0, code="call_worker", message=ended.error))

    def _read(self) -> None:
        """The helper thread: the source's events into the inbox, then the end."""
        error = None
        try:
            for event in self._source(self.stop_event):
                self._inbox.put(event)
        except AgentAssistError as exc:
            error = str(exc)
        finally:
            self._inbox.put(_End(error))

    def _feed(self, session: CallSession, event: Event | Answer) -> None:
        if not isinstance(event, Answer):
            self._emit(event)
        for out in session.feed(event):
            self._emit(out)
        for request in session.requests_to_perform():
            assert self._perform is not None  # only a suggesting session asks
            self._perform(request, self.answer)

    def start_unless_stopped(self) -> None:
        """Start, unless :meth:`stop` came first (e.g. the app closed while the cache filled)."""
        if not self.stop_event.is_set():
            self.start()

    def stop(self) -> None:
        """Stop and wait: the source may be inside Vosk, which must not be torn down."""
        self.stop_event.set()
        if self._interrupt is not None:
            self._interrupt()
        self._inbox.put(_End())
        if self.is_alive():
            self.join()
        if self._reader.is_alive():
            self._reader.join()


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

    With ``learn``, **Used it** or **Helpful** on an article the call suggested
    keeps the customer's words that brought it up as a phrasing of that article
    (scrubbed; sent for review like a resolution: :mod:`kb_cache.phrasings`).
    """

    def __init__(
        self,
        *,
        open_kb: Callable[[], KnowledgeBase],
        bridge: Any,
        server: KnowledgeServer | None = None,
        learn: bool = True,
    ) -> None:
        """``open_kb`` opens the cache on this worker's thread (and may fill it the first time)."""
        super().__init__(name="knowledge-worker", daemon=True)
        self._open_kb, self._bridge, self.server = open_kb, bridge, server
        self._learn = learn
        self._heard: dict[str, str] = {}  # article id -> the customer's words that last found it
        self._jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._ready_lock = threading.Lock()
        self._when_ready: list[Callable[[], None]] | None = []  # None once ready

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the cache is open (or failed to open): now if it already is."""
        with self._ready_lock:
            if self._when_ready is not None:
                self._when_ready.append(callback)
                return
        callback()

    def _ready(self) -> None:
        with self._ready_lock:
            callbacks, self._when_ready = self._when_ready or [], None
        for callback in callbacks:
            callback()

    def perform(self, request: Request, reply: Callable[[Answer], None]) -> None:
        """Answer a call session's search on this worker's connection (never blocks the caller)."""
        self._jobs.put(("session_search", (request, reply)))

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

    def _answer(
        self, kb: KnowledgeBase | None, request: Request, reply: Callable[[Answer], None]
    ) -> None:
        """Always answer, even empty (the session asks again only once answered)."""
        results = _answer_empty(request)
        try:
            if kb is not None:
                results = kb.answer(request)
        except Exception:  # e.g. the cache locked by a CLI sync: this search finds nothing
            log.exception("a call's knowledge search failed")
        if self._learn and request.customer:
            for ref in (a for a in results.articles if a.score >= MIN_SCORE):  # shown ones
                self._heard.pop(ref.id, None)  # newest last: the oldest go first
                self._heard[ref.id] = request.customer
            while len(self._heard) > 100:
                self._heard.pop(next(iter(self._heard)))
        reply(results)

    def _feedback(self, kb: KnowledgeBase, article_id: str, action: str) -> None:
        """Record it; Used it / Helpful on a suggested article also learns how the customer put it."""
        from kb_cache.feedback import record
        from kb_cache.phrasings import learn

        record(kb.db, article_id, action)
        words = self._heard.get(article_id) if action in ("used", "helpful") else None
        if words and learn(kb.db, article_id, words, embedder=kb.embedder):
            self._heard.pop(article_id, None)  # once per suggestion
            if self.server is not None:
                self.submit("exchange", None)

    def stop(self) -> None:
        """Finish the current job (the first fill of the cache cannot be cut short) and end."""
        self._jobs.put(None)
        if self.is_alive():
            self.join()

    def run(self) -> None:
        from agent_assist.events import ErrorEvent
        from kb_cache.outbox import submit_resolution

        try:
            kb = self._open_kb()
        except AgentAssistError as exc:
            self._bridge.call_event.emit(ErrorEvent(t=0.0, code="knowledge", message=str(exc)))
            kb = None
        finally:
            self._ready()
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
            if job == "session_search":
                self._answer(kb, *payload)
                continue
            if kb is None:
                continue  # no cache: only the call's searches get an (empty) answer
            try:
                if job == "search":
                    refs = [h.to_ref() for h in kb.search(payload, limit=6)]
                    self._bridge.results.emit(payload, refs)
                elif job == "open":
                    article = kb.article(payload)
                    if article:
                        self._bridge.article.emit(article)
                elif job == "feedback":
                    self._feedback(kb, *payload)
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


def _answer_empty(request: Request) -> Answer:
    return SearchResults(request.id, request.t, ())


def exchange_knowledge(kb: Any, server: KnowledgeServer) -> tuple[int, int]:
    """Send queued resolutions, then sync the cache; returns (sent, new version or -1)."""
    from agent_assist.marquee.http import fetch_json
    from agent_assist.marquee.protocol import Submit
    from kb_cache.exchange import push, sync

    def deliver(message: Submit) -> None:
        if not server.client.wait_connected(0):
            raise OSError("not connected")
        try:
            server.client.submit(message)
        except AgentAssistError as exc:
            raise OSError(str(exc)) from None

    def changes(since: int) -> Any:
        path = f"/kb/changes?since={since}"
        return fetch_json(
            server.url, path, token=server.token, ssl_context=server.ssl_context, timeout=10.0
        )

    sent, _ = push(kb.db, deliver)
    outcome = sync(kb.db, changes, embedder=kb.embedder)
    return sent, outcome.version if outcome.changed else -1


def say(message: str) -> None:
    """Tell the user on stderr (as the command line does)."""
    print(f"agent-assist: {message}", file=sys.stderr)
