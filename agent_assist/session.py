"""One call, sans-I/O: events in, the events they cause out, and requests for the I/O they need.

Like the websockets protocol layer (``receive_data`` then ``data_to_send``):

* ``CallSession.feed(event)`` returns the new events an input event causes: the
  risk engine's ``flag`` events and, with ``suggest=True``, ``suggestion`` events.
* ``CallSession.requests_to_perform()`` returns the I/O the engines asked for
  (today :class:`~agent_assist.suggest.SearchRequest`). The caller performs each
  one however it likes (the app on its knowledge worker, ``analyze`` at once) and
  feeds the answer back with ``feed``; the answer's events come out then.

It never reads a clock, a file or a socket and never waits, so a slow search
cannot delay a flag; it runs the same on a live call, in a replay and in tests.

Adding an engine: give it ``feed(event) -> Sequence[Event | Request]`` (and
``answer(answer)`` if it asks for I/O), add its request and answer types to
:data:`Request` and :data:`Answer`, and pass it in ``engines``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from agent_assist.events import Event, Flag
from agent_assist.risk.engine import RiskEngine
from agent_assist.risk.pack import RulePack
from agent_assist.suggest import SearchRequest, SearchResults, Suggester

__all__ = [
    "Answer",
    "AskingEngine",
    "CallSession",
    "Engine",
    "Request",
    "feed_and_answer",
]

Request: TypeAlias = SearchRequest
"""I/O an engine asks for; every request has an ``id`` and the call time ``t`` that asked."""
Answer: TypeAlias = SearchResults
"""What the caller feeds back for a request, carrying the request's ``id``."""


class Engine(Protocol):
    """A per-call engine: events in, events (and requests for I/O) out; time only from events."""

    def feed(self, event: Event) -> Sequence[Event | Request]:
        """The events and requests ``event`` causes (possibly none)."""


@runtime_checkable
class AskingEngine(Engine, Protocol):
    """An engine that asks for I/O and takes the answers."""

    def answer(self, results: Answer) -> Sequence[Event | Request]:
        """The events and requests an answer to one of this engine's requests causes."""


class CallSession:
    """Orchestrates the per-call engines; keyword-only configuration.

    ``engines`` are fed after the risk engine and the suggester, in order.
    """

    def __init__(
        self,
        *,
        pack: RulePack | None = None,
        suggest: bool = False,
        engines: Sequence[Engine] = (),
    ) -> None:
        self.risk = RiskEngine(pack=pack)
        self.suggester = Suggester() if suggest else None
        self._engines: list[Engine] = [self.risk]
        if self.suggester is not None:
            self._engines.append(self.suggester)
        self._engines.extend(engines)
        self.flags: list[Flag] = []  # every flag raised so far, for the end-of-call summary
        self._requests: list[Request] = []
        self._asked: dict[str, AskingEngine] = {}  # request id -> the engine awaiting it

    def feed(self, event: Event | Answer) -> list[Event]:
        """Return the events ``event`` (or an answer to a request) causes, possibly none.

        An answer nobody awaits (unknown id, or already answered) causes nothing.
        """
        if isinstance(event, Answer):
            engine = self._asked.pop(event.id, None)
            return self._collect(engine, engine.answer(event)) if engine is not None else []
        out: list[Event] = []
        for each in self._engines:
            out.extend(self._collect(each, each.feed(event)))
        return out

    def requests_to_perform(self) -> list[Request]:
        """The requests made since the last call, oldest first (each is returned once)."""
        requests, self._requests = self._requests, []
        return requests

    @property
    def awaiting(self) -> int:
        """How many requests are still waiting for their answer."""
        return len(self._asked)

    def snooze(self, kind: str) -> None:
        """The agent silenced ``kind`` for the rest of this call."""
        self.risk.snooze(kind)

    def _collect(self, engine: Engine, outputs: Sequence[Event | Request]) -> list[Event]:
        events: list[Event] = []
        for item in outputs:
            if isinstance(item, Request):
                if not isinstance(engine, AskingEngine) or item.id in self._asked:
                    raise ValueError(f"{engine!r} asked {item.id!r} but cannot take its answer")
                self._asked[item.id] = engine
                self._requests.append(item)
            else:
                events.append(item)
                if isinstance(item, Flag):
                    self.flags.append(item)
        return events


def feed_and_answer(
    session: CallSession, event: Event, perform: Callable[[Request], Answer]
) -> list[Event]:
    """Feed ``event`` and answer every request at once with ``perform`` (a batch tool may wait).

    Returns the events in the order they come out: ``event``'s own, then each answer's.
    """
    out = session.feed(event)
    while requests := session.requests_to_perform():
        for request in requests:
            out.extend(session.feed(perform(request)))
    return out
