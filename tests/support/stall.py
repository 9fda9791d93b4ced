"""Measure how long the GUI event loop stalls: the app's responsiveness, in milliseconds."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

__all__ = ["StallMeter"]


class StallMeter(QObject):
    """A timer that should fire every ``interval_ms``; ``worst_ms`` is its worst lateness."""

    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval = interval_ms / 1000
        self.worst_ms = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        """Start timing the event loop's ticks."""
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        """Stop timing."""
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst_ms = max(self.worst_ms, (now - self._last - self.interval) * 1000)
        self._last = now
        self.ticks += 1
