"""Cyclic garbage is collected on the GUI thread only, between events.

Python's cycle collector runs in whichever thread happens to allocate when a
generation's threshold is crossed. Our worker threads (call, knowledge, marquee
client) allocate all the time, so without this a cycle holding a Qt object
(a widget with a lambda connected to its own signal, say) can be destroyed on a
worker thread, or in the middle of a nested event loop, and Qt crashes
(segmentation fault) when a QObject dies outside its thread. Anki does the same
for the same reason.

:class:`MainThreadCollector` turns the automatic collector off and checks the
generation counts on a timer of the GUI thread, collecting a generation when
its count is past the threshold the automatic collector would have used. Only
*cyclic* garbage waits for the timer; reference counting frees everything else
at once, as always.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["MainThreadCollector", "collect_due"]


class MainThreadCollector(QObject):
    """While it lives (parent it to the application), cycles are collected on the GUI thread.

    ``interval_ms``: how often the counts are checked (milliseconds). :meth:`stop`
    (also called when the object is destroyed) turns the automatic collector back on
    if it was on before.
    """

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        if self._was_enabled:
            self.destroyed.connect(_enable)
        self.collections = 0  # how many collections this collector ran

    def check(self) -> None:
        """Collect the oldest generation whose count is past its threshold (if any)."""
        if collect_due(self._thresholds):
            self.collections += 1

    def stop(self) -> None:
        """Stop the timer and give the collection back to Python (if it had it before)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()


def collect_due(thresholds: tuple[int, int, int]) -> bool:
    """Collect the oldest generation whose count is past ``thresholds``; whether one was."""
    counts = gc.get_count()
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return True
    return False


def _enable(_: object = None) -> None:
    gc.enable()
