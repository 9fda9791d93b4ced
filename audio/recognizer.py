"""Vosk speech recognition for one channel -> ``utterance`` events on the call clock.

One :class:`VoskModel` is loaded once and shared; each channel gets its own
:class:`ChannelRecognizer` (a Kaldi recogniser is not thread-safe, a model is).

Partials carry no word timings: asking Vosk for them (``SetPartialWords``)
makes it refresh partials several times less often, and partials are what
fast coaching acts on. A partial's ``start`` is the speech onset the caller
saw (from the level meter), its ``end`` the audio fed so far.

Timing: Vosk reports word times in seconds of audio fed to the recogniser.
Audio may have gaps (a dropped chunk, a device that came back), so every chunk
fed is remembered with its call time and Vosk's times are mapped back through
those anchors rather than assumed to be contiguous.
"""

from __future__ import annotations

import array
import bisect
import json
import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent_assist.errors import ModelLoadError
from agent_assist.events import Channel, Utterance, Word

__all__ = ["ChannelRecognizer", "VoskModel", "load_model"]


class VoskModel:
    """A loaded Vosk model (wraps ``vosk.Model``; share one across channels)."""

    def __init__(self, handle: Any, *, path: Path) -> None:
        self.handle = handle
        self.path = path

    def knows_word(self, word: str) -> bool:
        """True if ``word`` is in the model's vocabulary (so it can ever be recognised)."""
        return bool(self.handle.vosk_model_find_word(word) >= 0)


def _vosk() -> Any:
    import vosk

    vosk.SetLogLevel(-1)  # Kaldi logs to stderr otherwise, line by line
    return vosk


def load_model(path: str | os.PathLike[str]) -> VoskModel:
    """Load the Vosk model in folder ``path``; raises ModelLoadError if Vosk refuses it."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelLoadError(f"model folder {folder} does not exist")
    vosk = _vosk()
    try:
        handle = vosk.Model(str(folder))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelLoadError(
            f"Vosk could not load the model in {folder} ({exc}); "
            "reinstall it with: agent-assist models install NAME"
        ) from None
    return VoskModel(handle, path=folder)


class ChannelRecognizer:
    """Feeds one channel's 16-bit mono PCM to Vosk and returns utterance events.

    Partials are returned only when their text changes; a final is returned when
    Vosk detects the end of a phrase, or on :meth:`flush`. Empty results (silence)
    produce nothing.

    Args:
        model: the shared model.
        channel: which side of the call this is.
        rate: sample rate of the PCM in Hz (Vosk resamples internally).
        now: returns the call time in seconds for stamping ``t``; when None,
            ``t`` is the audio time of the end of the chunk just fed (offline files).
        grammar: optional list of phrases to limit recognition to (small models only).
    """

    def __init__(
        self,
        model: VoskModel,
        *,
        channel: Channel,
        rate: int,
        now: Callable[[], float] | None = None,
        grammar: Sequence[str] | None = None,
    ) -> None:
        self.channel: Channel = channel
        self.rate = rate
        self._model = model
        self._now = now
        self._grammar = json.dumps(list(grammar), ensure_ascii=False) if grammar else None
        self._rec: Any = None
        self._fed = 0  # samples fed to the current Kaldi recogniser
        self._anchor_samples: list[int] = []
        self._anchor_times: list[float] = []
        self._last_partial = ""
        self._audio_end = 0.0
        self._phrase_start: float | None = None  # call time the current Vosk phrase began
        self._onset: float | None = None

    def _new_recognizer(self) -> Any:
        vosk = _vosk()
        args = (self._model.handle, float(self.rate))
        rec = (
            vosk.KaldiRecognizer(*args, self._grammar)
            if self._grammar
            else vosk.KaldiRecognizer(*args)
        )
        rec.SetWords(True)
        return rec

    def warm_up(self, seconds: float = 1.0) -> None:
        """Prime a fresh Kaldi recogniser on quiet noise before the call's audio.

        A new recogniser spends about half a second inside its first calls
        (measured with the small models); doing that here keeps the call's first
        second from stalling the worker. Vosk's clock keeps counting through the
        warm-up, and so does ours, so word times stay right.
        """
        if self._rec is None:
            self._rec = self._new_recognizer()
            self._fed = 0
        rng = random.Random(0)
        samples = round(self.rate * seconds)
        hiss = array.array("h", (int(rng.gauss(0.0, 30.0)) for _ in range(samples))).tobytes()
        self._rec.AcceptWaveform(hiss)
        self._rec.FinalResult()
        self._fed += samples

    def accept(self, pcm: bytes, t_start: float, *, onset: float | None = None) -> list[Utterance]:
        """Feed mono int16 ``pcm`` whose first sample is at call time ``t_start``.

        ``onset`` is when the current stretch of speech began (call seconds), if
        the caller knows; it bounds partial results, which have no word times.
        """
        if self._rec is None:
            self._rec = self._new_recognizer()
            self._fed = 0
        if not self._anchor_times or self._phrase_start is None:
            self._phrase_start = t_start
        if onset is not None and self._onset is None and onset >= self._phrase_start:
            self._onset = onset  # the first speech of this phrase
        self._anchor_samples.append(self._fed)
        self._anchor_times.append(t_start)
        samples = len(pcm) // 2
        self._fed += samples
        self._audio_end = t_start + samples / self.rate
        if self._rec.AcceptWaveform(pcm):
            return self._final(self._rec.Result())
        return self._partial(self._rec.PartialResult())

    def flush(self) -> list[Utterance]:
        """End the current phrase (end of stream, or a gap in the audio) and return its final."""
        if self._rec is None:
            return []
        result = self._final(self._rec.FinalResult())
        self._rec = None  # a fresh recogniser restarts its clock at zero
        self._anchor_samples.clear()
        self._anchor_times.clear()
        return result

    # -- internals ---------------------------------------------------------

    def _stamp(self) -> float:
        return round(self._now() if self._now is not None else self._audio_end, 3)

    def _call_time(self, vosk_seconds: float) -> float:
        """Map a time in Vosk's stream seconds to call seconds through the anchors."""
        sample = vosk_seconds * self.rate
        i = max(0, bisect.bisect_right(self._anchor_samples, sample) - 1)
        return round(self._anchor_times[i] + (sample - self._anchor_samples[i]) / self.rate, 3)

    def _words(self, raw: list[dict[str, Any]]) -> tuple[Word, ...]:
        return tuple(
            Word(
                word=str(w["word"]),
                start=self._call_time(float(w["start"])),
                end=self._call_time(float(w["end"])),
                conf=round(float(w.get("conf", 1.0)), 3),
            )
            for w in raw
        )

    def _utterance(self, text: str, raw_words: list[dict[str, Any]], *, final: bool) -> Utterance:
        words = self._words(raw_words)
        if words:
            start, end = words[0].start, words[-1].end
        else:  # a partial: from the speech onset (or phrase start) to the audio so far
            begin = self._onset if self._onset is not None else self._phrase_start
            start = round(begin if begin is not None else self._audio_end, 3)
            end = round(self._audio_end, 3)
        return Utterance(
            t=self._stamp(),
            channel=self.channel,
            final=final,
            text=text,
            start=start,
            end=end,
            words=words or None,
        )

    def _partial(self, payload: str) -> list[Utterance]:
        data = json.loads(payload)
        text = str(data.get("partial", "")).strip()
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        return [self._utterance(text, data.get("partial_result", []), final=False)]

    def _final(self, payload: str) -> list[Utterance]:
        data = json.loads(payload)
        self._last_partial = ""
        text = str(data.get("text", "")).strip()
        out = [self._utterance(text, data.get("result", []), final=True)] if text else []
        self._prune()
        self._phrase_start = self._audio_end
        self._onset = None
        return out

    def _prune(self) -> None:
        """Forget anchors no future word can refer to (all but the last one)."""
        if len(self._anchor_samples) > 1:
            del self._anchor_samples[:-1]
            del self._anchor_times[:-1]
