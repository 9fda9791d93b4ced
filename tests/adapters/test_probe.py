"""The settings dialog's microphone test, on a real PulseAudio null sink."""

from __future__ import annotations

from pathlib import Path

from audio.devices import resolve_device
from audio.probe import probe_levels
from tests.conftest import NullSink


def test_the_level_test_hears_speech_played_into_the_device(
    null_sink: NullSink, phrase_wav: Path
) -> None:
    device = resolve_device(f"pulse:{null_sink.monitor}")
    levels: list[float] = []
    player = null_sink.play(phrase_wav)
    measured = probe_levels(device, seconds=2.0, on_level=levels.append)
    player.wait(timeout=30)
    assert measured == len(levels)
    assert measured >= 10  # about ten blocks a second
    assert max(levels) > -40.0  # speech, not the silence of an idle sink (-100 dBFS)


def test_the_level_test_of_a_silent_device_stays_at_the_floor(null_sink: NullSink) -> None:
    device = resolve_device(f"pulse:{null_sink.monitor}")
    levels: list[float] = []
    probe_levels(device, seconds=1.0, on_level=levels.append)
    assert levels
    assert max(levels) < -60.0
