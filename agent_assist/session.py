"""One call, sans-I/O: events in, the events they cause out.

``CallSession.feed(event)`` returns the new events an input event causes:
today the risk engine's ``flag`` events (knowledge ``suggestion`` events join
them when the knowledge cache is wired in). It never reads a clock, a file or
a socket, so it runs the same on a live call, in a replay and in tests.
"""

from __future__ import annotations

from agent_assist.events import Event, Flag
from agent_assist.risk.engine import RiskEngine
from agent_assist.risk.pack import RulePack

__all__ = ["CallSession"]


class CallSession:
    """Orchestrates the per-call engines; keyword-only configuration."""

    def __init__(self, *, pack: RulePack | None = None) -> None:
        self.risk = RiskEngine(pack=pack)
        self.flags: list[Flag] = []  # every flag raised so far, for the end-of-call summary

    def feed(self, event: Event) -> list[Event]:
        """Return the events ``event`` causes (possibly none)."""
        flags = self.risk.feed(event)
        self.flags.extend(flags)
        return list(flags)

    def snooze(self, kind: str) -> None:
        """The agent silenced ``kind`` for the rest of this call."""
        self.risk.snooze(kind)
