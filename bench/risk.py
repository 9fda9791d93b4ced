"""Risk-engine benchmark: events per second, the time from an offending partial to its flag,
and what the semantic layer costs per final agent utterance.

Builds a synthetic 10-minute call from the labelled utterances: level events
10 per second per channel, agent and customer phrases delivered as growing
partials (one word at a time) and a final, mute/hold changes. Every event is
fed to one RiskEngine and the cost of each ``feed`` call is timed with
``time.perf_counter_ns``. An *offending partial* is a partial whose feed
returned a flag: its feed time is the latency from the words arriving to the
flag existing (the engine is synchronous, so nothing else is in between).

With the shipped sentence embedder installed, the engine runs with the
semantic layer (as the app does: one onnxruntime thread); ``--rules-only``
turns it off. The cost of a final agent utterance then includes its embedding
and the heads; a partial judged by meaning after 0.5 s of stability is paid
on the event that finds it stable (usually a level event): reported apart.

Run: ``nice python bench/risk.py [--minutes 10] [--rules-only]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_assist.events import Call, Event, Level, Mute, Utterance
from agent_assist.risk.engine import RiskEngine
from tests.support.risk_eval import DATA


def build_call(minutes: float, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    texts = [json.loads(line)["text"] for line in DATA.read_text().splitlines() if line.strip()]
    events: list[Event] = [Call(0.0, "started")]
    t, end = 0.0, minutes * 60
    speaker = "agent"
    while t < end:
        text = rng.choice(texts)
        words = text.split()
        start = t
        for i in range(1, len(words) + 1):  # a partial per word, 0.3 s apart
            t += 0.3
            for channel in ("agent", "customer"):
                for k in range(3):
                    events.append(
                        Level(round(t - 0.2 + k * 0.1, 3), channel, -25.0, channel == speaker)
                    )  # type: ignore[arg-type]
            events.append(Utterance(round(t, 3), speaker, False, " ".join(words[:i]), start, t))  # type: ignore[arg-type]
        t += 0.5
        events.append(Utterance(round(t, 3), speaker, True, text, start, t - 0.5))  # type: ignore[arg-type]
        if rng.random() < 0.05:
            events.append(Mute(round(t, 3), rng.random() < 0.5, rng.choice(["cti", "os", "app"])))
        speaker = "customer" if speaker == "agent" else "agent"
    events.append(Call(round(t, 3), "ended"))
    events.sort(key=lambda e: e.t)
    return events


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rules-only", action="store_true", help="no semantic layer")
    args = parser.parse_args()
    events = build_call(args.minutes)
    embedded: list[str] = []  # texts the semantic layer embedded (to tell which feeds did)
    if args.rules_only:
        engine = RiskEngine()
    else:
        from kb_cache.embedder import load_embedder

        embedder = load_embedder(threads=1)

        def embed(text: str) -> list[float]:
            embedded.append(text)
            return embedder.embed_one(text)

        engine = RiskEngine(embed=embed, embed_model=embedder.model_id)
    print(f"semantic layer {'on' if engine.semantic else 'off'}")
    costs: list[float] = []
    offending: list[float] = []
    profanity: list[float] = []
    finals: list[float] = []
    stable: list[float] = []
    flags = 0
    began = time.perf_counter()
    for event in events:
        before = len(embedded)
        t0 = time.perf_counter_ns()
        out = engine.feed(event)
        cost = (time.perf_counter_ns() - t0) / 1e6
        costs.append(cost)
        flags += len(out)
        if out and isinstance(event, Utterance) and not event.final:
            offending.append(cost)
            if any(f.kind == "profanity" for f in out):
                profanity.append(cost)
        if isinstance(event, Utterance) and event.final and event.channel == "agent":
            finals.append(cost)
        elif len(embedded) > before:
            stable.append(cost)  # a partial found stable and judged by meaning on this event
    total = time.perf_counter() - began
    utterances = [c for c, e in zip(costs, events, strict=True) if isinstance(e, Utterance)]
    print(f"events     {len(events)} over {args.minutes:g} min of call, {flags} flags")
    print(f"throughput {len(events) / total:,.0f} events/s ({total * 1000:.0f} ms in all)")
    print(
        f"per event  p50={statistics.median(costs):.3f} ms p99={pct(costs, 0.99):.3f} ms max={max(costs):.3f} ms"
    )
    print(
        f"utterances p50={statistics.median(utterances):.3f} ms p99={pct(utterances, 0.99):.3f} ms"
    )
    for label, values in (
        ("offending partial -> flag", offending),
        ("partial -> profanity flag", profanity),
        ("final agent utterance", finals),
        ("stable partial judged", stable),
    ):
        if values:
            print(
                f"{label:<26} n={len(values)} p50={statistics.median(values):.3f} ms "
                f"p99={pct(values, 0.99):.3f} ms max={max(values):.3f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
