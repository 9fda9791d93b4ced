"""Train the risk engine's semantic heads (agent_assist/risk/packs/heads_en.json) from real text.

Reads the *dev* part of each real-text set (bench/realtext.py; the held-out
part is never touched here) and the dev half of the project's labelled
utterances (odd ids of tests/data/risk_utterances.jsonl). The dev part is
split again by hash: the *fit* fold trains a logistic-regression head per
lexicon on MiniLM sentence vectors, the *calib* fold picks each threshold:

* negative kinds (venting, rudeness, blame_shifting): the lowest threshold at
  which the head fires on at most 1 in 3,000 real agent replies of the calib
  fold, so the three together stay within 1 per 1,000;
* praise (empathy, ownership): at most 1 in 1,000 of the calib agent replies
  that are not apologies / commitments.

Positives and negatives per head:

* venting   + offensive tweets and toxic comments; labelled venting/profanity
* rudeness  + the offensive texts that address the reader ("you", "your"); labelled rudeness
* blame_shifting + labelled blame_shifting (the project's own sentences: no real
  licensed set of blame-shifting exists that we know of)
* empathy   + real agent apologies; labelled empathy
* ownership + real agent commitments ("I will call you back", "I'll look into it");
  labelled ownership
* every head - real agent replies and customer turns (dev, fit fold), inoffensive
  tweets, and the labelled utterances without that label.

Deterministic: the same data and embedder give the same file byte for byte
(``--check`` retrains and compares with the committed file).
Run: ``nice python bench/risk_train.py [--check]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import realtext  # noqa: E402
from kb_cache.embedder import DIMENSIONS, Embedder  # noqa: E402

OUT = ROOT / "agent_assist" / "risk" / "packs" / "heads_en.json"
LABELLED = ROOT / "tests" / "data" / "risk_utterances.jsonl"
NEGATIVE_BUDGET = 1 / 3000  # per negative head, on real agent replies
PRAISE_BUDGET = 1 / 1000
LABELLED_WEIGHT = 5.0  # in-domain spoken sentences count more than web text
_SECOND_PERSON = re.compile(r"\b(you|your|you're|youre|ur|u)\b", re.I)
_COMMITMENT = re.compile(
    r"\b(i|we)('ll| will| am going to| are going to) (call you back|get back to you|look into|follow up|"
    r"chase|make sure|take care of|sort (it|this|that) out|investigate|personally)\b",
    re.I,
)
_APOLOGY = re.compile(r"\b(sorry|apolog\w*|regret)\b", re.I)


def labelled_dev() -> list[tuple[str, set[str]]]:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    return [(r["text"], set(r["labels"])) for r in rows if int(r["id"][1:]) % 2 == 1]


def fit(x: Any, y: Any, weight: Any, *, l2: float = 1e-4, epochs: int = 800) -> tuple[Any, float]:
    """Weighted logistic regression by full-batch Adam (deterministic)."""
    scale = np.sqrt(x.shape[1])  # unit vectors: bring features to ~unit variance
    xs = x * scale
    w = np.zeros(x.shape[1])
    b = 0.0
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), 0.0, 0.0
    weight = weight / weight.sum()
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        z = xs @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = weight * (p - y)
        grad_w = xs.T @ g + l2 * w
        grad_b = float(g.sum())
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w**2
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b**2
        w -= lr * (m_w / (1 - beta1**step)) / (np.sqrt(v_w / (1 - beta2**step)) + eps)
        b -= lr * (m_b / (1 - beta1**step)) / (np.sqrt(v_b / (1 - beta2**step)) + eps)
    return w * scale, b  # weights for unscaled unit vectors


def threshold_for(scores: Any, budget: float) -> float:
    """The lowest logit at which at most ``budget`` of ``scores`` reach it (4 decimals, rounded up)."""
    ordered = np.sort(scores)[::-1]
    allowed = int(budget * len(ordered))
    value = float(ordered[allowed]) if allowed < len(ordered) else float(ordered[-1])
    return float(np.ceil((value + 1e-6) * 10_000) / 10_000)


def build() -> dict[str, Any]:
    dev = realtext.dev_sets()
    folds: dict[str, dict[str, list[str]]] = {"fit": {}, "calib": {}}
    for name, items in dev.items():
        for fold in folds:
            folds[fold][name] = [i.text for i in items if realtext.fold_of(i.text) == fold]
    labelled = labelled_dev()
    texts = realtext.training_texts()
    vectors = realtext.embeddings(texts)
    index = {t: k for k, t in enumerate(texts)}

    def vec(ts: list[str]) -> Any:
        return vectors[[index[t] for t in ts]] if ts else np.zeros((0, DIMENSIONS), np.float32)

    fit_ = folds["fit"]
    offensive = fit_["offensive"]
    agent = fit_["agent"]
    positives = {
        "venting": offensive,
        "rudeness": [t for t in offensive if _SECOND_PERSON.search(t)],
        "blame_shifting": [],
        "empathy": fit_["apology"],
        "ownership": [t for t in agent if _COMMITMENT.search(t)],
    }
    labels_for = {
        "venting": {"venting", "profanity"},
        "rudeness": {"rudeness"},
        "blame_shifting": {"blame_shifting"},
        "empathy": {"empathy"},
        "ownership": {"ownership"},
    }
    calib = folds["calib"]
    heads: dict[str, Any] = {}
    for lexicon, pos in positives.items():
        clean_agent = [
            t
            for t in agent
            if not (lexicon == "empathy" and _APOLOGY.search(t))
            and not (lexicon == "ownership" and _COMMITMENT.search(t))
        ]
        neg = clean_agent + fit_["customer"] + fit_["inoffensive"]
        if lexicon in ("venting", "rudeness"):
            neg = [t for t in neg if t not in set(offensive)]
        lab_pos = [t for t, labels in labelled if labels & labels_for[lexicon]]
        lab_neg = [t for t, labels in labelled if not labels & labels_for[lexicon]]
        if lexicon == "rudeness":  # a venting insult is not rudeness, and vice versa
            lab_neg = [t for t in lab_neg if "venting" not in labelled_labels(labelled, t)]
        x = np.vstack([vec(pos), vec(lab_pos), vec(neg), vec(lab_neg)])
        y = np.concatenate([np.ones(len(pos) + len(lab_pos)), np.zeros(len(neg) + len(lab_neg))])
        n_pos, n_neg = (
            len(pos) + LABELLED_WEIGHT * len(lab_pos),
            len(neg) + LABELLED_WEIGHT * len(lab_neg),
        )
        weight = np.concatenate(
            [
                np.full(len(pos), 1.0 / n_pos),
                np.full(len(lab_pos), LABELLED_WEIGHT / n_pos),
                np.full(len(neg), 1.0 / n_neg),
                np.full(len(lab_neg), LABELLED_WEIGHT / n_neg),
            ]
        )
        w, b = fit(x, y, weight)
        # thresholds on the calib fold: real agent replies the head must leave alone
        calib_agent = [
            t
            for t in calib["agent"]
            if not (lexicon == "empathy" and _APOLOGY.search(t))
            and not (lexicon == "ownership" and _COMMITMENT.search(t))
        ]
        budget = PRAISE_BUDGET if lexicon in ("empathy", "ownership") else NEGATIVE_BUDGET
        agent_scores = vec(calib_agent) @ w + b
        threshold = threshold_for(agent_scores, budget)
        target = {
            "venting": calib["offensive"],
            "rudeness": [t for t in calib["offensive"] if _SECOND_PERSON.search(t)],
            "blame_shifting": [],
            "empathy": calib["apology"],
            "ownership": [t for t in calib["agent"] if _COMMITMENT.search(t)],
        }[lexicon]
        recall = float(np.mean(vec(target) @ w + b >= threshold)) if target else None
        heads[lexicon] = {
            "weights": [round(float(v), 5) for v in w],
            "bias": round(float(b), 5),
            "threshold": threshold,
            "trained_on": {
                "positives_real": len(pos),
                "positives_labelled": len(lab_pos),
                "negatives_real": len(neg),
                "negatives_labelled": len(lab_neg),
            },
            "calibration": {
                "agent_replies": len(calib_agent),
                "budget_per_1000": round(budget * 1000, 3),
                "agent_flagged_per_1000": round(
                    1000 * float(np.mean(agent_scores >= threshold)), 3
                ),
                "target_set_recall": None if recall is None else round(recall, 4),
            },
        }
    return {
        "about": (
            "Logistic-regression heads of the risk engine's semantic layer, trained by "
            "bench/risk_train.py on the dev part of real licensed text (see NOTICE.md). "
            "Fires when weights . v + bias >= threshold (v: the unit sentence vector). "
            "Do not edit by hand."
        ),
        "model": Embedder(threads=1).model_id,
        "dimensions": DIMENSIONS,
        "data": {name: {fold: len(folds[fold][name]) for fold in folds} for name in dev}
        | {"labelled_dev": {"fit": len(labelled)}},
        "heads": heads,
    }


def labelled_labels(labelled: list[tuple[str, set[str]]], text: str) -> set[str]:
    return next((labels for t, labels in labelled if t == text), set())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1) + "\n"
    if args.check:
        return 0 if realtext.write_or_check(OUT, text, check=True) else 1
    realtext.write_or_check(OUT, text, check=False)
    data = json.loads(text)
    print(f"wrote {OUT.relative_to(ROOT)} for {data['model']}")
    for lexicon, head in data["heads"].items():
        print(f"  {lexicon:<15} threshold {head['threshold']:>8.4f}  {head['calibration']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
