"""Speech-recognition benchmark: speed, latency and cost of listening to one call.

Builds a stereo test call with ``tests.support.calls.build_call`` (agent left:
Korean espeak-ng phrases; customer right: LibriVox read speech), loads the Vosk
model once and measures, all in this process:

* **Real-time factor per channel** - a direct pass feeds each channel's mono audio,
  in 0.1 s chunks and as fast as it goes, to :class:`audio.recognizer.ChannelRecognizer`
  (Vosk plus its JSON parsing; no level meter, threads or queues), timed with
  ``time.perf_counter`` (wall) and ``time.thread_time`` (CPU). RTF = processing s / audio s.
* **Latency** - ``Listener.from_wav(realtime=True)`` plays the call at real-time pace;
  the main thread consumes ``events()`` and stamps each event with the call clock
  when it is received (the clock that paces the audio, started with the listener,
  so turns' ground-truth times share its axis). Per turn, on its channel, until
  that channel's next turn: end->final runs from ``Turn.end`` to the first final
  received after it whose words overlap the turn; start->partial from ``Turn.start``
  to the first partial received after it; turns without one are counted. Turn times
  bound the clip, silence included, so last-word->final (receive time minus the
  final's last word end, over all finals) shows the endpointing delay on its own.
* **Cost** - process CPU (``getrusage`` user+sys) over the realtime run's wall time,
  as % of one core, and peak RSS. Pipeline overhead beyond Vosk is *estimated* as
  that CPU minus the direct passes' Vosk CPU (same audio), over the call duration.
  The direct passes run first, so the realtime run starts with a warm model. The
  listener warms its recognisers up before playback (reported, not counted in the
  call's CPU), and times are measured on the audio's own axis from playback start.
* **Parallel channels** - the same speech decoded offline by ``Listener.from_wav``
  as a mono file and as a stereo file (both sides the same): stereo/mono wall time
  is 1.0 when the two channel workers run fully in parallel and 2.0 when one waits
  for the other (on a machine with a free core for each).
* **Level lateness** - in the realtime pass, receive time minus ``t`` of each
  ``level`` event: how far behind the paced audio the pipeline delivers (max, p95).
* **Queue drops** per channel (``Listener.dropped``): must be 0; the exit status
  is 1 if a chunk was dropped or the pipeline reported an error.

Run: ``python bench/asr.py [--seconds 60] [--model NAME_OR_PATH] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from agent_assist.clock import CallClock
from agent_assist.events import Channel, ErrorEvent, Level, Utterance
from audio.models import ModelStore
from audio.pipeline import Listener
from audio.recognizer import ChannelRecognizer, VoskModel, load_model
from audio.wavfile import WavReader
from tests.support.calls import Turn, build_call, have_tools, write_wav

CHANNELS: tuple[Channel, ...] = ("agent", "customer")
CHUNK_SECONDS = 0.1

Received = list[tuple[float, Utterance]]  # (call-clock receive time, event), in arrival order


@dataclass
class RealtimeRun:
    """What the realtime pass saw: utterances with their receive times, and its cost."""

    utterances: dict[Channel, Received] = field(default_factory=lambda: {c: [] for c in CHANNELS})
    levels: dict[Channel, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    level_lateness: list[float] = field(default_factory=list)  # receive time - t (s)
    errors: list[str] = field(default_factory=list)
    dropped: dict[Channel, int] = field(default_factory=dict)
    wall: float = 0.0
    cpu: float = 0.0
    warm_up: float = 0.0  # s from start() to the recognisers being ready


@dataclass
class Latencies:
    """One channel's latency (s) per turn; None where the turn got no such event."""

    final: list[float | None] = field(default_factory=list)
    partial: list[float | None] = field(default_factory=list)


def run_realtime(path: Path, model: VoskModel) -> RealtimeRun:
    """Play the call through the real pipeline at real-time pace and record every event."""
    run = RealtimeRun()
    clock = CallClock()  # it paces the audio too
    listener = Listener.from_wav(str(path), model=model, realtime=True, clock=clock)
    began = time.perf_counter()
    listener.start()  # warms the recognisers up, then starts playback
    run.warm_up = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)  # the call itself, without start-up
    wall = time.perf_counter()
    try:
        for event in listener.events():
            # on the audio's own axis (0 = first sample played), like the turns' times
            origin = listener.playback_start or 0.0
            received = clock.now() - origin
            if isinstance(event, Utterance):
                shifted = replace(event, start=event.start - origin, end=event.end - origin)
                run.utterances[event.channel].append((received, shifted))
            elif isinstance(event, Level):
                run.levels[event.channel] += 1
                run.level_lateness.append(clock.now() - event.t)
            elif isinstance(event, ErrorEvent):
                run.errors.append(event.message)
    finally:
        listener.stop()
    run.wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    run.cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    run.dropped = listener.dropped
    return run


def vosk_pass(
    samples: np.ndarray, rate: int, model: VoskModel, channel: Channel
) -> tuple[float, float]:
    """Feed one channel straight to a recogniser as fast as it goes; (wall, thread CPU) s."""
    step = round(rate * CHUNK_SECONDS)
    chunks = [(samples[i : i + step].tobytes(), i / rate) for i in range(0, len(samples), step)]
    rec = ChannelRecognizer(model, channel=channel, rate=rate)
    wall, cpu = time.perf_counter(), time.thread_time()
    for pcm, t_start in chunks:
        rec.accept(pcm, t_start)
    rec.flush()
    return time.perf_counter() - wall, time.thread_time() - cpu


def parallel_ratio(folder: Path, speech: np.ndarray, rate: int, model: VoskModel) -> float:
    """Offline pipeline wall time for a stereo file (speech on both sides) over the mono file."""
    times = []
    for name, channels in (("mono", [speech]), ("stereo", [speech, speech])):
        path = write_wav(folder / f"parallel-{name}.wav", channels, rate)
        listener = Listener.from_wav(str(path), model=model)
        began = time.perf_counter()
        listener.start()
        for _ in listener.events():
            pass
        times.append(time.perf_counter() - began)
    return times[1] / times[0]


def turn_latencies(turns: Sequence[Turn], run: RealtimeRun) -> dict[Channel, Latencies]:
    """end->final and start->partial latency of every turn, by channel."""
    out = {c: Latencies() for c in CHANNELS}
    for i, turn in enumerate(turns):
        channel = cast(Channel, turn.channel)
        until = next((t.start for t in turns[i + 1 :] if t.channel == channel), math.inf)
        events = [(at, u) for at, u in run.utterances[channel] if at < until]
        final = next(
            (
                at - turn.end
                for at, u in events
                if u.final and at >= turn.end and u.start < turn.end and u.end > turn.start
            ),
            None,
        )
        partial = next(
            (at - turn.start for at, u in events if not u.final and at >= turn.start), None
        )
        out[channel].final.append(final)
        out[channel].partial.append(partial)
    return out


def p50_p95(samples: Sequence[float | None]) -> dict[str, float | None]:
    values = [v for v in samples if v is not None]
    if not values:
        return {"p50": None, "p95": None}
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in (50, 95)}


def fmt(stats: dict[str, float | None]) -> str:
    return " ".join(f"{k}={'n/a' if v is None else f'{v:.2f}'}" for k, v in stats.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="minimum call length")
    parser.add_argument("--model", help="model name or folder (default: the first installed)")
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    args = parser.parse_args(argv)
    if not have_tools():
        print("needs espeak-ng and pocketsphinx-testdata (apt install both)", file=sys.stderr)
        return 2

    found = ModelStore().find(args.model)
    began = time.perf_counter()
    model = load_model(found.path)
    load_s = time.perf_counter() - began

    with tempfile.TemporaryDirectory(prefix="bench-asr-") as tmp:
        path = Path(tmp) / "call.wav"
        turns = build_call(path, min_seconds=args.seconds)
        with WavReader(path) as reader:
            rate, duration = reader.rate, reader.duration
            pcm = np.frombuffer(reader.read(reader.frames), dtype=np.int16)
            frames = pcm.reshape(-1, reader.channels)
        direct = {
            c: vosk_pass(np.ascontiguousarray(frames[:, i]), rate, model, c)
            for i, c in enumerate(CHANNELS)
        }
        parallel = parallel_ratio(Path(tmp), np.ascontiguousarray(frames[:, 1]), rate, model)
        run = run_realtime(path, model)

    latencies = turn_latencies(turns, run)
    vosk_cpu = sum(cpu for _, cpu in direct.values())
    cpu_pct = 100 * run.cpu / run.wall
    overhead_pct = 100 * (run.cpu - vosk_cpu) / duration
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rtf = {c: {"wall": w / duration, "cpu": cpu / duration} for c, (w, cpu) in direct.items()}
    events = {
        c: {
            "partial": sum(not u.final for _, u in run.utterances[c]),
            "final": sum(u.final for _, u in run.utterances[c]),
            "level": run.levels[c],
        }
        for c in CHANNELS
    }
    latency = {
        c: {
            "end_to_final": p50_p95(s.final),
            "start_to_partial": p50_p95(s.partial),
            "last_word_to_final": p50_p95([at - u.end for at, u in run.utterances[c] if u.final]),
        }
        for c, s in latencies.items()
    }

    print(f"model     {found.name} ({found.path}), loaded in {load_s:.2f} s")
    turn_counts = {c: sum(t.channel == c for t in turns) for c in CHANNELS}
    print(
        f"audio     {duration:.1f} s stereo at {rate} Hz, turns "
        + " ".join(f"{c}={n}" for c, n in turn_counts.items())
    )
    for c in CHANNELS:
        print(f"rtf       {c:<9} wall={rtf[c]['wall']:.3f} cpu={rtf[c]['cpu']:.3f}")
    print(
        f"realtime  wall={run.wall:.1f} s, process cpu={cpu_pct:.1f}% of one core, "
        f"peak rss={peak_rss_mib:.0f} MiB, recogniser warm-up before playback {run.warm_up:.2f} s"
    )
    print(
        f"overhead  {overhead_pct:.1f}% of one core beyond Vosk "
        "(estimate: realtime process CPU minus direct-pass Vosk CPU, over the call)"
    )
    lateness = {
        "max": round(max(run.level_lateness, default=0.0), 3),
        "p95": p50_p95(run.level_lateness)["p95"],
    }
    print(f"parallel  stereo/mono wall time {parallel:.2f} (1.0 = channels fully in parallel)")
    p95 = "n/a" if lateness["p95"] is None else f"{lateness['p95']:.3f}"
    print(f"levels    lateness max={lateness['max']:.3f} s p95={p95} s (receive time - t)")
    for c, s in latencies.items():
        lat = {k: fmt(v) for k, v in latency[c].items()}
        print(
            f"final     {c:<9} end->final {lat['end_to_final']} s, turns without: "
            f"{s.final.count(None)}/{len(s.final)}; last-word->final {lat['last_word_to_final']} s"
        )
        print(
            f"partial   {c:<9} start->partial {lat['start_to_partial']} s, turns without: "
            f"{s.partial.count(None)}/{len(s.partial)}"
        )
    for c in CHANNELS:
        print(f"events    {c:<9} " + " ".join(f"{k}={v}" for k, v in events[c].items()))
    print("drops     " + " ".join(f"{c}={n}" for c, n in run.dropped.items()))
    for message in run.errors:
        print(f"error     {message}")
    if args.json:
        summary = {
            "model": {"name": found.name, "path": str(found.path), "load_s": round(load_s, 3)},
            "audio_s": round(duration, 3),
            "turns": turn_counts,
            "rtf": {c: {k: round(v, 4) for k, v in r.items()} for c, r in rtf.items()},
            "realtime": {
                "wall_s": round(run.wall, 3),
                "cpu_s": round(run.cpu, 3),
                "cpu_pct": round(cpu_pct, 1),
                "peak_rss_mib": round(peak_rss_mib, 1),
            },
            "overhead_estimate_pct": round(overhead_pct, 1),
            "parallel_stereo_over_mono": round(parallel, 3),
            "level_lateness_s": lateness,
            "latency_s": {
                c: {
                    **latency[c],
                    "no_final": s.final.count(None),
                    "no_partial": s.partial.count(None),
                }
                for c, s in latencies.items()
            },
            "events": events,
            "dropped": run.dropped,
            "errors": run.errors,
        }
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 1 if any(run.dropped.values()) or run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
