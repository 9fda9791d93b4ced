"""A microphone level test for the settings dialog: capture a few seconds, report dBFS."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from agent_assist.clock import CallClock
from audio.capture import CaptureStream
from audio.chunks import Chunk, ChunkQueue
from audio.devices import InputDevice
from audio.levels import dbfs

__all__ = ["probe_levels"]


def probe_levels(
    device: InputDevice,
    *,
    seconds: float,
    on_level: Callable[[float], None],
    stop: threading.Event | None = None,
) -> int:
    """Capture ``seconds`` of audio from ``device``; ``on_level`` gets each block's dBFS.

    Blocks the calling thread (run it on a worker). Returns how many blocks were
    measured; raises :class:`~agent_assist.errors.DeviceError` if the device
    cannot be opened.
    """
    queue = ChunkQueue(capacity=64)
    errors: list[str] = []
    stream = CaptureStream(
        device,
        queues=[queue],
        channels=1,
        clock=CallClock(),
        on_event=lambda event: errors.append(getattr(event, "message", "")),
        report_channels=["agent"],
    )
    stream.start()
    measured, heard = 0, 0.0
    try:
        give_up = time.monotonic() + seconds + 5.0  # opening a device can take a moment
        while heard < seconds and time.monotonic() < give_up:
            if stop is not None and stop.is_set():
                break
            item = queue.get(timeout=0.2)
            if isinstance(item, Chunk):
                on_level(dbfs(np.frombuffer(item.data, dtype=np.int16)))
                measured += 1
                heard += item.duration
    finally:
        stream.stop()
        stream.join(timeout=5)
    return measured
