"""The bounded queue between the audio callback and a recognition worker."""

from __future__ import annotations

import threading

from audio.chunks import END, Chunk, ChunkQueue, Gap


def chunk(t: float, frames: int = 1600) -> Chunk:
    return Chunk(t_start=t, data=bytes(2 * frames), rate=16000, channels=1)


def test_a_full_queue_drops_the_oldest_chunk_and_counts_it() -> None:
    q = ChunkQueue(capacity=2)
    for t in (0.0, 0.1, 0.2):
        q.put_nowait(chunk(t))
    assert q.dropped == 1
    assert abs(q.dropped_seconds - 0.1) < 1e-9
    assert [q.get(timeout=0).t_start for _ in range(2)] == [0.1, 0.2]  # type: ignore[union-attr]


def test_markers_are_never_dropped() -> None:
    q = ChunkQueue(capacity=1)
    q.put(Gap(0.5))
    q.put_nowait(chunk(0.0))
    q.put_nowait(chunk(0.1))
    q.put(END)
    assert [q.get(timeout=0) for _ in range(3)] == [Gap(0.5), chunk(0.1), END]
    assert q.dropped == 1


def test_put_nowait_never_blocks_even_when_nobody_reads() -> None:
    q = ChunkQueue(capacity=3)

    def fill() -> None:
        for i in range(1000):
            q.put_nowait(chunk(i / 10))

    filler = threading.Thread(target=fill, daemon=True)
    filler.start()
    filler.join(timeout=30)  # a deadline for finishing, not a speed target: blocking never ends
    assert not filler.is_alive(), "put_nowait blocked on a full queue"
    assert len(q) == 3
    assert q.dropped == 997


def test_blocking_put_waits_for_room_and_times_out() -> None:
    q = ChunkQueue(capacity=1)
    assert q.put(chunk(0.0), timeout=0)
    assert not q.put(chunk(0.1), timeout=0.05)
    threading.Timer(0.05, q.get).start()
    assert q.put(chunk(0.2), timeout=2.0)
    assert q.dropped == 0


def test_get_returns_none_after_its_timeout() -> None:
    assert ChunkQueue(capacity=1).get(timeout=0.01) is None


def test_chunk_duration_counts_frames_of_all_channels() -> None:
    stereo = Chunk(t_start=0.0, data=bytes(4 * 4800), rate=48000, channels=2)
    assert stereo.frames == 4800
    assert stereo.duration == 0.1
