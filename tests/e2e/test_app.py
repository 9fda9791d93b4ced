"""The composition root: a replayed call and a real recognition pipeline driving the real window."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from agent_assist.app import DEMO_CALL, CallWorker, connect_mute_toggle, listener_source, replay
from agent_assist.events import ArticleRef, Flag, Suggestion, Utterance
from agent_assist.suggest import SearchRequest, SearchResults
from audio.recognizer import VoskModel
from tests.support import calls
from tests.support.stall import StallMeter
from ui.agent_window import AgentWindow
from ui.bridge import Bridge
from ui.theme import THEMES


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path: Path) -> None:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture
def wired(qtbot: QtBot) -> tuple[AgentWindow, Bridge]:
    window = AgentWindow(theme=THEMES["dark"])
    qtbot.addWidget(window)
    bridge = Bridge()
    bridge.call_event.connect(window.show_event)
    window.show()
    return window, bridge


def test_the_demo_call_replays_through_the_real_session_into_the_window(
    wired: tuple[AgentWindow, Bridge], qtbot: QtBot
) -> None:
    window, bridge = wired
    seen: list[object] = []
    bridge.call_event.connect(seen.append)

    def search(query: str) -> list[ArticleRef]:  # a small fake at the knowledge seam
        return (
            [ArticleRef("card-arrival", "Card has not arrived", 0.9, "Check the **delivery**")]
            if "card" in query
            else []
        )

    def perform(request: SearchRequest, reply: Callable[[SearchResults], None]) -> None:
        reply(SearchResults(request.id, request.t, tuple(search(request.query))))

    worker = CallWorker(
        lambda stop: replay(DEMO_CALL, speed=60.0, stop=stop),
        emit=bridge.call_event.emit,
        perform=perform,
    )
    worker.start()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=60_000)
    qtbot.wait(50)
    kinds = {e.kind for e in seen if isinstance(e, Flag)}
    assert {"hot_mic", "rudeness", "blame_shifting", "vent_while_muted"} <= kinds
    assert any(isinstance(e, Suggestion) for e in seen)
    assert window.strip.state == "NO CALL"  # the call ended
    assert any(
        text.startswith("Customer: hi I ordered a new card")
        for text, _ in window.transcript.lines()
    )
    assert [c.ref.id for c in window.knowledge.cards] == ["card-arrival"]


def test_replay_stops_when_asked(tmp_path: Path) -> None:
    import threading

    stop = threading.Event()
    events = replay(DEMO_CALL, speed=1.0, stop=stop)
    first = next(events)
    stop.set()
    assert first.t == 0.0
    assert list(events) == []


def test_recognition_never_stalls_the_gui(
    wired: tuple[AgentWindow, Bridge],
    qtbot: QtBot,
    model: VoskModel,
    call_wav: tuple[Path, list[calls.Turn]],
) -> None:
    """Recognition runs on the worker; the GUI thread only renders and keeps ticking.

    How long the worst GUI stall is depends on the machine's load: ``bench/app.py``
    measures it (the target is under 50 ms).
    """
    import threading

    from audio.pipeline import Listener

    window, bridge = wired
    meter = StallMeter(interval_ms=5)
    listener = Listener.from_wav(
        str(call_wav[0]), model=model, realtime=False
    )  # as fast as Vosk goes
    emitted_on: set[int] = set()
    shown_on: set[int] = set()

    def emit(event: object) -> None:
        emitted_on.add(threading.get_ident())
        bridge.call_event.emit(event)

    worker = CallWorker(
        listener_source(listener),
        emit=emit,
        interrupt=listener.stop,
    )
    finals: list[Utterance] = []
    bridge.call_event.connect(
        lambda e: finals.append(e) if isinstance(e, Utterance) and e.final else None
    )
    bridge.call_event.connect(lambda e: shown_on.add(threading.get_ident()))
    meter.start()
    started = time.perf_counter()
    worker.start()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=600_000)
    qtbot.wait(50)
    meter.stop()
    print(
        f"\n{time.perf_counter() - started:.1f} s, {meter.ticks} ticks, worst stall {meter.worst_ms:.1f} ms"
    )
    assert finals, "the pipeline recognised nothing"
    assert window.transcript.count() > 0
    assert emitted_on == {worker.ident}  # recognition and the session ran on the worker
    assert shown_on == {threading.main_thread().ident}  # results crossed to the GUI by signal
    assert meter.ticks > 100  # and the GUI's event loop kept running all along


@pytest.mark.timeout(900)  # the demo seeds its knowledge base first: minutes on a busy machine
def test_demo_saves_a_screenshot_and_exits(tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AGENT_ASSIST_KB": str(tmp_path / "kb.db"),
           "AGENT_ASSIST_USER_SETTINGS": str(tmp_path / "user.toml"),
           "AGENT_ASSIST_SITE_POLICY": str(tmp_path / "site.toml"), "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "agent_assist", "demo", "--speed", "4", "--quit-after", "4", "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=840, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_screenshot_needs_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    from agent_assist.cli import main

    assert main(["demo", "--screenshot", "x.png"]) == 2
    assert "--quit-after" in capsys.readouterr().err


def test_the_supervisor_console_connects_to_a_real_server(tmp_path: Path, qtbot: QtBot) -> None:
    """`agent-assist console` against a running server: announcements and receipts reach it."""
    from agent_assist.marquee.protocol import Announce, Audience
    from agent_assist.marquee.store import MarqueeStore
    from tests.support.marquee import Node

    node = Node(lambda: MarqueeStore(tmp_path / "m.db")).start()
    try:
        store = MarqueeStore(tmp_path / "m.db")
        supervisor = store.create_token(role="supervisor", name="maria", site="manila")
        store.create_token(role="agent", name="ana", site="manila")
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AGENT_ASSIST_USER_SETTINGS": str(tmp_path / "u.toml"),
               "AGENT_ASSIST_SITE_POLICY": str(tmp_path / "s.toml"), "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
        store.announce(
            Announce(text="Queue over 40", priority="urgent", audience=Audience(all=True)),
            author="lee",
        )
        code = (
            "import sys; from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication\n"
            "app = QApplication(sys.argv[:1])\n"
            "from agent_assist import app as a\n"
            "def check():\n"
            "    w = next(x for x in QApplication.topLevelWidgets() if x.windowTitle().endswith('supervisor console'))\n"
            "    print('active', w.active_ids(), flush=True); app.quit()\n"
            "QTimer.singleShot(3000, check)\n"
            f"a.run_app(a.AppOptions(view='supervisor', server='{node.url}', token='{supervisor}'))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "active ['a1-" in done.stdout
    finally:
        node.stop()


def test_the_manual_mute_toggle_reaches_the_risk_engine_as_an_app_mute(
    wired: tuple[AgentWindow, Bridge], qtbot: QtBot
) -> None:
    import threading

    from agent_assist.events import Call, Mute

    window, bridge = wired
    seen: list[object] = []
    bridge.call_event.connect(seen.append)
    go = threading.Event()

    def source(stop: threading.Event):  # type: ignore[no-untyped-def]
        yield Call(t=0.0, state="started")
        go.wait(5)  # the agent presses Mute now
        yield Utterance(
            t=3.0,
            channel="agent",
            final=True,
            text="these people are so stupid",
            start=2.0,
            end=3.0,
        )

    worker = CallWorker(source, emit=bridge.call_event.emit)
    connect_mute_toggle(window, worker)
    worker.start()
    qtbot.waitUntil(lambda: window.strip.state == "LIVE", timeout=30_000)
    window.strip.mute_button.click()
    go.set()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=30_000)
    qtbot.wait(50)
    assert any(isinstance(e, Mute) and e.muted and e.source == "app" for e in seen)
    kinds = [e.kind for e in seen if isinstance(e, Flag)]
    assert "vent_while_muted" in kinds
    assert "hot_mic" not in kinds


class _SentMessages:
    """A connected marquee client that records what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    def wait_connected(self, timeout: float) -> bool:
        return True

    def send_soon(self, message: object, **callbacks: object) -> None:
        self.sent.append(message)


def test_a_flag_of_a_snoozed_kind_is_not_shared_even_if_raised_before_the_session_knew(
    wired: tuple[AgentWindow, Bridge],
) -> None:
    from agent_assist.app.messaging import share_flag

    client = _SentMessages()
    coaching = wired[0].coaching
    coaching.show_flag(Flag(t=1.0, kind="rudeness", severity="warning", channel="agent", evidence="calm down", tip="t"))  # fmt: skip
    coaching.cards[0].snooze.emit("rudeness")  # the session hears of it on its next event
    for kind, severity in (("rudeness", "warning"), ("profanity", "critical")):
        flag = Flag(t=2.0, kind=kind, severity=severity, channel="agent", evidence="x", tip="t")  # type: ignore[arg-type]
        share_flag(flag, client, on_shared=lambda f: None, silenced=coaching.snoozes.silences)
    assert [getattr(m, "kind", None) for m in client.sent] == ["profanity"]  # never a critical
