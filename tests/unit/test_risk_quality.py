"""Precision and recall floors on 440 agent utterances labelled blind to the rules.

Floors were set from measured scores, a little below them: the held-out half
(never inspected) is the honest measure; the dev half (tuned on) must simply
not regress. Run with -s to see the tables.
"""

from __future__ import annotations

import pytest

from agent_assist.risk.pack import RulePack, load_pack
from tests.support import risk_eval

HELD_OUT_FLOORS = {  # label: (precision, recall); measured 2026-11-23 in the closing note
    "venting": (0.60, 0.40),
    "profanity": (0.90, 0.95),
    "rudeness": (0.90, 0.40),
    "blame_shifting": (0.85, 0.45),
    "ownership": (0.95, 0.55),
    "empathy": (0.95, 0.50),
}
DEV_FLOORS = (0.90, 0.85)


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


def test_the_labelled_set_is_balanced() -> None:
    rows = risk_eval.rows("all")
    assert len(rows) >= 300
    for label in risk_eval.LABELS:
        assert sum(label in r["labels"] for r in rows) >= 40, label  # type: ignore[operator]
    assert sum(not r["labels"] for r in rows) >= 120


@pytest.fixture(scope="module")
def held_out(pack: RulePack) -> dict[str, risk_eval.Score]:
    scores = risk_eval.score_live(pack, "held_out")
    print("\nheld-out half\n" + risk_eval.table(scores))
    return scores


@pytest.mark.parametrize("label", list(HELD_OUT_FLOORS))
def test_held_out_precision_and_recall_floors(
    held_out: dict[str, risk_eval.Score], label: str
) -> None:
    scores = held_out
    precision, recall = HELD_OUT_FLOORS[label]
    assert scores[label].precision >= precision
    assert scores[label].recall >= recall


def test_dev_half_does_not_regress(pack: RulePack) -> None:
    scores = risk_eval.score_live(pack, "dev")
    print("\ndev half\n" + risk_eval.table(scores))
    for label, s in scores.items():
        assert s.precision >= DEV_FLOORS[0], label
        assert s.recall >= DEV_FLOORS[1], label


def test_venting_while_muted_is_a_nudge_not_an_accusation(pack: RulePack) -> None:
    score = risk_eval.score_muted(pack, "held_out")
    assert score.precision >= 0.75
    assert score.recall >= 0.70
    for row in risk_eval.rows("held_out"):
        muted = risk_eval.flagged(pack, str(row["text"]), muted=True)
        assert not muted & {"hot_mic", "profanity", "rudeness", "blame_shifting"}, row["id"]
