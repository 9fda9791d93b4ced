"""Call-script benchmark: the cost per agent utterance of recognising script steps, and what
each way of recognising finds.

* **Cost**: every final agent utterance of the labelled set (440 coaching
  utterances: rude, venting, praise, neutral) and of the demo call goes
  through ``Recogniser.recognise`` over all steps of the built-in pack, with
  phrases only and with the real sentence model (kb_cache's embedder, one
  thread); each call is timed with ``time.perf_counter_ns``. Then the whole
  demo call (every event) through ``ScriptEngine.feed``.
* **Recognition**: hand-written paraphrases of each step (what agents really
  say, and what recognisers make of it) and the 440 coaching utterances,
  which hold three real steps; for each similarity threshold: steps found,
  and steps ticked wrongly.

Run: ``nice -n 10 .venv/bin/python bench/scripts.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_assist.app.demo import DEMO_CALL
from agent_assist.events import Utterance, decode_lines
from agent_assist.risk.phrases import normalize
from agent_assist.scripts import ScriptEngine, load_script_pack
from agent_assist.scripts.match import Recogniser
from agent_assist.scripts.pack import ScriptPack
from tests.support.risk_eval import DATA

# (what was said, the step it is): paraphrases, recognition errors, and a few that are hard
PARAPHRASES = [
    ("thank you for calling northwind bank my name is priya", "greeting"),
    ("thanks for calling northwind bank you are speaking with tom", "greeting"),
    ("hello you have reached northwind bank this is sam", "greeting"),
    ("thank you for calling north wind bank my name is sam", "greeting"),
    ("can you confirm your full name and date of birth", "identity"),
    ("could i take your date of birth please", "identity"),
    ("before we continue i need to confirm your identity", "identity"),
    ("for security could you confirm the first line of your address", "identity"),
    ("can you confirm your name and date of berth", "identity"),
    ("would it be alright if i placed you on hold for a minute", "hold"),
    ("do you mind if i put you on hold while i check", "hold"),
    ("can i pop you on hold for a sec", "hold"),
    ("i am going to transfer you to our cards team who can reissue it", "transfer"),
    ("express delivery has a fee of five dollars which is charged to your account", "fee"),
    ("express delivery has a fee of five dollars which is charge to your account", "fee"),
    ("so to recap your new card is on its way", "recap"),
    ("just to summarise what we have done today", "recap"),
    ("let me go over what we agreed", "recap"),
    ("is there anything else i can help you with today", "closing"),
    ("do you need help with anything else", "closing"),
    ("anything else you need help with today", "closing"),
    ("is there something else i can assist you with", "closing"),
    ("was there anything else", "closing"),
]
TRUE_IN_LABELLED = {  # the three script steps among the 440 coaching utterances
    "can you confirm the first line of your address": "identity",
    "can i take your date of birth please": "identity",
    "is there anything else i can help you with today": "closing",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def demo_agent_finals() -> list[str]:
    with open(DEMO_CALL, encoding="utf-8") as handle:
        events = [e for e in decode_lines(handle) if isinstance(e, Utterance)]
    return [e.text for e in events if e.final and e.channel == "agent"]


def cost(recogniser: Recogniser, texts: list[str], steps: list[str]) -> list[float]:
    times = []
    for text in texts:
        words = normalize(text)
        started = time.perf_counter_ns()
        recogniser.recognise(words, text, steps)
        times.append((time.perf_counter_ns() - started) / 1000)
    return times


def report(name: str, micros: list[float]) -> None:
    print(
        f"  {name:<34} mean {statistics.mean(micros):8.1f} µs  p50 {pct(micros, 0.5):8.1f}  "
        f"p95 {pct(micros, 0.95):8.1f}  max {max(micros):8.1f}  (n={len(micros)})"
    )


def recognition(pack: ScriptPack, embed: object, labelled: list[str]) -> None:
    print("\nRecognition (built-in pack; 23 paraphrases of its 7 steps; 440 coaching utterances)")
    print(f"  {'threshold':<12}{'paraphrases found':>20}{'by meaning':>12}{'wrong ticks':>13}")
    for threshold in (None, 0.70, 0.75, 0.80):
        use = pack if threshold is None else _with(pack, threshold)
        recogniser = Recogniser(use, embed=None if threshold is None else embed)  # type: ignore[arg-type]
        found = meaning = wrong = 0
        for text, step in PARAPHRASES:
            heard = {
                h.step: h.how for h in recogniser.recognise(normalize(text), text, list(pack.steps))
            }
            found += step in heard
            meaning += heard.get(step) == "similar"
            wrong += len(set(heard) - {step})
        for text in labelled:
            ticked = {h.step for h in recogniser.recognise(normalize(text), text, list(pack.steps))}
            wrong += len(ticked - {TRUE_IN_LABELLED.get(text)})
        label = "phrases" if threshold is None else f"+ {threshold:.2f}"
        print(f"  {label:<12}{found:>14} / {len(PARAPHRASES)}{meaning:>12}{wrong:>13}")


def _with(pack: ScriptPack, threshold: float) -> ScriptPack:
    from dataclasses import replace

    return replace(pack, similarity=threshold)


def main() -> None:
    from kb_cache.embedder import Embedder

    pack = load_script_pack("northwind")
    labelled = [json.loads(line)["text"] for line in DATA.read_text().splitlines() if line.strip()]
    texts = labelled + demo_agent_finals()
    steps = list(pack.steps)
    model = Embedder(threads=1)

    def embed(text: str) -> list[float]:
        return [float(x) for x in model.embed([text])[0]]

    print(f"Script recognition cost per final agent utterance (built-in pack, {len(steps)} steps)")
    report("phrases (+ approximate, exact)", cost(Recogniser(pack), texts, steps))
    with_meaning = Recogniser(pack, embed=embed)
    started = time.perf_counter()
    with_meaning.prepare()
    print(
        f"  (loading the model and embedding the examples once: {time.perf_counter() - started:.2f} s)"
    )
    report("phrases + meaning (1 thread)", cost(with_meaning, texts, steps))
    embed_only = []
    for text in texts[:200]:
        started_ns = time.perf_counter_ns()
        embed(text)
        embed_only.append((time.perf_counter_ns() - started_ns) / 1000)
    report("  of which the embedding alone", embed_only)

    with open(DEMO_CALL, encoding="utf-8") as handle:
        events = [e for e in decode_lines(handle) if not isinstance(e, Exception)]
    for name, engine in (
        ("phrases", ScriptEngine(pack)),
        ("phrases + meaning", ScriptEngine(pack, embed=embed)),
    ):
        engine.prepare()
        per_event = []
        for event in events:
            started_ns = time.perf_counter_ns()
            engine.feed(event)
            per_event.append((time.perf_counter_ns() - started_ns) / 1000)
        finals = [
            t for t, e in zip(per_event, events, strict=True)
            if isinstance(e, Utterance) and e.final and e.channel == "agent"
        ]  # fmt: skip
        print(f"\nThe demo call through ScriptEngine.feed ({name}): {len(events)} events")
        report("every event", per_event)
        report("final agent utterances", finals)
    recognition(pack, embed, labelled)


if __name__ == "__main__":
    main()
