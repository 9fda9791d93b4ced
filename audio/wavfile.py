"""WAV files as an audio source: read as fast as possible, or paced like a live call.

:class:`WavReader` streams 8/16/24/32-bit integer or 32/64-bit float PCM (plain
or WAVE_FORMAT_EXTENSIBLE) and hands out interleaved int16 frames, so a long
recording never has to fit in memory. A mono file is the agent's side; a stereo
file is agent (left) and customer (right).
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from agent_assist.errors import AudioFormatError
from audio.chunks import END, Chunk, ChunkQueue

__all__ = ["WavReader", "WavSource"]

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_SUBFORMAT_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


class WavReader:
    """Streams a WAV file as interleaved int16 frames.

    Attributes: ``rate`` (Hz), ``channels``, ``frames`` (per channel), ``duration`` (s).
    Raises AudioFormatError with the file name for anything it cannot decode.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._file: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise AudioFormatError(f"cannot open {self.path}: {exc.strerror}") from None
        try:
            self._parse_header()
        except AudioFormatError:
            self._file.close()
            raise
        self._remaining = self._data_size

    def _fail(self, why: str) -> AudioFormatError:
        return AudioFormatError(
            f"{self.path} is not a WAV file we can read ({why}); "
            f"convert it with: sox '{self.path}' -r 16000 -b 16 out.wav"
        )

    def _parse_header(self) -> None:
        riff = self._file.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            raise self._fail("no RIFF/WAVE header")
        fmt: bytes | None = None
        while True:
            header = self._file.read(8)
            if len(header) < 8:
                raise self._fail("no audio data chunk")
            chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"fmt ":
                fmt = self._file.read(size + (size & 1))
            elif chunk_id == b"data":
                if fmt is None:
                    raise self._fail("data before format")
                self._data_size = size
                break
            else:
                self._file.seek(size + (size & 1), os.SEEK_CUR)
        if fmt is None or len(fmt) < 16:
            raise self._fail("short format chunk")
        tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == _EXTENSIBLE and len(fmt) >= 40 and fmt[26:40] == _SUBFORMAT_TAIL:
            tag = struct.unpack("<H", fmt[24:26])[0]
        valid = (tag == _PCM and bits in (8, 16, 24, 32)) or (tag == _FLOAT and bits in (32, 64))
        if not valid:
            raise self._fail(f"format {tag:#x} with {bits} bits")
        if channels < 1 or rate < 8000 or block_align != channels * bits // 8:
            raise self._fail(f"{channels} channels at {rate} Hz")
        self.rate, self.channels, self._bits, self._float = rate, channels, bits, tag == _FLOAT
        self._block = block_align
        self.frames = self._data_size // block_align
        self.duration = self.frames / rate

    def read(self, frames: int) -> bytes:
        """Return up to ``frames`` interleaved int16 frames (b"" at the end)."""
        want = min(frames * self._block, self._remaining)
        raw = self._file.read(want - want % self._block)
        self._remaining -= len(raw)
        if not raw:
            return b""
        return _to_int16(raw, bits=self._bits, is_float=self._float).tobytes()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> WavReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_int16(raw: bytes, *, bits: int, is_float: bool) -> np.ndarray:
    if is_float:
        x = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8")
        return np.asarray(np.clip(x * 32768.0, -32768, 32767), dtype=np.int16)
    if bits == 16:
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if bits == 8:  # unsigned
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        return (b[:, 1].astype(np.int16) | (b[:, 2].astype(np.int8).astype(np.int16) << 8)).astype(
            np.int16
        )
    return (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)


class WavSource:
    """Reads a WAV file into chunk queues on its own thread.

    Every queue receives every chunk (workers pick their channel). With
    ``realtime`` the chunks are released at the pace of a live call, each once
    its last frame would have been captured, and ``now`` (call seconds) is the
    clock; otherwise the file is read as fast as the workers take it.
    """

    def __init__(
        self,
        reader: WavReader,
        *,
        queues: Sequence[ChunkQueue],
        chunk_seconds: float = 0.1,
        realtime: bool = False,
        now: Callable[[], float] | None = None,
    ) -> None:
        if realtime and now is None:
            raise ValueError("realtime pacing needs a clock")
        self.reader = reader
        self._queues = list(queues)
        self._frames_per_chunk = max(1, round(reader.rate * chunk_seconds))
        self._realtime = realtime
        self._now = now
        self._stop = threading.Event()
        self.playback_start: float | None = None  # call time the paced playback began (s)
        self._thread = threading.Thread(
            target=self._run, name=f"wav:{reader.path.name}", daemon=True
        )

    def start(self) -> None:
        """Start reading on the source's own thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop early (Ctrl-C); the workers still get END and flush."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` s for the reading thread to end."""
        self._thread.join(timeout)

    def _run(self) -> None:
        rate, frame_index = self.reader.rate, 0
        # paced, the recording starts at the call time playback begins (as live capture would)
        base = self._now() if self._realtime and self._now is not None else 0.0
        self.playback_start = base
        try:
            while not self._stop.is_set():
                data = self.reader.read(self._frames_per_chunk)
                if not data:
                    break
                chunk = Chunk(base + frame_index / rate, data, rate, self.reader.channels)
                frame_index += chunk.frames
                if self._realtime and self._now is not None:
                    delay = base + frame_index / rate - self._now()
                    if delay > 0 and self._stop.wait(delay):
                        break
                for q in self._queues:
                    while not q.put(chunk, timeout=0.2):
                        if self._stop.is_set():
                            break
        finally:
            self.reader.close()
            for q in self._queues:
                q.put(END)
