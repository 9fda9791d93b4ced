"""Live capture from one input device, supervised so that a lost device is never a crash.

Threads: PortAudio's callback only stamps the block with the call time and
appends it to each bounded queue (drop-oldest, counted). A supervisor thread
opens the stream, watches its health, and when the device disappears (a
headset unplugged, a sink unloaded) emits an ``error`` event, tells the workers
there is a gap, and reopens it with back-off once it is back, then emits a
``status`` event saying listening resumed.

Health is judged three ways, because each platform fails differently: PortAudio
stops the stream (ALSA/WASAPI errors); the sound server removes the source
(PulseAudio/PipeWire move our stream elsewhere instead of failing it); or the
callback simply stops arriving (a stall watchdog).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent_assist.clock import CallClock
from agent_assist.errors import AudioError, DeviceError, DeviceNotFoundError
from agent_assist.events import Channel, ErrorEvent, Event, ListenState, Mute, Status
from audio import pulse
from audio.chunks import Chunk, ChunkQueue, Gap
from audio.devices import PULSE_BRIDGE, InputDevice, list_input_devices, portaudio

__all__ = ["CaptureStream", "open_rate"]

# PortAudio is not thread-safe for opening/closing streams, and PULSE_SOURCE is
# process-wide: every open and close happens under this lock.
_OPEN_LOCK = threading.Lock()
_open_streams = 0  # guarded by _OPEN_LOCK
_REANCHOR_S = 0.5  # s of disagreement with the wall clock that resets a block clock
_SLEW = 0.02  # fraction of the disagreement corrected per block


def _rescan_portaudio() -> None:
    """Make PortAudio see devices plugged in since it started (only safe with no open stream)."""
    sd = portaudio()
    with _OPEN_LOCK:
        if _open_streams == 0:
            sd._terminate()
            sd._initialize()


def open_rate(device: InputDevice, *, preferred: int = 16000) -> int:
    """The sample rate to open ``device`` at: 16 kHz if it takes it, else its own rate."""
    if device.backend == "pulse":
        return preferred  # the sound server resamples for free
    sd = portaudio()
    try:
        sd.check_input_settings(
            device=_portaudio_index(device), samplerate=preferred, dtype="int16"
        )
    except Exception:  # PortAudio says no in several ways (ValueError, PortAudioError)
        return device.default_rate
    return preferred


def _portaudio_index(device: InputDevice) -> int:
    return int(device.id.split(":", 1)[1])


class CaptureStream:
    """Captures ``channels`` channels from ``device`` into ``queues`` until stopped.

    Args:
        device: what to capture from.
        queues: every chunk is appended to each of these (one per channel worker).
        channels: channels to open (1, or 2 for a headset split into agent/customer).
        clock: the call clock that stamps chunks.
        on_event: receives ``error``/``status`` events (from the supervisor thread).
        report_channels: the call channels this device feeds (for those events).
        chunk_seconds: callback block length.
        stall_timeout: seconds without audio, once audio has flowed, that count as lost.
        start_timeout: seconds an opened stream may take to deliver its first block.
        backoff: first and longest wait between reopen attempts (s).
    """

    def __init__(
        self,
        device: InputDevice,
        *,
        queues: Sequence[ChunkQueue],
        channels: int,
        clock: CallClock,
        on_event: Callable[[Event], None],
        report_channels: Sequence[Channel],
        rate: int | None = None,
        chunk_seconds: float = 0.1,
        stall_timeout: float = 2.0,
        start_timeout: float = 5.0,
        backoff: tuple[float, float] = (0.5, 5.0),
    ) -> None:
        if channels > device.channels:
            raise DeviceError(f"{device.name} has {device.channels} channel(s), {channels} needed")
        self.device = device
        self.rate = rate or open_rate(device)
        self.channels = channels
        self.overflows = 0  # blocks the driver itself reported as overrun
        self.reopened = 0
        self._queues = list(queues)
        self._clock = clock
        self._on_event = on_event
        self._report = list(report_channels)
        self._blocksize = max(1, round(self.rate * chunk_seconds))
        self._stall_timeout = stall_timeout
        self._start_timeout = start_timeout
        self._backoff = backoff
        self._stop = threading.Event()
        self._changed = threading.Event()  # the sound server's sources changed
        self._accepting = False
        self._last_data = 0.0
        self._next_t: float | None = None  # expected call time of the next block
        self._watcher = (
            pulse.SourceWatcher(self._changed.set) if device.backend == "pulse" else None
        )
        # the agent's own microphone: its OS mute switch is one of the mute sources
        self._reports_mute = (
            device.backend == "pulse" and self._report[0] == "agent" and channels == 1
        )
        self._os_muted: bool | None = None
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        """Chunks dropped because a worker fell behind (summed over queues)."""
        return sum(q.dropped for q in self._queues)

    def start(self) -> None:
        """Open the device now (raising DeviceError if it cannot), then supervise it."""
        if self._watcher is not None:
            self._watcher.start()
        try:
            stream = self._open()
        except Exception:
            if self._watcher is not None:
                self._watcher.stop()
            raise
        self._announce("listening", f"capturing {self.device.name} at {self.rate} Hz")
        self._check_mute()
        self._thread = threading.Thread(
            target=self._supervise, args=(stream,), name=f"capture:{self.device.id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the capture to stop; returns at once (:meth:`join` waits)."""
        self._stop.set()
        self._changed.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` s for the capture thread, then stop watching the device."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self._watcher is not None:
            self._watcher.stop()

    # -- the audio callback (PortAudio's thread: never block, never raise) ---

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        if not self._accepting:
            return
        now = time.monotonic()
        self._last_data = now
        chunk = Chunk(self._stamp(now, frames), bytes(indata), self.rate, self.channels)
        for q in self._queues:
            q.put_nowait(chunk)

    def _stamp(self, now: float, frames: int) -> float:
        """Call time of a block's first frame.

        Callbacks arrive with scheduling jitter (two blocks can land together),
        so blocks are timed by counting samples, slewed gently toward the wall
        clock, and re-anchored to it only after a real jump (e.g. an overrun).
        """
        wall = self._clock.at(now) - frames / self.rate
        expected = self._next_t
        if expected is None or abs(wall - expected) > _REANCHOR_S:
            start = wall
        else:
            start = expected + _SLEW * (wall - expected)
        self._next_t = start + frames / self.rate
        return start

    # -- supervision -------------------------------------------------------

    def _open(self) -> Any:
        global _open_streams
        sd = portaudio()
        index = self._locate()
        with _OPEN_LOCK:
            saved = os.environ.get("PULSE_SOURCE")
            if self.device.backend == "pulse":
                os.environ["PULSE_SOURCE"] = self.device.name
            stream = None
            try:
                stream = sd.RawInputStream(
                    device=index,
                    samplerate=self.rate,
                    channels=self.channels,
                    dtype="int16",
                    blocksize=self._blocksize,
                    callback=self._callback,
                )
                self._last_data = 0.0
                self._next_t = None
                self._accepting = True
                stream.start()
                _open_streams += 1
            except Exception as exc:  # sounddevice raises PortAudioError or ValueError
                self._accepting = False
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()
                raise DeviceError(f"cannot open {self.device.name}: {exc}") from None
            finally:
                if self.device.backend == "pulse":
                    if saved is None:
                        os.environ.pop("PULSE_SOURCE", None)
                    else:
                        os.environ["PULSE_SOURCE"] = saved
        return stream

    def _locate(self) -> int:
        """The PortAudio index to open now (indices can change after a replug)."""
        try:
            devices = list_input_devices()
        except AudioError as exc:
            raise DeviceError(str(exc)) from None
        if self.device.backend == "pulse":
            if not any(d.id == self.device.id for d in devices):
                raise DeviceNotFoundError(
                    f"{self.device.name} is not connected (see: agent-assist devices)"
                )
            bridge = [d for d in devices if d.backend == "portaudio" and d.name == PULSE_BRIDGE]
            if not bridge:
                raise DeviceError("the ALSA 'pulse' device is missing (install libasound2-plugins)")
            return _portaudio_index(bridge[0])
        same = [d for d in devices if d.backend == "portaudio" and d.name == self.device.name]
        if not same:
            _rescan_portaudio()
            devices = list_input_devices()
            same = [d for d in devices if d.backend == "portaudio" and d.name == self.device.name]
        if not same:
            raise DeviceNotFoundError(
                f"{self.device.name} is not connected (see: agent-assist devices)"
            )
        return _portaudio_index(same[0])

    def _close(self, stream: Any) -> None:
        global _open_streams
        self._accepting = False
        with _OPEN_LOCK:
            _open_streams -= 1
            # closing a stream whose device vanished may fail; it is gone anyway
            with contextlib.suppress(Exception):
                stream.abort()
                stream.close()

    def _supervise(self, stream: Any) -> None:
        while True:
            problem = self._watch(stream)
            self._close(stream)
            if problem is None:  # stopped on purpose
                self._announce("stopped", "capture stopped")
                return
            self._lost(problem)
            stream = self._reopen()
            if stream is None:
                self._announce("stopped", "capture stopped")
                return
            self.reopened += 1
            self._announce("listening", f"{self.device.name} is back; listening again")

    def _watch(self, stream: Any) -> str | None:
        """Block while the stream is healthy; return why it is not, or None when stopped."""
        opened = time.monotonic()
        while not self._stop.is_set():
            if self._changed.wait(0.2):
                self._changed.clear()
                if self._stop.is_set():
                    return None
                if not self._present():
                    return f"{self.device.name} was disconnected"
                self._check_mute()
            if not stream.active:
                return f"{self.device.name} stopped delivering audio"
            now = time.monotonic()
            if self._last_data == 0.0:
                if now - opened > self._start_timeout:
                    return f"{self.device.name} opened but delivered no audio"
            elif now - self._last_data > self._stall_timeout:
                return f"{self.device.name} stopped delivering audio"
        return None

    def _check_mute(self) -> None:
        """Report the OS mute switch of the agent's microphone when it changes."""
        if not self._reports_mute:
            return
        muted = pulse.source_muted(self.device.name)
        if muted is not None and muted != self._os_muted:
            self._os_muted = muted
            self._on_event(Mute(t=round(self._clock.now(), 3), muted=muted, source="os"))

    def _present(self) -> bool:
        if self.device.backend != "pulse":
            return True
        return any(s.name == self.device.name for s in pulse.list_sources())

    def _lost(self, problem: str) -> None:
        t = round(self._clock.now(), 3)
        gap = Gap(t)
        for q in self._queues:
            q.put(gap)
        self._on_event(
            ErrorEvent(t=t, code="device_lost", message=problem, channel=self._report[0])
        )
        self._announce("reopening", f"{problem}; waiting for it to come back")

    def _reopen(self) -> Any | None:
        delay, longest = self._backoff
        while not self._stop.is_set():
            if self._stop.wait(delay):
                return None
            self._changed.clear()
            try:
                return self._open()
            except (DeviceError, DeviceNotFoundError):
                delay = min(longest, delay * 2)
        return None

    def _announce(self, state: ListenState, detail: str) -> None:
        t = round(self._clock.now(), 3)
        for channel in self._report:
            self._on_event(Status(t=t, channel=channel, state=state, detail=detail))
