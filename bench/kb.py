"""Knowledge-cache scale benchmark: 100,000 synthetic articles.

Measures import time (keyword-only, and with embeddings), database size, search
latency p50/p95 for keyword and hybrid search with real customer queries
(BANKING77), and the process's peak memory. Synthetic titles are drawn from a
pool of distinct phrasings (real customer queries), so the embedding work at
import is that pool; the embedder's throughput on unique texts is reported so
the cost of 100,000 unique titles can be read off directly.

Run: ``python bench/kb.py [--articles 100000] [--queries 300]``.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from banking77 import train_csv

from kb_cache.embedder import Embedder
from kb_cache.importer import Article, write_articles
from kb_cache.search import KnowledgeBase
from kb_cache.store import open_cache

DATA = train_csv()
DEPARTMENTS = ("Cards", "Payments", "Transfers", "Top-ups", "Foreign exchange", "Fraud & security")


def synthetic(n: int, phrases: list[str], seed: int = 1) -> list[Article]:
    rng = random.Random(seed)
    words = sorted({w for p in phrases for w in p.lower().split() if w.isalpha()})
    out = []
    for i in range(n):
        title = rng.choice(phrases)
        body = " ".join(rng.choice(words) for _ in range(60))
        out.append(Article(
            id=f"art-{i:06d}", title=title, body=body, tags=(rng.choice(words),),
            department=rng.choice(DEPARTMENTS), authority="Escalate above 50 USD.",
        ))  # fmt: skip
    return out


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    return (
        f"p50={statistics.median(values):.2f} ms p95={values[int(0.95 * (len(values) - 1))]:.2f} ms"
    )


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description="Knowledge-cache scale benchmark.")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--pool", type=int, default=5000, help="distinct synthetic titles")
    args = parser.parse_args()
    with open(DATA, encoding="utf-8", newline="") as f:
        texts = [r["text"].strip() for r in csv.DictReader(f)]
    rng = random.Random(7)
    rng.shuffle(texts)
    pool, queries = texts[: args.pool], texts[-args.queries :]
    articles = synthetic(args.articles, pool)
    embedder = Embedder(threads=2)
    started = time.perf_counter()
    embedder.embed(texts[args.pool : args.pool + 1000])
    per_text_ms = (time.perf_counter() - started) / 1000 * 1000
    with tempfile.TemporaryDirectory() as tmp:
        keyword_db_path, hybrid_db_path = Path(tmp) / "keyword.db", Path(tmp) / "hybrid.db"
        db = open_cache(keyword_db_path)
        started = time.perf_counter()
        write_articles(db, articles, embedder=None, source="bench")
        keyword_import = time.perf_counter() - started
        kb = KnowledgeBase(db)
        keyword_times = []
        for q in queries:
            t0 = time.perf_counter()
            kb.search(q, mode="keyword")
            keyword_times.append((time.perf_counter() - t0) * 1000)
        hdb = open_cache(hybrid_db_path)
        started = time.perf_counter()
        write_articles(hdb, articles, embedder=embedder, source="bench")
        hybrid_import = time.perf_counter() - started
        hkb = KnowledgeBase(hdb, embedder=embedder)
        started = time.perf_counter()
        hkb.search("warm up the vector index")
        index_load = time.perf_counter() - started
        hybrid_times = []
        for q in queries:
            t0 = time.perf_counter()
            hkb.search(q)
            hybrid_times.append((time.perf_counter() - t0) * 1000)
        print(f"articles      {args.articles:,} ({args.pool:,} distinct titles, 60-word bodies)")
        print(
            f"import        keyword-only {keyword_import:.1f} s; with embeddings {hybrid_import:.1f} s"
        )
        print(
            f"embedder      {per_text_ms:.2f} ms per unique text (2 threads): "
            f"{args.articles * per_text_ms / 1000:.0f} s would embed {args.articles:,} unique titles"
        )
        print(
            f"db size       keyword-only {size_mb(keyword_db_path):.0f} MB; with vectors {size_mb(hybrid_db_path):.0f} MB"
        )
        print(f"search        keyword {percentiles(keyword_times)} ({len(queries)} real queries)")
        print(
            f"search        hybrid  {percentiles(hybrid_times)} (vector index loaded in {index_load:.1f} s)"
        )
        print(
            f"memory        peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
