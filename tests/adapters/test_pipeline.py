"""Sources -> per-channel workers -> one event stream, with the real model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from agent_assist.clock import CallClock
from agent_assist.events import Event, Level, Utterance
from audio.pipeline import Listener
from audio.recognizer import VoskModel
from tests.support import calls


def listen(path: Path, model: VoskModel, **kwargs: object) -> tuple[list[Event], Listener]:
    listener = Listener.from_wav(str(path), model=model, **kwargs)  # type: ignore[arg-type]
    listener.start()
    return list(listener.events()), listener


@pytest.fixture(scope="module")
def stereo_events(call_wav: tuple[Path, list[calls.Turn]], model: VoskModel) -> list[Event]:
    events, listener = listen(call_wav[0], model)
    assert listener.dropped == {"agent": 0, "customer": 0}
    return events


@pytest.mark.parametrize("channel", ["agent", "customer"])
def test_a_stereo_call_gives_partials_finals_and_levels_for_each_side(
    stereo_events: list[Event], channel: str
) -> None:
    mine = [e for e in stereo_events if getattr(e, "channel", None) == channel]
    assert any(isinstance(e, Utterance) and not e.final for e in mine)
    assert any(isinstance(e, Utterance) and e.final and e.words for e in mine)
    assert any(isinstance(e, Level) and e.speech for e in mine)


def test_each_side_is_heard_in_its_own_turns(
    stereo_events: list[Event], call_wav: tuple[Path, list[calls.Turn]]
) -> None:
    turns = call_wav[1]
    for final in (e for e in stereo_events if isinstance(e, Utterance) and e.final):
        mid = (final.start + final.end) / 2
        owner = [t for t in turns if t.start - 0.3 <= mid <= t.end + 0.3]
        assert owner, final
        assert owner[0].channel == final.channel, final


def test_offline_output_is_ordered_by_time(stereo_events: list[Event]) -> None:
    times = [e.t for e in stereo_events]
    assert times == sorted(times)


def test_about_ten_level_events_per_second_per_channel(
    stereo_events: list[Event], call_wav: tuple[Path, list[calls.Turn]]
) -> None:
    duration = calls.read_wav(call_wav[0])[0].size / calls.RATE  # frames of one channel
    for channel in ("agent", "customer"):
        levels = [e for e in stereo_events if isinstance(e, Level) and e.channel == channel]
        assert abs(len(levels) - duration * 10) <= 1


def test_both_channels_decode_at_the_same_time(model: VoskModel, audio_dir: Path) -> None:
    """One worker thread and recogniser per channel, running side by side.

    How much faster that is than one channel after the other depends on the
    machine's free cores: ``bench/asr.py`` measures the stereo/mono time.
    """
    speech = np.concatenate([calls.librivox(0), calls.noise(1.0), calls.librivox(2)])
    stereo = calls.write_wav(audio_dir / "par-stereo.wav", [speech, speech])
    listener = Listener.from_wav(str(stereo), model=model)
    listener.start()
    events: list[Event] = []
    together = False
    for event in listener.events():
        events.append(event)
        alive = {t.name for t in threading.enumerate()}
        together = together or {"asr:agent", "asr:customer"} <= alive
    assert together, "the two channels' workers never ran at the same time"
    assert {e.channel for e in events if isinstance(e, Utterance) and e.final} == {
        "agent",
        "customer",
    }


def test_a_48_khz_stereo_file_works(model: VoskModel, audio_dir: Path) -> None:
    rate = 48000
    left = np.concatenate(
        [
            calls.noise(0.5, rate),
            calls.speak(calls.AGENT_PHRASES_KO[1], rate=rate),
            calls.noise(1.0, rate),
        ]
    )
    right = np.concatenate(
        [
            calls.noise(1.0, rate),
            calls.speak(calls.AGENT_PHRASES_KO[3], rate=rate),
            calls.noise(1.0, rate),
        ]
    )
    path = calls.write_wav(audio_dir / "48k.wav", [left, right], rate)
    events, _ = listen(path, model)
    finals = {e.channel for e in events if isinstance(e, Utterance) and e.final}
    assert finals == {"agent", "customer"}


def test_realtime_pacing_follows_the_call_clock(model: VoskModel, phrase_wav: Path) -> None:
    """Paced playback is never ahead of the clock, and no event is stamped after it arrives.

    How far behind events arrive is latency, which depends on the machine's load:
    ``bench/asr.py`` measures it.
    """
    clock = CallClock()
    listener = Listener.from_wav(str(phrase_wav), model=model, realtime=True, clock=clock)
    listener.start()
    received = [(event, clock.now()) for event in listener.events()]
    duration = calls.read_wav(phrase_wav)[0].size / calls.RATE
    start = listener.playback_start
    assert start is not None
    assert received[-1][1] - start >= duration - 0.2  # it took the recording's own time
    for event, arrived in received:
        # levels carry their audio's time, utterances the clock's when they were recognised:
        # either way audio is released only once its time has come, so t is never in the future
        assert event.t <= arrived + 0.001, event  # t is rounded to the millisecond
    levels = [e for e, _ in received if isinstance(e, Level)]
    assert levels[-1].t - start >= duration - 0.2


def test_stopping_early_still_flushes_the_phrase_in_progress(
    model: VoskModel, phrase_wav: Path
) -> None:
    listener = Listener.from_wav(str(phrase_wav), model=model, realtime=True)
    listener.start()
    events: list[Event] = []
    for event in listener.events():
        events.append(event)
        # on the recording's own axis: playback starts once the recognisers are warm, which
        # takes longer on a busy machine (stopping by call time alone could stop before speech)
        start = listener.playback_start or 0.0
        if event.t - start >= 3.1:  # inside the first phrase (1.0 s to about 3.6 s)
            listener.stop()
    finals = [e for e in events if isinstance(e, Utterance) and e.final]
    assert len(finals) == 1, f"finals {finals}, dropped {listener.dropped}"
    assert finals[0].end - (listener.playback_start or 0.0) <= 3.5
