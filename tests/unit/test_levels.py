"""Loudness in dBFS and speech activity, about ten level events a second."""

from __future__ import annotations

import numpy as np
import pytest

from audio.levels import FLOOR_DBFS, LevelMeter, dbfs

RATE = 16000


def tone(seconds: float, amplitude: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def hiss(seconds: float, level: float = 30.0) -> np.ndarray:
    return np.random.default_rng(0).normal(0, level, round(seconds * RATE)).astype(np.int16)


def test_full_scale_sine_is_minus_three_dbfs() -> None:
    assert dbfs(tone(1.0, 1.0)) == pytest.approx(-3.01, abs=0.05)


def test_halving_the_amplitude_is_six_db_quieter() -> None:
    assert dbfs(tone(1.0, 0.5)) - dbfs(tone(1.0, 1.0)) == pytest.approx(-6.02, abs=0.05)


def test_digital_silence_is_the_floor() -> None:
    assert dbfs(np.zeros(1600, dtype=np.int16)) == FLOOR_DBFS
    assert dbfs(np.zeros(0, dtype=np.int16)) == FLOOR_DBFS


def test_one_event_per_tenth_of_a_second_stamped_at_window_end() -> None:
    meter = LevelMeter(channel="customer", rate=RATE)
    events = []
    audio = hiss(1.0)
    for start in range(0, len(audio), 512):  # odd-sized blocks, as devices deliver them
        events += meter.feed(audio[start : start + 512], t_start=5.0 + start / RATE)
    assert len(events) == 10
    assert [e.t for e in events] == pytest.approx([5.1 + i / 10 for i in range(10)])
    assert {e.channel for e in events} == {"customer"}


def test_speech_is_loudness_well_above_the_noise_floor() -> None:
    meter = LevelMeter(channel="agent", rate=RATE)
    quiet = meter.feed(hiss(2.0), t_start=0.0)
    loud = meter.feed(tone(1.0, 0.3), t_start=2.0)
    assert not any(e.speech for e in quiet)
    assert all(e.speech for e in loud)
    assert meter.noise_floor is not None
    assert meter.noise_floor < -55


def test_speech_is_held_briefly_across_the_gaps_between_words() -> None:
    meter = LevelMeter(channel="agent", rate=RATE, hangover=0.3)
    meter.feed(hiss(1.0), t_start=0.0)
    meter.feed(tone(0.5, 0.3), t_start=1.0)
    after = meter.feed(hiss(1.0), t_start=1.5)
    assert [e.speech for e in after[:5]] == [True, True, True, False, False]


def test_a_quiet_room_is_not_speech_however_long_it_lasts() -> None:
    meter = LevelMeter(channel="agent", rate=RATE)
    events = meter.feed(hiss(30.0, level=200.0), t_start=0.0)
    assert not any(e.speech for e in events)
