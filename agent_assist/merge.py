"""Merge several time-ordered event streams into one ordered by ``t`` (sans-I/O).

Each source must deliver its own events with non-decreasing ``t`` (a channel
worker does). An event is released once every still-open source has reached
its time, so the merged stream is ordered without waiting for the end.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable

from agent_assist.events import Event

__all__ = ["OrderedMerge"]


class OrderedMerge:
    """Watermark merge of named event streams."""

    def __init__(self, sources: Iterable[str]) -> None:
        self._latest: dict[str, float] = {name: float("-inf") for name in sources}
        if not self._latest:
            raise ValueError("OrderedMerge needs at least one source")
        self._heap: list[tuple[float, int, Event]] = []
        self._seq = itertools.count()

    def push(self, source: str, event: Event) -> list[Event]:
        """Add ``event`` from ``source``; return the events now safe to emit, in order."""
        if source not in self._latest:
            raise KeyError(f"unknown or closed source {source!r}")
        self._latest[source] = max(self._latest[source], event.t)
        heapq.heappush(self._heap, (event.t, next(self._seq), event))
        return self._release()

    def close(self, source: str) -> list[Event]:
        """Mark ``source`` finished; return the events this releases."""
        self._latest.pop(source, None)
        return self._release()

    def _release(self) -> list[Event]:
        watermark = min(self._latest.values(), default=float("inf"))
        out: list[Event] = []
        while self._heap and self._heap[0][0] <= watermark:
            out.append(heapq.heappop(self._heap)[2])
        return out
