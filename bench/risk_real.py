"""The risk engine on held-out real text: main's rules (before) against this checkout (after).

Every text of the held-out part of each real-text set (bench/realtext.py; never
used for training or thresholds) is said once as a final agent utterance on a
live line. "before" runs the rules of another git revision (default ``main``,
extracted with ``git archive`` and run in a subprocess); "after" runs this
checkout's rules alone, then with the semantic layer (the shipped MiniLM
embedder and the committed heads). Also scores the held-out half of the
project's labelled utterances.

Run: ``nice python bench/risk_real.py [--before REF] [--examples N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_assist.events import Call, Utterance  # noqa: E402
from agent_assist.risk.engine import RiskEngine  # noqa: E402
from agent_assist.risk.pack import load_pack  # noqa: E402
from bench import realtext  # noqa: E402

NEGATIVE = ("hot_mic", "profanity", "rudeness", "blame_shifting")
OFFENSIVE = ("profanity", "hot_mic", "rudeness")
_RUNNER = r"""
import json, sys
from agent_assist.events import Call, Utterance
from agent_assist.risk.engine import RiskEngine
engine = RiskEngine()
out = []
for text in json.load(sys.stdin):
    engine.feed(Call(0.0, "started"))
    out.append(sorted({f.kind for f in engine.feed(Utterance(2.0, "agent", True, text, 1.0, 2.0))}))
print(json.dumps(out))
"""

Kinds = list[set[str]]


def run_before(texts: Sequence[str], ref: str) -> Kinds:
    """Flag kinds per text with the rules of git revision ``ref``."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "agent_assist"],
            capture_output=True,
            check=False,
        )
        if archive.returncode:
            sys.exit(f"cannot extract {ref!r}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER],
            input=json.dumps(list(texts)),
            capture_output=True,
            text=True,
            cwd=tmp,
            env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin"},
            check=False,
        )
        if done.returncode:
            sys.exit(f"the rules of {ref!r} failed: {done.stderr.strip()[-500:]}")
        return [set(k) for k in json.loads(done.stdout)]


def run_after(texts: Sequence[str], engine: RiskEngine) -> Kinds:
    out = []
    for text in texts:
        engine.feed(Call(0.0, "started"))
        out.append({f.kind for f in engine.feed(Utterance(2.0, "agent", True, text, 1.0, 2.0))})
    return out


def share(kinds: Kinds, wanted: Sequence[str]) -> float:
    return sum(bool(k & set(wanted)) for k in kinds) / max(1, len(kinds))


def semantic_engine(universes: list[list[str]]) -> RiskEngine:
    from kb_cache.embedder import Embedder

    embedder = Embedder(threads=2)
    table = {}
    for texts in universes:  # each embedded in its own fixed groups (see realtext.embeddings)
        vectors = realtext.embeddings(texts)
        table.update({t: vectors[k].tolist() for k, t in enumerate(texts)})

    def embed(text: str) -> list[float]:
        return table[text] if text in table else embedder.embed_one(text)

    return RiskEngine(pack=load_pack(), embed=embed, embed_model=embedder.model_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git revision of the 'before' rules")
    parser.add_argument("--examples", type=int, default=8, help="misses / false flags to print")
    args = parser.parse_args()

    sets = realtext.held_out_sets()
    sets["casual"] = realtext.casual_set("held_out")
    labelled = _labelled_held_out()
    texts = sorted({i.text for items in sets.values() for i in items} | {t for t, _ in labelled})
    print(f"held-out real text: {', '.join(f'{k} {len(v)}' for k, v in sets.items())}")
    rules = RiskEngine(pack=load_pack())
    semantic = semantic_engine(
        [realtext.evaluation_texts(), sorted({i.text for i in sets["casual"]})]
    )
    runs: dict[str, Callable[[list[str]], Kinds]] = {
        f"before ({args.before})": lambda ts: run_before(ts, args.before),
        "after: rules": lambda ts: run_after(ts, rules),
        "after: +semantic": lambda ts: run_after(ts, semantic),
    }
    result = {name: dict(zip(texts, run(texts), strict=True)) for name, run in runs.items()}

    def of(name: str, items: Sequence[str]) -> Kinds:
        return [result[name][t] for t in items]

    agent = [i.text for i in sets["agent"]]
    rows: list[tuple[str, str, Callable[[Kinds], str]]] = [
        ("agent replies: negative flags", "<= 2 per 1000",
         lambda k: f"{1000 * share(k, NEGATIVE):.2f}/1000"),
        *[(f"  {kind}", "", lambda k, kind=kind: f"{1000 * share(k, (kind,)):.2f}/1000")
          for kind in NEGATIVE],
        ("agent replies: ownership", "", lambda k: f"{100 * share(k, ('ownership',)):.1f}%"),
        ("agent replies: empathy", "", lambda k: f"{100 * share(k, ('empathy',)):.1f}%"),
    ]  # fmt: skip
    names = list(runs)
    print(f"\n{'held-out set':<38} {'target':<14}" + "".join(f"{n:>20}" for n in names))

    def line(label: str, target: str, cells: list[str]) -> None:
        print(f"{label:<38} {target:<14}" + "".join(f"{c:>20}" for c in cells))

    for label, target, fmt in rows:
        line(f"{label} (n={len(agent)})" if not label.startswith(" ") else label, target,
             [fmt(of(n, agent)) for n in names])  # fmt: skip
    pct = lambda kinds, wanted: f"{100 * share(kinds, wanted):.1f}%"  # noqa: E731
    apology = [i.text for i in sets["apology"]]
    line(f"apologies earning empathy (n={len(apology)})", ">= 60%",
         [pct(of(n, apology), ("empathy",)) for n in names])  # fmt: skip
    offensive = sets["offensive"]
    line(f"offensive flagged (n={len(offensive)})", ">= 50%",
         [pct(of(n, [i.text for i in offensive]), OFFENSIVE) for n in names])  # fmt: skip
    for source in ("davidson", "toxic_spans"):
        part = [i.text for i in offensive if i.source == source]
        line(f"  {source} (n={len(part)})", "", [pct(of(n, part), OFFENSIVE) for n in names])
    for kind in OFFENSIVE:
        line(f"  by {kind}", "", [pct(of(n, [i.text for i in offensive]), (kind,)) for n in names])
    inoffensive = [i.text for i in sets["inoffensive"]]
    line(f"not offensive flagged (n={len(inoffensive)})", "<= 4%",
         [pct(of(n, inoffensive), OFFENSIVE) for n in names])  # fmt: skip
    casual = [i.text for i in sets["casual"]]
    line(f"casual talk flagged (n={len(casual)})", "(low)",
         [pct(of(n, casual), NEGATIVE) for n in names])  # fmt: skip
    rude = [i.text for i in sets["rude_request"]]
    polite = [i.text for i in sets["polite_request"]]
    line(f"rude requests flagged* (n={len(rude)})", ">= 15%",
         [pct(of(n, rude), NEGATIVE) for n in names])  # fmt: skip
    line(f"polite requests flagged* (n={len(polite)})", "<= 1%",
         [pct(of(n, polite), NEGATIVE) for n in names])  # fmt: skip
    print(
        "* an analogue of the least/most polite requests (see bench/realtext.py), not the evaluators' set"
    )

    print("\nper kind: P = precision, R = recall, on the target set + the agent replies (held-out)")
    for kind, target_set in (
        ("hot_mic", "offensive"), ("profanity", "offensive"), ("rudeness", "offensive"),
        ("empathy", "apology"),
    ):  # fmt: skip
        positives = [i.text for i in sets[target_set]]
        cells = []
        for n in names:
            tp = sum(kind in k for k in of(n, positives))
            fp = (
                sum(kind in k for k in of(n, agent))
                if kind != "empathy"
                else sum(
                    kind in k
                    for t, k in zip(agent, of(n, agent), strict=True)
                    if t not in set(positives)
                )
            )
            cells.append(f"P {tp / max(1, tp + fp):.3f} R {tp / max(1, len(positives)):.3f}")
        line(f"{kind} vs {target_set}", "", cells)

    print("\nlabelled utterances, held-out half (P/R per label)")
    from tests.support.risk_eval import LABELS, LIVE_KIND_TO_LABEL

    for n in names:
        cells = []
        for label in LABELS:
            tp = fp = fn = 0
            for text, labels in labelled:
                got = {LIVE_KIND_TO_LABEL[k] for k in result[n][text] if k in LIVE_KIND_TO_LABEL}
                tp += label in got and label in labels
                fp += label in got and label not in labels
                fn += label not in got and label in labels
            cells.append(f"{label} {tp / max(1, tp + fp):.2f}/{tp / max(1, tp + fn):.2f}")
        print(f"  {n:<20} " + "  ".join(cells))

    last = names[-1]
    print(f"\nfalse flags of a negative kind on agent replies ({last}):")
    for text in [t for t in agent if result[last][t] & set(NEGATIVE)][: args.examples]:
        print(f"  {sorted(result[last][text] & set(NEGATIVE))} {text[:110]!r}")
    print(f"\nstill missed: offensive ({last}):")
    for item in [i for i in offensive if not result[last][i.text] & set(OFFENSIVE)][
        : args.examples
    ]:
        print(f"  [{item.source}] {item.text[:110]!r}")
    print(f"\nstill missed: apologies without empathy ({last}):")
    for text in [t for t in apology if "empathy" not in result[last][t]][: args.examples]:
        print(f"  {text[:110]!r}")
    print(f"\nflagged casual talk ({last}):")
    for text in [t for t in casual if result[last][t] & set(NEGATIVE)][: args.examples]:
        print(f"  {sorted(result[last][text] & set(NEGATIVE))} {text[:110]!r}")
    print(f"\nstill missed: rude requests ({last}):")
    for text in [t for t in rude if not result[last][t] & set(NEGATIVE)][: args.examples]:
        print(f"  {text[:110]!r}")
    return 0


def _labelled_held_out() -> list[tuple[str, set[str]]]:
    path = ROOT / "tests" / "data" / "risk_utterances.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(r["text"], set(r["labels"])) for r in rows if int(r["id"][1:]) % 2 == 0]


if __name__ == "__main__":
    sys.exit(main())
