"""Search accuracy on real customer queries the cache has never seen (BANKING77), per mode.

``train.csv`` (BANKING77's *training* file; its official test split is never
used here) is split deterministically, per intent: 20% **held-out** (what this
benchmark reports), 10% **dev** (the only queries any weight or choice in
kb_cache/search.py and kb_cache/vectors.py was tuned on) and 70% train. The
demo articles (title, body, tags, department, authority) get, per mode:

* ``phrasings``: the first 20 train queries of their intent as trigger phrasings
  (``phrasingsN``: the first N, e.g. what a site has learned after a while);
* ``none``: no phrasings at all, title and body only (a new site's day one);

and every held-out query is searched keyword-only, semantic-only and hybrid.
A query is right at top-1 when its intent's article ranks first, at top-3 when
it is among the first three. Timings are per query, wall clock and CPU (all
threads of this process, which other processes disturb much less), on this
machine as loaded as it is (the load average is printed).

Run: ``python bench/kb_eval.py [--split held-out|dev] [--modes phrasings,none] [--json]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from banking77 import train_csv

from kb_cache.demo import article_id, demo_articles
from kb_cache.embedder import Embedder
from kb_cache.importer import write_articles
from kb_cache.search import KnowledgeBase
from kb_cache.store import open_cache

DEFAULT_DATA = train_csv()
PHRASINGS = 20


def split(
    path: Path, seed: int = 77
) -> tuple[dict[str, list[str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(train phrasings by intent, dev queries, held-out queries); queries are (text, intent)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["category"]].append(row["text"].strip())
    train: dict[str, list[str]] = {}
    dev: list[tuple[str, str]] = []
    held_out: list[tuple[str, str]] = []
    for intent in sorted(by_intent):
        texts = sorted(by_intent[intent])
        random.Random(f"{seed}:{intent}").shuffle(texts)
        n_held, n_dev = round(len(texts) * 0.2), round(len(texts) * 0.1)
        held_out += [(t, intent) for t in texts[:n_held]]
        dev += [(t, intent) for t in texts[n_held : n_held + n_dev]]
        train[intent] = texts[n_held + n_dev :]
    return train, dev, held_out


def evaluate(kb: KnowledgeBase, queries: list[tuple[str, str]], mode: str) -> dict[str, float]:
    top1 = top3 = 0
    times, cpu = [], []
    for text, intent in queries:
        started, used = time.perf_counter(), time.process_time()
        hits = kb.search(text, limit=3, mode=mode)  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
        ranked = [h.id for h in hits]
        want = article_id(intent)
        top1 += bool(ranked) and ranked[0] == want
        top3 += want in ranked
    times.sort()
    cpu.sort()
    return {
        "top1": top1 / len(queries),
        "top3": top3 / len(queries),
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p95_ms": cpu[int(0.95 * (len(cpu) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Search accuracy on unseen BANKING77 queries.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--split", choices=("held-out", "dev"), default="held-out")
    parser.add_argument(
        "--modes", default="phrasings,none", help="phrasings, none (comma-separated)"
    )
    parser.add_argument("--search", default="keyword,semantic,hybrid")
    parser.add_argument("--sample", type=int, help="evaluate only the first N queries")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    train, dev, held_out = split(args.data, args.seed)
    queries = held_out if args.split == "held-out" else dev
    if args.sample:
        queries = random.Random(1).sample(queries, min(args.sample, len(queries)))
    embedder = Embedder(threads=2)
    embedder.embed(["warm up"])
    print(
        f"{args.split} queries {len(queries)}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    print(
        f"{'articles':<12} {'search':<9} {'top-1':>6} {'top-3':>6} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'cpu p50':>8} {'cpu p95':>8}"
    )
    report: dict[str, object] = {"split": args.split, "queries": len(queries)}
    for articles in args.modes.split(","):
        count = 0 if articles == "none" else int(articles[len("phrasings") :] or PHRASINGS)
        phrasings = {i: texts[:count] for i, texts in train.items()}
        with tempfile.TemporaryDirectory() as tmp:
            db = open_cache(Path(tmp) / "kb.db")
            started = time.perf_counter()
            write_articles(db, demo_articles(phrasings), embedder=embedder, source="eval")
            build = time.perf_counter() - started
            kb = KnowledgeBase(db, embedder=embedder)
            kb.search("warm up the index")
            for mode in args.search.split(","):
                result = evaluate(kb, queries, mode)
                report[f"{articles}/{mode}"] = result
                print(
                    f"{articles:<12} {mode:<9} {result['top1']:6.3f} {result['top3']:6.3f} "
                    f"{result['p50_ms']:7.2f} {result['p95_ms']:7.2f} "
                    f"{result['cpu_p50_ms']:8.2f} {result['cpu_p95_ms']:8.2f}",
                    flush=True,
                )
            report[f"{articles}/build_s"] = build
            print(f"{articles:<12} cache built in {build:.1f} s ({os.getloadavg()[0]:.1f} load)")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
