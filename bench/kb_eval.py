"""Search accuracy on held-out real customer queries (BANKING77), keyword-only vs hybrid.

``train.csv`` is split *by query* (seeded shuffle, 80/20): the demo articles get
the 80% as trigger phrasings, and every query of the other 20% is searched.
A query is right at top-1 when its intent's article ranks first, at top-3 when
it is among the first three. The hybrid's weights were chosen on a split with
another seed (42), so this split (seed 2026 by default) measures them honestly.

Run: ``python bench/kb_eval.py [--seed 2026] [--sample N] [--json]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_cache.demo import article_id, demo_articles
from kb_cache.embedder import Embedder
from kb_cache.importer import write_articles
from kb_cache.search import KnowledgeBase
from kb_cache.store import open_cache

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "train.csv"


def split(path: Path, seed: int) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = [(r["text"].strip(), r["category"]) for r in csv.DictReader(f)]
    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * 0.8)
    triggers: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows[:cut]:
        triggers[intent].append(text)
    return dict(triggers), rows[cut:]


def evaluate(
    kb: KnowledgeBase, queries: list[tuple[str, str]], mode: Literal["hybrid", "keyword"]
) -> dict[str, float]:
    top1 = top3 = 0
    times = []
    for text, intent in queries:
        started = time.perf_counter()
        hits = kb.search(text, limit=3, mode=mode)
        times.append((time.perf_counter() - started) * 1000)
        ranked = [h.id for h in hits]
        want = article_id(intent)
        top1 += bool(ranked) and ranked[0] == want
        top3 += want in ranked
    times.sort()
    return {
        "top1": top1 / len(queries),
        "top3": top3 / len(queries),
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Search accuracy on held-out BANKING77 queries.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sample", type=int, help="evaluate only the first N held-out queries")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    triggers, held_out = split(args.data, args.seed)
    if args.sample:
        held_out = held_out[: args.sample]
    with tempfile.TemporaryDirectory() as tmp:
        db = open_cache(Path(tmp) / "kb.db")
        embedder = Embedder(threads=2)
        started = time.perf_counter()
        write_articles(db, demo_articles(triggers), embedder=embedder, source="eval")
        build = time.perf_counter() - started
        kb = KnowledgeBase(db, embedder=embedder)
        results = {mode: evaluate(kb, held_out, mode) for mode in ("keyword", "hybrid")}
    print(
        f"held-out queries {len(held_out)} (seed {args.seed}); cache built with "
        f"{sum(map(len, triggers.values()))} trigger phrasings in {build:.1f} s"
    )
    print(f"{'mode':<8} {'top-1':>6} {'top-3':>6} {'p50 ms':>7} {'p95 ms':>7}")
    for mode, r in results.items():
        print(f"{mode:<8} {r['top1']:6.3f} {r['top3']:6.3f} {r['p50_ms']:7.2f} {r['p95_ms']:7.2f}")
    if args.json:
        print(
            json.dumps({"seed": args.seed, "queries": len(held_out), "build_s": build, **results})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
