"""Real, human-written text for training and evaluating the risk engine (not part of the app).

Every source lives outside git under ``shared/data/<name>/`` with a README that
says where it came from (commit, licence, what was extracted). ``shared/data``
is looked for beside the repository's checkout and its parents (``../shared``
for the lead's checkout, ``../../shared`` for a helper's worktree), or given
with ``AA_SHARED_DATA``.

Each source is split **by a hash of the text** into a *dev* part (70 %: used to
train the heads and pick thresholds) and a *held-out* part (30 %: only ever
scored, never tuned on). The split does not depend on order or sampling.

Sets (``load(name, part)``):

* ``agent``       - replies written by people playing the agent/assistant:
                    Schema-Guided Dialogue SYSTEM turns (CC BY-SA 4.0) and
                    MultiWOZ 2.1 wizard turns (MIT);
* ``apology``     - the agent replies that apologise ("sorry", "apolog...", "regret");
* ``customer``    - the user turns of the same dialogues (neutral requests);
* ``offensive``   - tweets coded hate speech or offensive by the majority of
                    coders (Davidson et al., MIT) and toxic posts from Civil
                    Comments (Toxic Spans, CC0);
* ``inoffensive`` - tweets coded "neither" by every coder (Davidson et al.);
* ``casual``      - Reddit comments (GoEmotions, Apache-2.0) whose labels are
                    none of anger/annoyance/disapproval/disgust and that hold no
                    listed profanity: casual, inoffensive talk ("hey guys what's up");
* ``rude_request`` / ``polite_request`` - an analogue of "least/most polite
  requests": requests and questions aimed at the reader ("you", "can you", "?")
  from the offensive sets vs. from the inoffensive tweets and the customers'
  turns that say please/thank/could you/would you.

The evaluators' sets (Stanford Politeness Corpus, OLID/OffensEval, Customer
Support on Twitter) are not used anywhere.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import json
import os
import re
import sqlite3
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "SETS", "Item", "data_dir", "embeddings", "fold_of", "load", "part_of", "sample", "write_or_check",
]  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
HELD_OUT_SHARE = 0.30
SETS = (
    "agent", "apology", "customer", "offensive", "inoffensive", "rude_request", "polite_request",
    "casual",
)  # fmt: skip
_APOLOGY = re.compile(r"\b(sorry|apolog\w*|regret)\b", re.I)
_REQUEST = re.compile(
    r"\?|\b(you|your|can you|could you|would you|will you|why don'?t you)\b", re.I
)
_POLITE = re.compile(
    r"\b(please|thanks?|thank you|could you|would you|would it be possible)\b", re.I
)


@dataclass(frozen=True, slots=True)
class Item:
    text: str
    source: str


def data_dir(name: str) -> Path:
    """``shared/data/<name>``; exits with one clear line if it cannot be found."""
    env = os.environ.get("AA_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "data" for p in ROOT.parents]
    for base in candidates:
        if (base / name).is_dir():
            return base / name
    where = ", ".join(str(c) for c in candidates[:3])
    sys.exit(
        f"real-text data {name!r} not found (looked in {where}, ...): it is kept out of git in "
        "shared/data/ (see shared/data/README-r14.md); set AA_SHARED_DATA to its folder"
    )


def write_or_check(path: Path, text: str, *, check: bool) -> bool:
    """Write a generated file, or (``check``) say whether the committed one is byte-identical."""
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"{path.relative_to(ROOT)}: {'reproduced exactly' if same else 'DIFFERS'}")
        return same
    path.write_text(text, encoding="utf-8")
    return True


def part_of(text: str) -> str:
    """'held_out' or 'dev', from a hash of the text (stable across runs and machines)."""
    digest = hashlib.sha256(" ".join(text.lower().split()).encode()).digest()
    return "held_out" if int.from_bytes(digest[:4], "big") / 2**32 < HELD_OUT_SHARE else "dev"


def fold_of(text: str) -> str:
    """Splits the dev part in two: 'fit' (train the heads) and 'calib' (pick their thresholds)."""
    digest = hashlib.sha256(("fold:" + " ".join(text.lower().split())).encode()).digest()
    return "calib" if digest[0] < 128 else "fit"


def sample(items: list[Item], n: int, *, salt: str = "sample") -> list[Item]:
    """A fixed pseudo-random sample of at most ``n`` items (by hash, so it never changes)."""
    if len(items) <= n:
        return items
    key = [(hashlib.sha256((salt + i.text).encode()).digest(), k) for k, i in enumerate(items)]
    keep = sorted(k for _, k in sorted(key)[:n])
    return [items[k] for k in keep]


def embeddings(texts: list[str]) -> Any:
    """Unit vectors (numpy, len(texts) x 384) from the shipped embedder, cached on disk.

    The embedder gives a text the same vector whatever it is embedded with;
    texts are still embedded in fixed groups (the distinct requested texts
    ordered by hash, 256 at a time), as the cache's keys name them. The cache
    (~/.cache/agent-assist/bench-embeddings.sqlite) is keyed by model, group
    and text, so a different model or grouping never reuses a vector.
    """
    import numpy as np

    from kb_cache.embedder import DIMENSIONS, Embedder

    embedder = Embedder(threads=2)
    model = embedder.model_id
    path = Path.home() / ".cache" / "agent-assist" / "bench-embeddings.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vector BLOB)")
    universe = sorted(set(texts), key=lambda t: hashlib.sha256(t.encode()).digest())
    found: dict[str, Any] = {}
    groups = [universe[i : i + 256] for i in range(0, len(universe), 256)]
    done = 0
    for group in groups:
        tag = hashlib.sha256("\n".join(group).encode()).hexdigest()[:16]
        keys = [hashlib.sha256(f"{model}\n{tag}\n{t}".encode()).hexdigest() for t in group]
        marks = ",".join("?" * len(keys))
        cached = dict(db.execute(f"SELECT key, vector FROM v WHERE key IN ({marks})", keys))
        if len(cached) == len(keys):
            vectors = [np.frombuffer(cached[k], dtype=np.float32) for k in keys]
        else:
            vectors = list(embedder.embed(group))
            db.executemany(
                "INSERT OR REPLACE INTO v VALUES (?, ?)",
                [(k, v.tobytes()) for k, v in zip(keys, vectors, strict=True)],
            )
            db.commit()
            done += len(group)
            if len(universe) > 2000:
                print(f"  embedded {done} new of {len(universe)}", file=sys.stderr, flush=True)
        found.update(zip(group, vectors, strict=True))
    db.close()
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for k, text in enumerate(texts):
        out[k] = found[text]
    return out


def load(name: str, part: str) -> list[Item]:
    """The items of set ``name`` in ``part`` ("dev", "held_out" or "all"), deduplicated, in a fixed order."""
    if name not in SETS:
        raise ValueError(f"unknown set {name!r}")
    seen: set[str] = set()
    out = []
    for item in _SETS[name]():
        key = " ".join(item.text.lower().split())
        if not key or key in seen or (part != "all" and part_of(item.text) != part):
            continue
        seen.add(key)
        out.append(item)
    return out


# -- sources -----------------------------------------------------------------------


@cache
def _sgd() -> tuple[tuple[str, str], ...]:
    path = data_dir("sgd") / "turns.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return tuple((row["speaker"], row["utterance"]) for row in map(json.loads, f))


_MWOZ_FIX = [(" 's", "'s"), (" 'm", "'m"), (" 're", "'re"), (" 've", "'ve"), (" 'll", "'ll"),
             (" 'd", "'d"), (" n't", "n't"), (" ,", ","), (" .", "."), (" ?", "?"), (" !", "!"),
             (" :", ":"), (" ;", ";")]  # fmt: skip


def _detokenise(text: str) -> str:
    text = " ".join(text.split())
    for a, b in _MWOZ_FIX:
        text = text.replace(a, b)
    return text


@cache
def _multiwoz() -> tuple[tuple[str, str], ...]:
    out = []
    for split in ("val", "test"):
        with zipfile.ZipFile(data_dir("multiwoz") / f"{split}.json.zip") as z:
            data = json.loads(z.read(z.namelist()[0]))
        for _, dialogue in sorted(data.items()):
            for i, turn in enumerate(dialogue["log"]):
                out.append(("SYSTEM" if i % 2 else "USER", _detokenise(turn["text"])))
    return tuple(out)


_TWEET_NOISE = [
    (re.compile(r"&#\d+;|&\w+;"), " "),
    (re.compile(r"\bRT\b\s*"), " "),
    (re.compile(r"@\w+:?"), " "),
    (re.compile(r"https?://\S+"), " "),
    (re.compile(r"#"), ""),
    (re.compile(r"!{2,}"), "!"),
]


def _clean_tweet(text: str) -> str:
    text = html.unescape(text)
    for pattern, repl in _TWEET_NOISE:
        text = pattern.sub(repl, text)
    return " ".join(text.split()).strip(' :"')


@cache
def _davidson() -> tuple[tuple[str, str], ...]:
    """(label, text): label "offensive" (hate or offensive by majority) or "inoffensive" (all coders)."""
    out = []
    with open(data_dir("davidson-offensive") / "labeled_data.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = _clean_tweet(row["tweet"])
            if len(text.split()) < 3:
                continue
            if row["class"] in ("0", "1"):
                out.append(("offensive", text))
            elif row["neither"] == row["count"]:
                out.append(("inoffensive", text))
    return tuple(out)


@cache
def _toxic_spans() -> tuple[str, ...]:
    out = []
    for split in ("trial", "train", "test"):
        with open(data_dir("toxic-spans") / f"tsd_{split}.csv", encoding="utf-8") as f:
            out += [" ".join(row["text"].split()) for row in csv.DictReader(f)]
    return tuple(out)


def _agent() -> Iterator[Item]:
    yield from (Item(t, "sgd") for s, t in _sgd() if s == "SYSTEM")
    yield from (Item(t, "multiwoz") for s, t in _multiwoz() if s == "SYSTEM")


def _apology() -> Iterator[Item]:
    return (i for i in _agent() if _APOLOGY.search(i.text))


def _customer() -> Iterator[Item]:
    yield from (Item(t, "sgd") for s, t in _sgd() if s == "USER")
    yield from (Item(t, "multiwoz") for s, t in _multiwoz() if s == "USER")


def _offensive() -> Iterator[Item]:
    yield from (Item(t, "davidson") for label, t in _davidson() if label == "offensive")
    yield from (Item(t, "toxic_spans") for t in _toxic_spans())


def _inoffensive() -> Iterator[Item]:
    return (Item(t, "davidson") for label, t in _davidson() if label == "inoffensive")


def _rude_request() -> Iterator[Item]:
    return (i for i in _offensive() if _REQUEST.search(i.text) and len(i.text) < 300)


def _polite_request() -> Iterator[Item]:
    for item in (*_inoffensive(), *_customer()):
        if _REQUEST.search(item.text) and _POLITE.search(item.text):
            yield item


_NEGATIVE_EMOTIONS = {"2", "3", "10", "11"}  # anger, annoyance, disapproval, disgust


@cache
def _profane_words() -> frozenset[str]:
    # the shipped lexicon: a change to it can change the casual set (then retrain the heads)
    from agent_assist.risk.pack import load_pack

    return load_pack().lexicon_words["profanity"]


def _casual() -> Iterator[Item]:
    profane = _profane_words()
    for split in ("train", "dev", "test"):
        with open(data_dir("goemotions") / f"{split}.tsv", encoding="utf-8") as f:
            for line in f:
                text, labels, _ = line.rstrip("\n").split("\t")
                if set(labels.split(",")) & _NEGATIVE_EMOTIONS:
                    continue
                text = text.replace("[NAME]", "Sam").replace("[RELIGION]", "religion")
                if len(text.split()) < 3 or set(re.findall(r"[a-z]+", text.lower())) & profane:
                    continue
                yield Item(text, "goemotions")


_SETS = {
    "agent": _agent,
    "apology": _apology,
    "customer": _customer,
    "offensive": _offensive,
    "inoffensive": _inoffensive,
    "rude_request": _rude_request,
    "polite_request": _polite_request,
    "casual": _casual,
}


# How much of each set the bench scripts use (fixed samples, so every run sees the same text).
DEV_SAMPLE = {
    "agent": 40000,
    "customer": 8000,
    "offensive": 10000,
    "inoffensive": 10**9,
    "apology": 10**9,
}
HELD_OUT_SAMPLE = {
    "agent": 12000, "apology": 10**9, "offensive": 4000, "inoffensive": 10**9,
    "rude_request": 2500, "polite_request": 2500,
}  # fmt: skip


CASUAL_SAMPLE = {"dev": 8000, "held_out": 2000}


def casual_set(part: str) -> list[Item]:
    """Casual talk, kept apart from the other sets so their embedding groups never change."""
    return sample(load("casual", part), CASUAL_SAMPLE[part])


def dev_sets() -> dict[str, list[Item]]:
    return {name: sample(load(name, "dev"), n) for name, n in DEV_SAMPLE.items()}


def held_out_sets() -> dict[str, list[Item]]:
    return {name: sample(load(name, "held_out"), n) for name, n in HELD_OUT_SAMPLE.items()}


def training_texts() -> list[str]:
    """Every text bench/risk_train.py embeds (one fixed universe, see :func:`embeddings`)."""
    labelled = ROOT / "tests" / "data" / "risk_utterances.jsonl"
    rows = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
    texts = {i.text for items in dev_sets().values() for i in items}
    texts |= {r["text"] for r in rows if int(r["id"][1:]) % 2 == 1}
    return sorted(texts)


def evaluation_texts() -> list[str]:
    """Every text bench/risk_real.py embeds."""
    return sorted({i.text for items in held_out_sets().values() for i in items})


if __name__ == "__main__":  # counts per set and part; --embed fills the embedding cache
    if "--embed" in sys.argv:
        casual = [sorted({i.text for i in casual_set(p)}) for p in ("dev", "held_out")]
        for universe in (training_texts(), evaluation_texts(), *casual):
            print(f"embedding {len(universe)} texts", file=sys.stderr)
            embeddings(universe)
        sys.exit(0)
    for set_name in SETS:
        counts = {p: len(load(set_name, p)) for p in ("dev", "held_out")}
        print(f"{set_name:<15} dev {counts['dev']:>7}  held-out {counts['held_out']:>6}")
