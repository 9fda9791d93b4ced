"""The one snooze rule, shared by the risk engine and the coaching view (pure).

The agent may snooze a flag kind for the rest of the call. A snooze silences
every flag of that kind except the critical ones: a hot mic or profanity on a
live line may be heard by the customer, so it is never hidden. What a snooze
silences is neither shown to the agent nor shared with a supervisor.
"""

from __future__ import annotations

from agent_assist.events import Flag

__all__ = ["Snoozes", "snoozable"]


def snoozable(severity: str) -> bool:
    """True when a snooze may silence flags of this severity (all but ``critical``)."""
    return severity != "critical"


class Snoozes:
    """The kinds snoozed during one call; cleared when the call ends or a new one starts."""

    def __init__(self) -> None:
        self._kinds: set[str] = set()

    def add(self, kind: str) -> None:
        """Snooze ``kind`` until :meth:`clear`."""
        self._kinds.add(kind)

    def clear(self) -> None:
        """Forget every snooze (a new call)."""
        self._kinds.clear()

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds

    def silences(self, flag: Flag) -> bool:
        """True when ``flag`` is of a snoozed kind and not critical: do not show or share it."""
        return self.silences_kind(flag.kind, flag.severity)

    def silences_kind(self, kind: str, severity: str) -> bool:
        """:meth:`silences` for a flag not built yet."""
        return kind in self._kinds and snoozable(severity)
