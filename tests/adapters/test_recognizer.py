"""Vosk for real (the Korean model from PyPI): streaming mechanics, timing and errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from agent_assist.errors import ModelLoadError
from agent_assist.events import Utterance
from audio.recognizer import ChannelRecognizer, VoskModel, load_model
from tests.support import calls
from tests.support.calls import read_wav


def run(model: VoskModel, audio: np.ndarray, rate: int, *, t0: float = 0.0) -> list[Utterance]:
    rec = ChannelRecognizer(model, channel="agent", rate=rate)
    out: list[Utterance] = []
    step = rate // 10
    for i in range(0, len(audio), step):
        out += rec.accept(audio[i : i + step].tobytes(), t0 + i / rate)
    return out + rec.flush()


@pytest.fixture(scope="module")
def phrases(phrase_wav: Path) -> tuple[np.ndarray, int]:
    return read_wav(phrase_wav)


@pytest.fixture(scope="module")
def events(model: VoskModel, phrases: tuple[np.ndarray, int]) -> list[Utterance]:
    """The two-phrase recording recognised once, at offline speed, from call time 0."""
    return run(model, *phrases)


def test_partials_arrive_before_each_final(
    model: VoskModel, phrases: tuple[np.ndarray, int]
) -> None:
    events = run(model, *phrases)
    finals = [e for e in events if e.final]
    assert len(finals) == 2
    first_final = events.index(finals[0])
    assert any(not e.final for e in events[:first_final])
    assert all(e.text for e in events)


def test_partials_are_sent_only_when_their_text_changes(events: list[Utterance]) -> None:
    partial_texts = [e.text for e in events if not e.final]
    assert all(a != b for a, b in itertools.pairwise(partial_texts))


def test_word_times_are_monotonic_and_inside_the_audio(
    events: list[Utterance], phrases: tuple[np.ndarray, int]
) -> None:
    audio, rate = phrases
    duration = len(audio) / rate
    for final in (e for e in events if e.final):
        assert final.words
        times = [x for w in final.words for x in (w.start, w.end)]
        assert times == sorted(times)
        assert 0.0 <= final.start <= final.end <= duration
        assert (final.start, final.end) == (final.words[0].start, final.words[-1].end)
        assert all(0.0 <= w.conf <= 1.0 for w in final.words)


def test_speech_is_found_where_it_was_spoken(
    model: VoskModel, phrases: tuple[np.ndarray, int]
) -> None:
    first_phrase_end = 1.0 + len(calls.speak(calls.AGENT_PHRASES_KO[0])) / calls.RATE
    first, second = (e for e in run(model, *phrases) if e.final)
    assert 0.9 <= first.start < 1.6
    assert first.end <= first_phrase_end + 0.2
    assert second.start >= first_phrase_end + 1.5


def test_call_time_offset_is_applied(
    model: VoskModel, phrases: tuple[np.ndarray, int], events: list[Utterance]
) -> None:
    plain = [e for e in events if e.final]
    shifted = [e for e in run(model, *phrases, t0=100.0) if e.final]
    # Vosk's own word times vary by about 10 ms between identical runs
    offsets = [s.start - p.start for p, s in zip(plain, shifted, strict=True)]
    assert offsets == pytest.approx([100.0, 100.0], abs=0.05)


def test_a_gap_in_the_audio_is_reflected_in_word_times(
    model: VoskModel, phrases: tuple[np.ndarray, int]
) -> None:
    """Chunks after a 30 s gap (e.g. dropped audio) keep their own call times."""
    audio, rate = phrases
    rec = ChannelRecognizer(model, channel="agent", rate=rate)
    split = int(4.0 * rate)  # between the two phrases
    out: list[Utterance] = []
    for i in range(0, len(audio), rate // 10):
        t = i / rate + (30.0 if i >= split else 0.0)
        out += rec.accept(audio[i : i + rate // 10].tobytes(), t)
    out += rec.flush()
    second = [e for e in out if e.final][1]
    assert second.start > 34.0


def test_silence_gives_no_utterance(model: VoskModel) -> None:
    assert run(model, calls.noise(5.0), 16000) == []
    assert run(model, np.zeros(16000 * 3, dtype=np.int16), 16000) == []


@pytest.mark.parametrize("rate", [44100, 48000])
def test_device_rates_are_recognised_like_16_khz(model: VoskModel, rate: int) -> None:
    audio = np.concatenate(
        [
            calls.noise(0.8, rate),
            calls.speak(calls.AGENT_PHRASES_KO[0], rate=rate),
            calls.noise(1.0, rate),
        ]
    )
    finals = [e for e in run(model, audio, rate) if e.final]
    reference = [
        e
        for e in run(
            model,
            np.concatenate(
                [calls.noise(0.8), calls.speak(calls.AGENT_PHRASES_KO[0]), calls.noise(1.0)]
            ),
            16000,
        )
        if e.final
    ]
    assert len(finals) == 1
    # The words' timing must not shift with the rate. Compare the phrase's end and its last
    # word: the first word is not stable, because the same audio can decode with or without a
    # leading filler word depending on what the shared model decoded before in this process.
    final, ref = finals[0], reference[0]
    assert abs(final.end - ref.end) < 0.25
    assert final.words is not None
    assert ref.words is not None
    assert abs(final.words[-1].start - ref.words[-1].start) < 0.25
    speech_starts = 0.8  # after the leading hiss
    assert speech_starts - 0.25 <= final.start <= speech_starts + 0.6


def test_live_mode_stamps_events_with_the_clock(
    model: VoskModel, phrases: tuple[np.ndarray, int]
) -> None:
    audio, rate = phrases
    rec = ChannelRecognizer(model, channel="customer", rate=rate, now=lambda: 1234.5)
    out = []
    for i in range(0, len(audio), rate // 10):
        out += rec.accept(audio[i : i + rate // 10].tobytes(), i / rate)
    assert out
    assert {e.t for e in out} == {1234.5}
    assert {e.channel for e in out} == {"customer"}


def test_partials_are_bounded_by_the_speech_onset(
    model: VoskModel, phrases: tuple[np.ndarray, int]
) -> None:
    audio, rate = phrases
    rec = ChannelRecognizer(model, channel="agent", rate=rate)
    partials = []
    for i in range(0, len(audio), rate // 10):
        onset = 1.0 if i / rate >= 1.0 else None
        partials += [
            e
            for e in rec.accept(audio[i : i + rate // 10].tobytes(), i / rate, onset=onset)
            if not e.final
        ]
    assert partials[0].start == 1.0
    assert all(p.end >= p.start for p in partials)


def test_loading_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    with pytest.raises(ModelLoadError, match="could not load the model"):
        load_model(tmp_path)
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "missing")


def test_vocabulary_lookup(model: VoskModel) -> None:
    assert model.knows_word("안녕")
    assert not model.knows_word("hello")
