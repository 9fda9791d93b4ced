"""Audio chunks and the bounded queue that carries them from a source to a worker.

The live audio callback must never block: :meth:`ChunkQueue.put_nowait` drops
the *oldest* chunk when the queue is full and counts it. File sources use the
blocking :meth:`ChunkQueue.put` instead, so nothing is ever dropped from a file.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["END", "Chunk", "ChunkQueue", "Gap", "Item"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Interleaved signed 16-bit PCM. ``t_start`` is the call time of its first frame (s)."""

    t_start: float
    data: bytes
    rate: int
    channels: int

    @property
    def frames(self) -> int:
        """Frames (samples per channel) in ``data``."""
        return len(self.data) // (2 * self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate


@dataclass(frozen=True, slots=True)
class Gap:
    """Audio stopped (device lost or reopened): finish the current utterance."""

    t: float


class _End:
    def __repr__(self) -> str:
        return "END"


END = _End()
"""The source is finished; the worker flushes and stops."""

Item = Chunk | Gap | _End


class ChunkQueue:
    """A bounded FIFO of chunks plus control markers (markers are never dropped).

    ``dropped`` counts chunks discarded by :meth:`put_nowait` because the
    consumer fell behind; ``dropped_seconds`` is the audio they held.
    """

    def __init__(self, *, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.dropped = 0
        self.dropped_seconds = 0.0
        self._items: deque[Item] = deque()
        self._chunks = 0
        self._cond = threading.Condition()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put_nowait(self, chunk: Chunk) -> None:
        """Append ``chunk`` without ever blocking, dropping the oldest chunk if full."""
        with self._cond:
            if self._chunks >= self.capacity:
                self._drop_oldest_chunk()
            self._items.append(chunk)
            self._chunks += 1
            self._cond.notify()

    def put(self, item: Item, *, timeout: float | None = None) -> bool:
        """Append ``item``, waiting for room if it is a chunk; False on timeout.

        Markers (:class:`Gap`, ``END``) are appended at once, even when full.
        """
        with self._cond:
            if isinstance(item, Chunk):
                if not self._cond.wait_for(lambda: self._chunks < self.capacity, timeout):
                    return False
                self._chunks += 1
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, *, timeout: float | None = None) -> Item | None:
        """Remove and return the oldest item, or None if none arrives within ``timeout`` s."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._items), timeout):
                return None
            item = self._items.popleft()
            if isinstance(item, Chunk):
                self._chunks -= 1
                self._cond.notify_all()
            return item

    def _drop_oldest_chunk(self) -> None:
        for index, item in enumerate(self._items):
            if isinstance(item, Chunk):
                del self._items[index]
                self._chunks -= 1
                self.dropped += 1
                self.dropped_seconds += item.duration
                return
