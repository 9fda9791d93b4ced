"""Reading WAV files of the kinds people actually have."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from agent_assist.errors import AudioFormatError
from audio.chunks import END, ChunkQueue
from audio.wavfile import WavReader, WavSource
from tests.support.calls import write_wav


@pytest.fixture
def ramp_wav(tmp_path: Path) -> Path:
    left = np.arange(-8000, 8000, 4, dtype=np.int16)
    right = -left
    return write_wav(tmp_path / "ramp.wav", [left, right])


def test_reads_16_bit_stereo_frames_interleaved(ramp_wav: Path) -> None:
    with WavReader(ramp_wav) as reader:
        assert (reader.rate, reader.channels, reader.frames) == (16000, 2, 4000)
        frames = np.frombuffer(reader.read(3), dtype=np.int16).reshape(-1, 2)
    assert frames.tolist() == [[-8000, 8000], [-7996, 7996], [-7992, 7992]]


@pytest.mark.parametrize(
    "sox_args", [["-b", "24"], ["-b", "32"], ["-e", "floating-point", "-b", "32"], ["-b", "8"]]
)
def test_converts_other_sample_formats_to_16_bit(
    ramp_wav: Path, tmp_path: Path, sox_args: list[str]
) -> None:
    other = tmp_path / "other.wav"
    subprocess.run(["sox", "-D", str(ramp_wav), *sox_args, str(other)], check=True)
    with WavReader(ramp_wav) as ref, WavReader(other) as reader:
        expected = np.frombuffer(ref.read(4000), dtype=np.int16).astype(int)
        got = np.frombuffer(reader.read(4000), dtype=np.int16).astype(int)
    tolerance = 256 if "8" in sox_args else 1
    assert np.max(np.abs(expected - got)) <= tolerance


def test_wave_format_extensible_is_read(ramp_wav: Path, tmp_path: Path) -> None:
    four = tmp_path / "four.wav"  # sox writes WAVE_FORMAT_EXTENSIBLE for more than 2 channels
    subprocess.run(["sox", "-M", str(ramp_wav), str(ramp_wav), str(four)], check=True)
    with WavReader(four) as reader:
        assert reader.channels == 4
        assert len(reader.read(10)) == 10 * 4 * 2


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "no RIFF/WAVE header"), (b"ID3\x03" + bytes(100), "no RIFF/WAVE header")],
)
def test_non_wav_files_are_refused_with_a_hint(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioFormatError, match=message) as info:
        WavReader(path)
    assert "sox" in str(info.value)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFormatError, match=r"cannot open .*nope\.wav"):
        WavReader(tmp_path / "nope.wav")


def test_source_sends_every_chunk_to_every_queue_then_end(ramp_wav: Path) -> None:
    queues = [ChunkQueue(capacity=100), ChunkQueue(capacity=100)]
    source = WavSource(WavReader(ramp_wav), queues=queues, chunk_seconds=0.1)
    source.start()
    source.join(5)
    for q in queues:
        items = [q.get(timeout=30) for _ in range(4)]
        assert [c.t_start for c in items[:3]] == [0.0, 0.1, 0.2]  # type: ignore[union-attr]
        assert items[3] is END
