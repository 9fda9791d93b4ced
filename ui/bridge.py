"""The one way into the GUI thread: worker threads emit, widgets receive (queued)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

__all__ = ["Bridge"]


class Bridge(QObject):
    """Signals any thread may emit; connected slots run on the thread owning the receiver.

    Create it on the GUI thread: :meth:`run_on_main` then runs callbacks there.
    """

    call_event = Signal(object)  # agent_assist.events.* from the call pipeline and the session
    message = Signal(object)  # marquee protocol messages
    connection = Signal(str)  # marquee client state
    level = Signal(float)  # the settings dialog's microphone test, dBFS
    progress = Signal(object, object)  # a model install: bytes done, total (0: unknown), > 2 GiB ok
    installed = Signal(str)  # a model install finished: its name
    failed = Signal(str)  # a model install failed: why
    _call = Signal(object)  # a callback for run_on_main

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run)  # a slot of this object: runs on the thread owning it

    def run_on_main(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the bridge's (the GUI) thread; from any thread, never waits."""
        self._call.emit(callback)

    @Slot(object)
    def _run(self, callback: Callable[[], None]) -> None:
        callback()
