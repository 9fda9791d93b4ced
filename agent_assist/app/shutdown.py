"""Ending cleanly when the system asks: SIGTERM, SIGINT (Ctrl-C), SIGHUP, and the desktop
session's logoff.

Python runs a signal handler only between bytecodes of the main thread, and
while Qt's event loop waits in C++ no bytecode runs: Ctrl-C used to raise
KeyboardInterrupt inside whatever Qt timer ran next (a traceback, and the app
went on), and SIGTERM waited for an event that might never come. So the
signals' handlers do nothing themselves; :func:`signal.set_wakeup_fd` writes
each signal's number to a socket pair whose reading end a
:class:`QSocketNotifier` watches on the GUI thread, which then quits the event
loop. ``run_app`` then joins every worker (its ``Cleanup``). The session
manager's "save your data" request at logoff (``commitDataRequest``) quits the
same way.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QSocketNotifier

__all__ = ["SIGNALS", "quit_on_signals"]

log = logging.getLogger("agent_assist.app")
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


def quit_on_signals(app: QCoreApplication) -> Callable[[], None]:
    """Quit ``app``'s event loop on SIGTERM, SIGINT, SIGHUP or logoff; returns what undoes it.

    Call it on the main thread once the application exists; a signal that comes before
    the event loop runs ends it as soon as it starts.
    """
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {sig: signal.signal(sig, _noted) for sig in SIGNALS}
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def woken() -> None:
        with contextlib.suppress(OSError):
            numbers = reader.recv(64)
            names = ", ".join(_name(n) for n in numbers)
            log.info("%s received: quitting", names or "a signal")
        app.quit()

    notifier.activated.connect(woken)
    commit = getattr(app, "commitDataRequest", None)  # QGuiApplication: the session ends
    if commit is not None:
        commit.connect(lambda _manager: app.quit())

    def undo() -> None:
        notifier.setEnabled(False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        reader.close()
        writer.close()

    return undo


def _noted(number: int, frame: object) -> None:
    """The Python-level handler: nothing to do, the wakeup socket tells the event loop."""


def _name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
