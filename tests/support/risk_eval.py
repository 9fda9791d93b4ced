"""Scoring the risk engine on the labelled utterances in tests/data/risk_utterances.jsonl.

The set was written blind to the rule pack. Odd ids are the *dev* half (their
errors were read while tuning the built-in pack); even ids are *held out* (never
inspected; their scores are the honest ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent_assist.events import Call, Mute, Utterance
from agent_assist.risk.engine import RiskEngine
from agent_assist.risk.pack import RulePack

DATA = Path(__file__).resolve().parents[1] / "data" / "risk_utterances.jsonl"
LIVE_KIND_TO_LABEL = {
    "hot_mic": "venting",
    "profanity": "profanity",
    "rudeness": "rudeness",
    "blame_shifting": "blame_shifting",
    "ownership": "ownership",
    "empathy": "empathy",
}
LABELS = tuple(LIVE_KIND_TO_LABEL.values())


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def rows(half: str) -> list[dict[str, object]]:
    """``half``: "dev" (odd ids), "held_out" (even ids) or "all"."""
    out = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    if half == "all":
        return out
    want = 1 if half == "dev" else 0
    return [r for r in out if int(str(r["id"])[1:]) % 2 == want]


def flagged(pack: RulePack, text: str, *, muted: bool = False) -> set[str]:
    engine = RiskEngine(pack=pack)
    engine.feed(Call(0.0, "started"))
    if muted:
        engine.feed(Mute(0.5, True, "cti"))
    return {f.kind for f in engine.feed(Utterance(2.0, "agent", True, text, 1.0, 2.0))}


def score_live(pack: RulePack, half: str) -> dict[str, Score]:
    """Per-label scores with every utterance said on a live line."""
    scores = {label: Score() for label in LABELS}
    for row in rows(half):
        got = {
            LIVE_KIND_TO_LABEL[k]
            for k in flagged(pack, str(row["text"]))
            if k in LIVE_KIND_TO_LABEL
        }
        expected = set(row["labels"])  # type: ignore[arg-type]
        for label in LABELS:
            s = scores[label]
            s.tp += label in got and label in expected
            s.fp += label in got and label not in expected
            s.fn += label not in got and label in expected
    return scores


def score_muted(pack: RulePack, half: str) -> Score:
    """vent_while_muted against the lines labelled venting or profanity, said while muted."""
    score = Score()
    for row in rows(half):
        got = "vent_while_muted" in flagged(pack, str(row["text"]), muted=True)
        expected = bool({"venting", "profanity"} & set(row["labels"]))  # type: ignore[arg-type]
        score.tp += got and expected
        score.fp += got and not expected
        score.fn += expected and not got
    return score


def table(scores: dict[str, Score]) -> str:
    lines = [f"{'label':<15} {'P':>5} {'R':>5} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for label, s in scores.items():
        lines.append(f"{label:<15} {s.precision:5.2f} {s.recall:5.2f} {s.tp:4} {s.fp:4} {s.fn:4}")
    return "\n".join(lines)
