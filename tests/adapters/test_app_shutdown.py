"""SIGTERM, SIGINT and SIGHUP end the app cleanly (issue 11 #5): the event loop quits, every
worker is joined, no traceback. Run in a child process, as logoff scripts see the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_APP = textwrap.dedent(
    """
    import sys, threading
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel
    from agent_assist.app.main import Cleanup
    from agent_assist.app.shutdown import quit_on_signals

    app = QApplication(sys.argv[:1])
    cleanup = Cleanup()
    cleanup.add(quit_on_signals(app))
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="call-worker")  # not a daemon: must be joined
    worker.start()
    cleanup.add(worker.join, stop.set)  # undone last first: set, then join
    busy = QTimer()
    busy.timeout.connect(lambda: None)  # Qt timers run Python: where Ctrl-C used to land
    busy.start(5)
    window = QLabel("Agent Assist")
    window.show()
    QTimer.singleShot(0, lambda: print("ready", flush=True))
    try:
        code = app.exec()
    finally:
        cleanup.run()
    print("joined" if not worker.is_alive() else "still running", flush=True)
    sys.exit(code)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_quits_the_event_loop_and_joins_every_worker(
    sig: signal.Signals, tmp_path: Path
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen(
        [sys.executable, "-c", _APP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(sig)
        out, err = child.communicate(timeout=60)  # generous: a loaded 2-core machine
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert out.strip() == "joined"
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
