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

Call scripts and the summary (``script=``, ``summary=True``): the script engine
is fed after the others, and also every suggestion they make (the article the
call is about may choose the script); the :class:`~agent_assist.summary.Summarizer`
sees everything last and adds the ``summary`` event when the call ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from agent_assist.events import Event, Flag, Suggestion
from agent_assist.risk.engine import RiskEngine
from agent_assist.risk.pack import RulePack
from agent_assist.risk.semantic import Embed
from agent_assist.scripts.engine import ScriptEngine
from agent_assist.suggest import SearchRequest, SearchResults, Suggester
from agent_assist.summary import Summarizer

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

    ``engines`` are fed after the risk engine and the suggester, in order, then
    the ``script`` engine; with ``summary``, a ``summary`` event ends each call.
    ``embed``/``embed_model`` turn on the risk engine's semantic layer (see RiskEngine).
    """

    def __init__(
        self,
        *,
        pack: RulePack | None = None,
        suggest: bool = False,
        engines: Sequence[Engine] = (),
        script: ScriptEngine | None = None,
        summary: bool = False,
        embed: Embed | None = None,
        embed_model: str | None = None,
    ) -> None:
        self.risk = RiskEngine(pack=pack, embed=embed, embed_model=embed_model)
        self.suggester = Suggester() if suggest else None
        self.script = script
        self._engines: list[Engine] = [self.risk]
        if self.suggester is not None:
            self._engines.append(self.suggester)
        self._engines.extend(engines)
        if script is not None:
            self._engines.append(script)
        self.summarizer = (
            Summarizer(pack=self.risk.pack, adherence=script.adherence if script else lambda: None)
            if summary
            else None
        )
        self.flags: list[Flag] = []  # every flag raised so far, for the end-of-call summary
        self._requests: list[Request] = []
        self._asked: dict[str, AskingEngine] = {}  # request id -> the engine awaiting it

    def feed(self, event: Event | Answer) -> list[Event]:
        """Return the events ``event`` (or an answer to a request) causes, possibly none.

        An answer nobody awaits (unknown id, or already answered) causes nothing.
        """
        if isinstance(event, Answer):
            engine = self._asked.pop(event.id, None)
            out = self._collect(engine, engine.answer(event)) if engine is not None else []
            return self._observed(None, out)
        out = []
        for each in self._engines:
            out.extend(self._collect(each, each.feed(event)))
        return self._observed(event, out)

    def choose_script(self, name: str, t: float) -> list[Event]:
        """The agent picked script ``name`` at call time ``t``; returns the events that causes."""
        if self.script is None:
            raise ValueError("this session has no call script")
        return self._observed(None, list(self.script.choose(name, t)))

    def _observed(self, event: Event | None, out: list[Event]) -> list[Event]:
        """The suggestions made go to the script engine; everything to the summarizer."""
        if self.script is not None:
            for suggestion in [e for e in out if isinstance(e, Suggestion)]:
                out.extend(self.script.feed(suggestion))
        if self.summarizer is not None:
            out.extend(self.summarizer.feed(event, out))
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
