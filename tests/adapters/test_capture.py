"""Live capture through sounddevice from a real PulseAudio null sink's monitor.

A null sink plays nowhere; its ``.monitor`` source records what is played into
it, exactly like capturing a softphone's far end. The sink is unloaded and
loaded again to stand in for a headset being unplugged and plugged back.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agent_assist.clock import CallClock
from agent_assist.errors import AudioError, DeviceNotFoundError
from agent_assist.events import ErrorEvent, Event, Level, Mute, Status, Utterance
from audio.capture import CaptureStream
from audio.devices import InputDevice, list_input_devices, resolve_device
from audio.pipeline import Listener
from audio.recognizer import VoskModel
from tests.conftest import NullSink
from tests.support import calls

pytestmark = pytest.mark.pulse


class Collector:
    """Drains a listener on a thread so the test can wait for conditions."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.events: list[Event] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for event in self.listener.events():
            self.events.append(event)

    def __enter__(self) -> Collector:
        self.listener.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.stop()
        self._thread.join(timeout=20)
        assert not self._thread.is_alive(), "listener did not finish after stop()"

    def wait_for(self, test: Callable[[Event], bool], timeout: float, after: int = 0) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if test(event):
                    return event
            time.sleep(0.05)
        kinds = [type(e).__name__ for e in self.events[after:]]
        raise AssertionError(f"no matching event within {timeout}s; saw {kinds[-20:]}")


def test_a_null_sink_monitor_is_listed_as_a_loopback_device(null_sink: NullSink) -> None:
    device = resolve_device(f"pulse:{null_sink.monitor}")
    assert device.loopback
    assert device.backend == "pulse"
    assert device in list_input_devices()


def test_an_unknown_device_is_a_clear_error(pulse_server: None) -> None:
    with pytest.raises(DeviceNotFoundError, match="agent-assist devices"):
        resolve_device("no-such-headset-xyz")


def test_speech_played_into_the_sink_is_captured_and_recognised(
    null_sink: NullSink, model: VoskModel, phrase_wav: Path
) -> None:
    device = resolve_device(f"pulse:{null_sink.monitor}")
    listener = Listener.from_devices(model=model, agent=device)
    with Collector(listener) as got:
        got.wait_for(lambda e: isinstance(e, Status) and e.state == "listening", 30)
        player = null_sink.play(phrase_wav)
        final = got.wait_for(lambda e: isinstance(e, Utterance) and e.final, 120)
        player.wait(timeout=30)
        got.wait_for(lambda e: isinstance(e, Level) and e.speech, 1)
    assert final.channel == "agent"  # type: ignore[union-attr]
    assert listener.dropped == {"agent": 0}
    stops = [i for i, e in enumerate(got.events) if isinstance(e, Status) and e.state == "stopped"]
    assert stops, "the capture never said it stopped"
    stopped = got.events[stops[-1]]
    # a busy worker may still be turning audio captured before the stop into levels and a
    # final: those may follow the capture's "stopped", nothing captured after it may (audio
    # is timed by counting samples, which may lead the wall clock by up to 0.5 s: capture.py)
    for event in got.events[stops[-1] + 1 :]:
        assert isinstance(event, Level | Utterance), event
        assert (event.end if isinstance(event, Utterance) else event.t) <= stopped.t + 0.5, event


def test_unplugging_gives_an_error_event_and_replugging_resumes(
    null_sink: NullSink, model: VoskModel
) -> None:
    device = resolve_device(f"pulse:{null_sink.monitor}")
    listener = Listener.from_devices(model=model, agent=device)
    with Collector(listener) as got:
        got.wait_for(lambda e: isinstance(e, Level), 60)
        null_sink.unload()
        lost = got.wait_for(lambda e: isinstance(e, ErrorEvent), 30)
        assert lost.code == "device_lost"
        assert lost.channel == "agent"
        assert null_sink.monitor in lost.message  # type: ignore[union-attr]
        mark = len(got.events)
        time.sleep(1.0)
        assert not any(isinstance(e, Level) for e in got.events[mark + 2 :]), "still capturing"
        null_sink.load()
        got.wait_for(lambda e: isinstance(e, Status) and e.state == "listening", 60, after=mark)
        got.wait_for(lambda e: isinstance(e, Level), 60, after=mark)
    assert listener.dropped == {"agent": 0}


def test_a_stereo_device_can_be_split_into_agent_and_customer(
    null_sink: NullSink, model: VoskModel, audio_dir: Path
) -> None:
    left = calls.speak(calls.AGENT_PHRASES_KO[0])
    right = calls.speak(calls.AGENT_PHRASES_KO[3])
    left_seconds = len(left) / calls.RATE
    wav = calls.write_wav(
        audio_dir / "split.wav",
        [
            np.concatenate([calls.noise(1.0), left, calls.noise(4.0)]),
            np.concatenate([calls.noise(1.0 + left_seconds + 2.0), right, calls.noise(1.0)]),
        ],
    )
    device = resolve_device(f"pulse:{null_sink.monitor}")
    listener = Listener.from_devices(model=model, agent=device, split_stereo=True)
    with Collector(listener) as got:
        got.wait_for(lambda e: isinstance(e, Status), 30)
        null_sink.play(wav).wait(timeout=30)
        got.wait_for(lambda e: isinstance(e, Utterance) and e.final and e.channel == "customer", 60)
    finals = [e for e in got.events if isinstance(e, Utterance) and e.final]
    assert {e.channel for e in finals} == {"agent", "customer"}
    agent = min(e.start for e in finals if e.channel == "agent")
    customer = min(e.start for e in finals if e.channel == "customer")
    # the right channel spoke 2 s after the left one finished, as played
    assert customer - agent == pytest.approx(left_seconds + 2.0, abs=0.5)


def test_block_times_are_smooth_despite_callback_jitter() -> None:
    """Two blocks delivered together must still be 0.1 s apart on the call clock."""
    clock = CallClock(origin=0.0, monotonic=lambda: 0.0)
    device = InputDevice("pa:0", "x", "x", "portaudio", 1, 16000, False, False)
    capture = CaptureStream(
        device,
        queues=[],
        channels=1,
        clock=clock,
        on_event=lambda e: None,
        report_channels=["agent"],
        rate=16000,
    )
    arrivals = [1.10, 1.20, 1.35, 1.35, 1.50, 1.60, 9.00, 9.10]  # jitter, then an overrun gap
    starts = [capture._stamp(now, 1600) for now in arrivals]
    steps = [round(b - a, 3) for a, b in itertools.pairwise(starts[:6])]
    assert all(0.099 <= s <= 0.102 for s in steps), steps
    assert starts[6] == pytest.approx(8.9)  # a real jump re-anchors to the wall clock


def test_a_device_that_cannot_be_opened_is_one_clear_error(
    null_sink: NullSink, model: VoskModel
) -> None:
    device = resolve_device(f"pulse:{null_sink.monitor}")
    null_sink.unload()  # gone between listing and opening
    listener = Listener.from_devices(model=model, agent=device)
    with pytest.raises(AudioError, match="is not connected"):
        listener.start()
    assert list(listener.events()) == []  # the workers were told to finish


def test_the_os_mute_switch_of_the_agents_mic_is_a_mute_source(
    null_sink: NullSink, model: VoskModel
) -> None:
    device = resolve_device(f"pulse:{null_sink.monitor}")
    listener = Listener.from_devices(model=model, agent=device)
    with Collector(listener) as got:
        initial = got.wait_for(lambda e: isinstance(e, Mute), 30)
        assert (initial.muted, initial.source) == (False, "os")  # type: ignore[union-attr]
        mark = len(got.events)
        subprocess.run(["pactl", "set-source-mute", null_sink.monitor, "1"], check=True)
        muted = got.wait_for(lambda e: isinstance(e, Mute), 30, after=mark)
        assert (muted.muted, muted.source) == (True, "os")  # type: ignore[union-attr]
        mark = len(got.events)
        subprocess.run(["pactl", "set-source-mute", null_sink.monitor, "0"], check=True)
        unmuted = got.wait_for(lambda e: isinstance(e, Mute), 30, after=mark)
        assert unmuted.muted is False  # type: ignore[union-attr]
