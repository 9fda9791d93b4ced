"""The call worker (source -> session -> bridge) and the sources it reads.

The call worker reads events (live capture, an audio file, or a recorded event
log), feeds the :class:`CallSession` and emits every event and result through
the bridge; the session's searches go to the knowledge worker
(:mod:`agent_assist.app.knowledge`), whose answers come back into its inbox.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agent_assist.errors import AgentAssistError, EventFormatError
from agent_assist.events import Event, decode_lines
from agent_assist.session import Answer, Request

if TYPE_CHECKING:
    from agent_assist.session import CallSession

__all__ = [
    "CallWorker",
    "Listening",
    "Perform",
    "Source",
    "as_a_call",
    "lazy_listener",
    "listener_source",
    "replay",
]


Source = Callable[[threading.Event], Iterator[Event]]
"""A call's events (live capture, an audio file, a log), until the stop event is set."""


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


class Listening(Protocol):
    """An audio listener (:class:`audio.pipeline.Listener`) as the call worker uses it."""

    def start(self) -> None: ...

    def events(self) -> Iterator[Event]: ...

    def stop(self) -> None: ...


def listener_source(listener: Listening) -> Source:
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


Perform = Callable[[Request, Callable[[Answer], None]], None]
"""Start a session's request elsewhere; call the second argument with the answer (any thread)."""


@dataclass(frozen=True, slots=True)
class _Inject:
    make: Callable[[float], Event]


@dataclass(frozen=True, slots=True)
class _Snooze:
    kind: str


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
        self._inbox: queue.SimpleQueue[Event | Answer | _Inject | _Snooze | _End] = (
            queue.SimpleQueue()
        )
        self._reader = threading.Thread(target=self._read, name="call-source", daemon=True)
        self._t = 0.0  # call time of the newest event from the source

    def inject(self, make: Callable[[float], Event]) -> None:
        """Add an event (made with the current call time, s) from the GUI, e.g. the mute toggle."""
        self._inbox.put(_Inject(make))

    def snooze(self, kind: str) -> None:
        """The agent snoozed ``kind`` for this call: the session stops raising (and sharing) it."""
        self._inbox.put(_Snooze(kind))

    def answer(self, answer: Answer) -> None:
        """Hand the session the answer to one of its requests (from any thread)."""
        self._inbox.put(answer)

    def run(self) -> None:
        from agent_assist.risk.pack import load_pack
        from agent_assist.session import CallSession

        try:
            session = CallSession(pack=load_pack(None), suggest=self._perform is not None)
        except AgentAssistError as exc:
            self._fail(str(exc))
            return
        self._reader.start()
        ended: _End | None = None
        while ended is None or (session.awaiting and not self.stop_event.is_set()):
            item = self._inbox.get()
            if isinstance(item, _End):  # the source is done; the answers it asked for may not be
                ended = ended or item
            else:
                self._take(session, item)
        if ended.error is not None:
            self._fail(ended.error)

    def _take(self, session: CallSession, item: Event | Answer | _Inject | _Snooze) -> None:
        if isinstance(item, _Inject):  # the app's own events, at the current call time
            self._feed(session, item.make(self._t))
        elif isinstance(item, _Snooze):
            session.snooze(item.kind)
        elif isinstance(item, Answer):  # fed at the newest call time: the stream stays in order
            self._feed(session, replace(item, t=max(item.t, self._t)))
        else:
            self._t = max(self._t, item.t)
            self._feed(session, item)

    def _fail(self, message: str) -> None:
        from agent_assist.events import ErrorEvent

        self.error = message
        self._emit(ErrorEvent(t=0.0, code="call_worker", message=message))

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


def as_a_call(source: Source) -> Source:
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


def lazy_listener(build: Callable[[], Listening]) -> tuple[Source, Callable[[], None]]:
    """A CallWorker source that builds its Listener (loading the model) on the worker thread,
    and the interrupt that stops it once built."""
    built: list[Listening] = []
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
