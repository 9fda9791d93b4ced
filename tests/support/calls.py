"""Real speech audio for tests and benchmarks, built from Debian's packages.

* ``espeak-ng`` synthesises phrases (Korean phrases give the Korean test model
  something it can really recognise; English ones exercise the mechanics).
* ``pocketsphinx-testdata`` ships real recorded English read speech (LibriVox).

Calls are written as stereo WAVs: agent on the left, customer on the right,
taking turns, with quiet background noise (digital silence is not how a
headset sounds, and recognisers endpoint differently on it).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
RATE = 16000

AGENT_PHRASES_KO = (
    "안녕하세요 무엇을 도와드릴까요",
    "잠시만 기다려 주세요 확인해 보겠습니다",
    "카드가 아직 도착하지 않았습니다",
    "감사합니다 좋은 하루 되세요",
    "계좌 번호를 말씀해 주시겠어요",
    "네 알겠습니다 바로 처리해 드리겠습니다",
)


def have_tools() -> bool:
    return bool(shutil.which("espeak-ng")) and LIBRIVOX.is_dir()


@functools.cache
def speak(text: str, voice: str = "ko", rate: int = RATE) -> np.ndarray:
    """``text`` spoken by espeak-ng as int16 mono at ``rate`` Hz."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True
    ).stdout
    return _resample(*_wav_bytes_to_array(wav), rate)


def librivox(index: int, rate: int = RATE) -> np.ndarray:
    """The ``index``-th LibriVox recording (0-4) as int16 mono at ``rate`` Hz."""
    path = sorted(LIBRIVOX.glob("*.wav"))[index]
    return _resample(*read_wav(path), rate)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels())[:, 0].copy()
        return data, w.getframerate()


def _wav_bytes_to_array(wav: bytes) -> tuple[np.ndarray, int]:
    # espeak-ng --stdout writes a streaming header (sizes unknown): read the body directly
    rate = int.from_bytes(wav[24:28], "little")
    body = wav[44:]
    return np.frombuffer(body[: len(body) // 2 * 2], dtype=np.int16), rate


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst:
        return x
    n = round(len(x) * dst / src)
    t = np.linspace(0, len(x) - 1, n)
    # linear interpolation is plenty for test speech fed to a 16 kHz recogniser
    return np.interp(t, np.arange(len(x)), x.astype(np.float64)).astype(np.int16)


def noise(seconds: float, rate: int = RATE, level: float = 30.0, seed: int = 0) -> np.ndarray:
    """Quiet background hiss (about -60 dBFS)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, level, round(seconds * rate)).astype(np.int16)


def write_wav(path: Path, channels: list[np.ndarray], rate: int = RATE) -> Path:
    """Write int16 channels (padded to equal length) as one WAV."""
    length = max(len(c) for c in channels)
    padded = [np.pad(c, (0, length - len(c))) for c in channels]
    frames = np.stack(padded, axis=1).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return path


@dataclass(frozen=True)
class Turn:
    channel: str  # "agent" | "customer"
    start: float  # s
    end: float  # s
    source: str


def build_call(
    path: Path, *, min_seconds: float = 60.0, rate: int = RATE, pause: float = 1.5
) -> list[Turn]:
    """Write a stereo call (agent left, customer right) of at least ``min_seconds``.

    The agent speaks Korean espeak-ng phrases, the customer real LibriVox
    recordings, in alternating turns. Returns the turns with their times.
    """
    left: list[np.ndarray] = [noise(pause, rate, seed=1)]
    right: list[np.ndarray] = [noise(pause, rate, seed=2)]
    turns: list[Turn] = []
    t = pause
    i = 0
    while t < min_seconds:
        if i % 2 == 0:
            speech = speak(AGENT_PHRASES_KO[(i // 2) % len(AGENT_PHRASES_KO)], "ko", rate)
            channel, source = "agent", "espeak-ng"
        else:
            speech = librivox((i // 2) % 5, rate)
            channel, source = "customer", "librivox"
        quiet = noise(len(speech) / rate, rate, seed=i + 10)
        mixed = np.clip(
            speech.astype(np.int32) + noise(len(speech) / rate, rate, seed=i + 50), -32768, 32767
        ).astype(np.int16)
        (left if channel == "agent" else right).append(mixed)
        (right if channel == "agent" else left).append(quiet)
        turns.append(Turn(channel, round(t, 3), round(t + len(speech) / rate, 3), source))
        t += len(speech) / rate
        gap = noise(pause, rate, seed=i + 100)
        left.append(gap)
        right.append(gap)
        t += pause
        i += 1
    write_wav(path, [np.concatenate(left), np.concatenate(right)], rate)
    return turns
