"""Listening to a call: sources -> one worker per channel -> a single event stream.

A :class:`Listener` owns the sources (a WAV file or live devices), one
:class:`ChannelWorker` thread per call channel (levels + a Vosk recogniser that
shares one model), and an output queue. :meth:`Listener.events` yields the
events on the caller's thread; from a file read at full speed they come out
ordered by ``t`` (a watermark merge of the channels), live they come as they
happen.

Stopping (Ctrl-C) is orderly: sources stop, workers flush their final results,
and :meth:`Listener.events` keeps yielding until every worker is done.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent_assist.clock import CallClock
from agent_assist.events import Channel, ErrorEvent, Event
from agent_assist.merge import OrderedMerge
from audio.capture import CaptureStream, open_rate
from audio.chunks import END, Chunk, ChunkQueue, Gap
from audio.devices import InputDevice
from audio.levels import LevelMeter
from audio.recognizer import ChannelRecognizer, VoskModel
from audio.wavfile import WavReader, WavSource

__all__ = ["QUEUE_SECONDS", "ChannelWorker", "Listener"]

QUEUE_SECONDS = 10.0
"""Audio a worker may fall behind by before the oldest chunks are dropped (live only)."""

_DONE = object()


@dataclass(frozen=True, slots=True)
class _Route:
    channel: Channel
    pick: int | None  # index of this channel in interleaved frames; None = mix all down


class ChannelWorker:
    """Turns one channel's chunks into ``level`` and ``utterance`` events on its own thread."""

    def __init__(
        self,
        *,
        route: _Route,
        source: ChunkQueue,
        model: VoskModel,
        emit: Callable[[Event], None],
        now: Callable[[], float] | None,
        on_done: Callable[[], None],
        rate: int | None = None,
    ) -> None:
        self.channel = route.channel
        self.ready = threading.Event()  # set once the recogniser is warm (or cannot be)
        self._rate_hint = rate
        self.queue = source
        self._pick = route.pick
        self._model = model
        self._emit = emit
        self._now = now
        self._on_done = on_done
        self._meter: LevelMeter | None = None
        self._rec: ChannelRecognizer | None = None
        self._in_speech = False
        self._onset: float | None = None  # call time the latest stretch of speech began
        self._audio_t = 0.0  # call time at the end of the audio processed so far
        self._failed = False
        self.thread = threading.Thread(target=self._run, name=f"asr:{route.channel}", daemon=True)

    def _prepare(self, rate: int) -> None:
        self._meter = LevelMeter(channel=self.channel, rate=rate)
        self._rec = ChannelRecognizer(self._model, channel=self.channel, rate=rate, now=self._now)
        self._rec.warm_up()

    def _run(self) -> None:
        try:
            if self._rate_hint is not None:
                self._prepare(self._rate_hint)
        except Exception as exc:
            self._report(exc)
        finally:
            self.ready.set()
        try:
            while True:
                item = self.queue.get()
                if item is END:
                    self._flush()
                    return
                if isinstance(item, Gap):
                    self._flush()
                    if self._meter is not None:
                        self._meter.reset()
                    if self._rec is not None:
                        self._rec.warm_up()  # ready for when the device comes back
                    self._in_speech, self._onset = False, None
                elif isinstance(item, Chunk):
                    self._process(item)
        finally:
            self._on_done()

    def _mono(self, chunk: Chunk) -> npt.NDArray[np.int16]:
        samples = np.frombuffer(chunk.data, dtype=np.int16)
        if chunk.channels == 1:
            return samples
        frames = samples.reshape(-1, chunk.channels)
        if self._pick is not None:
            return np.ascontiguousarray(frames[:, self._pick])
        return np.asarray(frames.mean(axis=1), dtype=np.int16)

    def _process(self, chunk: Chunk) -> None:
        if self._rec is None or self._rec.rate != chunk.rate:
            self._flush()
            self._prepare(chunk.rate)
        assert self._meter is not None
        assert self._rec is not None
        mono = self._mono(chunk)
        self._audio_t = chunk.t_start + chunk.duration
        for level in self._meter.feed(mono, chunk.t_start):
            if level.speech and not self._in_speech:
                self._onset = round(level.t - self._meter.interval, 3)
            self._in_speech = level.speech
            self._emit(level)
        try:
            utterances = self._rec.accept(mono.tobytes(), chunk.t_start, onset=self._onset)
        except Exception as exc:  # a recogniser fault must not end the call's listening
            self._report(exc)
            self._rec = None
            return
        for utterance in utterances:
            self._emit(utterance)

    def _flush(self) -> None:
        if self._rec is None:
            return
        try:
            for utterance in self._rec.flush():
                self._emit(utterance)
        except Exception as exc:
            self._report(exc)

    def _report(self, exc: Exception) -> None:
        if not self._failed:  # one message per channel is enough
            self._failed = True
            message = f"speech recognition failed on the {self.channel} channel: {exc}"
            self._emit(
                ErrorEvent(
                    t=round(self._now() if self._now else self._audio_t, 3),
                    code="recognizer_failed",
                    message=message,
                    channel=self.channel,
                )
            )


class Listener:
    """One listening session. Build it with :meth:`from_wav` or :meth:`from_devices`."""

    def __init__(self, *, model: VoskModel, clock: CallClock, ordered: bool) -> None:
        self.model = model
        self.clock = clock
        self._ordered = ordered
        self._out: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._workers: list[ChannelWorker] = []
        self._captures: list[CaptureStream] = []
        self._wav: WavSource | None = None
        self._running: set[str] = set()
        self._merge: OrderedMerge | None = None

    # -- construction --------------------------------------------------------

    @classmethod
    def from_wav(
        cls, path: str, *, model: VoskModel, realtime: bool = False, clock: CallClock | None = None
    ) -> Listener:
        """Listen to a WAV file: mono = agent; stereo = agent (left) + customer (right)."""
        reader = WavReader(path)
        listener = cls(model=model, clock=clock or CallClock(), ordered=not realtime)
        routes = [_Route("agent", 0 if reader.channels > 1 else None)]
        if reader.channels > 1:
            routes.append(_Route("customer", 1))
        # a file never drops: the reader waits for the workers instead
        queues = [
            listener._add_worker(r, capacity=8, live=realtime, rate=reader.rate) for r in routes
        ]
        listener._wav = WavSource(reader, queues=queues, realtime=realtime, now=listener.clock.now)
        return listener

    @classmethod
    def from_devices(
        cls,
        *,
        model: VoskModel,
        agent: InputDevice,
        customer: InputDevice | None = None,
        split_stereo: bool = False,
        clock: CallClock | None = None,
    ) -> Listener:
        """Listen live: the agent's mic, plus the far end from its own device or the right channel."""
        listener = cls(model=model, clock=clock or CallClock(), ordered=False)
        capacity = round(QUEUE_SECONDS / 0.1)
        if split_stereo:
            rate = open_rate(agent)
            queues = [
                listener._add_worker(route, capacity=capacity, live=True, rate=rate)
                for route in (_Route("agent", 0), _Route("customer", 1))
            ]
            listener._add_capture(
                agent, queues, channels=2, rate=rate, report=["agent", "customer"]
            )
            return listener
        sides: tuple[tuple[InputDevice | None, Channel], ...] = (
            (agent, "agent"),
            (customer, "customer"),
        )
        for device, channel in sides:
            if device is None:
                continue
            rate = open_rate(device)
            queue = listener._add_worker(
                _Route(channel, None), capacity=capacity, live=True, rate=rate
            )
            listener._add_capture(device, [queue], channels=1, rate=rate, report=[channel])
        return listener

    def _add_worker(
        self, route: _Route, *, capacity: int, live: bool, rate: int | None = None
    ) -> ChunkQueue:
        source = ChunkQueue(capacity=capacity)
        name = route.channel
        worker = ChannelWorker(
            route=route,
            source=source,
            model=self.model,
            emit=lambda event, name=name: self._out.put((name, event)),  # type: ignore[misc]
            now=self.clock.now if live else None,
            on_done=lambda name=name: self._out.put((name, _DONE)),  # type: ignore[misc]
            rate=rate,
        )
        self._workers.append(worker)
        return source

    def _add_capture(
        self,
        device: InputDevice,
        queues: list[ChunkQueue],
        *,
        channels: int,
        rate: int,
        report: Sequence[Channel],
    ) -> None:
        self._captures.append(
            CaptureStream(
                device,
                queues=queues,
                channels=channels,
                rate=rate,
                clock=self.clock,
                on_event=lambda event: self._out.put(("capture", event)),
                report_channels=report,
            )
        )

    # -- running ---------------------------------------------------------------

    @property
    def channels(self) -> list[Channel]:
        """The channels listened to: ``agent``, then ``customer`` when there is one."""
        return [w.channel for w in self._workers]

    @property
    def playback_start(self) -> float | None:
        """Call time (s) a file's playback began: its audio time 0 (None before, or live)."""
        return self._wav.playback_start if self._wav is not None else None

    @property
    def dropped(self) -> dict[Channel, int]:
        """Chunks dropped per channel because its worker fell behind (should stay 0)."""
        return {w.channel: w.queue.dropped for w in self._workers}

    def inject(self, event: Event) -> None:
        """Add an event from another source (e.g. the CTI bridge) to the stream. Thread-safe."""
        self._out.put(("external", event))

    def start(self) -> None:
        """Start workers, then sources. Raises DeviceError if a device cannot be opened."""
        self._running = {w.channel for w in self._workers}
        if self._ordered:
            self._merge = OrderedMerge(self._running)
        for worker in self._workers:
            worker.thread.start()
        for worker in self._workers:  # recognisers warm up in parallel before any audio flows
            worker.ready.wait(timeout=30)
        try:
            for capture in self._captures:
                capture.start()
        except Exception:
            self.stop()
            raise
        if self._wav is not None:
            self._wav.start()

    def stop(self) -> None:
        """Ask the sources to stop; workers then flush and finish. Safe to call twice."""
        if self._wav is not None:
            self._wav.stop()
        for capture in self._captures:
            capture.stop()
        for capture in self._captures:
            capture.join(timeout=5)
        for worker in self._workers:
            worker.queue.put(END)

    def events(self) -> Iterator[Event]:
        """Yield events until every worker has finished (call :meth:`start` first).

        Safe to call again after an interruption: it resumes where it stopped.
        """
        while self._running:
            try:
                source, item = self._out.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _DONE:
                self._running.discard(source)
                yield from self._merge.close(source) if self._merge else ()
                continue
            event: Event = item  # type: ignore[assignment]
            if self._merge is None or source not in self._running:
                yield event
            else:
                yield from self._merge.push(source, event)
        while True:  # anything a capture thread said after the workers finished
            try:
                _, item = self._out.get_nowait()
            except queue.Empty:
                return
            if item is not _DONE:
                yield item  # type: ignore[misc]
