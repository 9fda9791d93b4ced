"""One call, sans-I/O: events in, the events they cause out.

``CallSession.feed(event)`` returns the new events an input event causes: the
risk engine's ``flag`` events and, when a knowledge search is given, live
``suggestion`` events. It never reads a clock, a file or a socket (the search
is injected by the composition root), so it runs the same on a live call, in a
replay and in tests.
"""

from __future__ import annotations

from agent_assist.events import Event, Flag
from agent_assist.risk.engine import RiskEngine
from agent_assist.risk.pack import RulePack
from agent_assist.risk.semantic import Embed
from agent_assist.suggest import Search, Suggester

__all__ = ["CallSession"]


class CallSession:
    """Orchestrates the per-call engines; keyword-only configuration."""

    def __init__(
        self,
        *,
        pack: RulePack | None = None,
        search: Search | None = None,
        embed: Embed | None = None,
        embed_model: str | None = None,
    ) -> None:
        # embed/embed_model turn on the risk engine's semantic layer (see RiskEngine)
        self.risk = RiskEngine(pack=pack, embed=embed, embed_model=embed_model)
        self.suggester = Suggester(search=search) if search is not None else None
        self.flags: list[Flag] = []  # every flag raised so far, for the end-of-call summary

    def feed(self, event: Event) -> list[Event]:
        """Return the events ``event`` causes (possibly none)."""
        flags = self.risk.feed(event)
        self.flags.extend(flags)
        out: list[Event] = list(flags)
        if self.suggester is not None:
            out.extend(self.suggester.feed(event))
        return out

    def snooze(self, kind: str) -> None:
        """The agent silenced ``kind`` for the rest of this call."""
        self.risk.snooze(kind)
