"""Knowledge-cache speed: embedding throughput, the demo import, and 100,000 articles.

* **embed**: 10,000 distinct real customer queries (BANKING77) embedded in batches;
* **demo**: importing the demo (77 articles, 9,999 trigger phrasings plus titles,
  tag lines and passages) into an empty cache, with the shipped vectors
  (what `agent-assist demo` does) and embedding everything;
* **scale**: 100,000 synthetic articles (a title drawn from a pool of real
  queries, tags, and a body of three paragraphs drawn from the demo's
  passages, so the embedding work is the pools while the index holds every
  article's units): import time, database size, keyword and hybrid search
  latency (p50/p95, wall clock and CPU) with real queries, the vector
  index's load time, and its recall against brute force (the semantic top-10
  articles of both, compared).

Timings are wall clock on this machine as loaded as it is; the load average is
printed with them, and each search is also timed in CPU seconds (all threads of
this process), which other processes disturb much less.

Run: ``python bench/kb.py [--only embed,demo,scale] [--articles 100000] [--queries 300]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from banking77 import train_csv

from kb_cache.demo import demo_articles, demo_vectors
from kb_cache.embedder import Embedder
from kb_cache.importer import Article, write_articles
from kb_cache.passages import passages
from kb_cache.search import KnowledgeBase
from kb_cache.store import open_cache
from kb_cache.vectors import VectorIndex

DATA = train_csv()
DEPARTMENTS = ("Cards", "Payments", "Transfers", "Top-ups", "Foreign exchange", "Fraud & security")


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    return f"p50 {statistics.median(values):6.2f} ms  p95 {values[int(0.95 * (len(values) - 1))]:6.2f} ms"


def size_mb(path: Path) -> float:
    """The database's size once its write-ahead log is checkpointed (as SQLite does by itself)."""
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def timed_searches(kb: KnowledgeBase, queries: list[str], mode: str) -> tuple[str, str]:
    wall, cpu = [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.process_time()
        kb.search(q, mode=mode)  # type: ignore[arg-type]
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return percentiles(wall), percentiles(cpu)


def bench_embed(texts: list[str], embedder: Embedder) -> None:
    batch = texts[:10_000]
    for attempt in (1, 2):
        t0, c0 = time.perf_counter(), time.process_time()
        embedder.embed(batch)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"embed         {len(batch):,} phrasings: {wall:.1f} s wall, {cpu:.1f} s CPU (run {attempt}; {load()})"
        )


def bench_demo(embedder: Embedder) -> None:
    articles = demo_articles()
    phrasings = sum(len(a.triggers) for a in articles)
    known = demo_vectors(embedder.name)
    with tempfile.TemporaryDirectory() as tmp:
        for label, vectors in (("shipped vectors", known), ("embedding all", None)):
            db = open_cache(Path(tmp) / f"{label}.db")
            t0, c0 = time.perf_counter(), time.process_time()
            result = write_articles(db, articles, embedder=embedder, source="demo", known=vectors)
            kb = KnowledgeBase(db, embedder=embedder)
            first = kb.search("my card has still not arrived")[0].id
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            units = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
            print(
                f"demo import   {label}: {len(articles)} articles, {phrasings:,} phrasings, {units:,} "
                f"units ({result.embedded:,} embedded) and a first search ({first}): "
                f"{wall:.1f} s wall, {cpu:.1f} s CPU ({load()})"
            )


def synthetic(n: int, titles: list[str], paragraphs: list[str], seed: int = 1) -> list[Article]:
    rng = random.Random(seed)
    words = sorted({w for t in titles for w in t.lower().split() if w.isalpha()})
    tag_pool = [(rng.choice(words), rng.choice(words)) for _ in range(500)]
    return [
        Article(
            id=f"art-{i:06d}",
            title=rng.choice(titles),
            body="\n\n".join(rng.sample(paragraphs, 3)),
            tags=rng.choice(tag_pool),
            department=rng.choice(DEPARTMENTS),
            authority="Escalate above 50 USD.",
        )
        for i in range(n)
    ]


def recall(
    index: VectorIndex, queries: np.ndarray, k: int = 20
) -> tuple[float, float, float, float]:
    """The index against brute force over every unit, per query: recall@k of the nearest
    units (by similarity, so copies of one text do not matter), how often the best article's
    score is the brute-force best, and the ms each takes (semantic part only)."""
    found = agree = 0
    t_index = t_brute = 0.0
    for q in queries:
        t0 = time.perf_counter()
        nearest = index.nearest(q, k)
        scored = index.score(q, index.candidates(q))
        t_index += time.perf_counter() - t0
        t0 = time.perf_counter()
        sims = np.empty(len(index.codes), dtype=np.float32)
        for start in range(0, len(index.codes), 65_536):
            stop = min(start + 65_536, len(index.codes))
            sims[start:stop] = index.rows(np.arange(start, stop)) @ q
        best_units = np.argpartition(-sims, 2000)[:2000]
        exact = index.score(q, {int(index.owner[i]) for i in best_units})
        t_brute += time.perf_counter() - t0
        kth = np.sort(sims[best_units])[::-1][k - 1]
        found += int(np.sum(index.rows(nearest) @ q >= kth - 1e-6))
        agree += abs(max(s for s, _ in scored.values()) - max(s for s, _ in exact.values())) < 1e-5
    n = len(queries)
    return found / (n * k), agree / n, t_index / n * 1000, t_brute / n * 1000


def bench_scale(args: argparse.Namespace, texts: list[str], embedder: Embedder) -> None:
    rng = random.Random(7)
    pool, queries = texts[: args.pool], texts[-args.queries :]
    paragraphs = sorted({p for a in demo_articles() for p in passages(a.body)})
    articles = synthetic(args.articles, pool, paragraphs)
    rng.shuffle(queries)
    with tempfile.TemporaryDirectory() as tmp:
        keyword_path, hybrid_path = Path(tmp) / "keyword.db", Path(tmp) / "hybrid.db"
        db = open_cache(keyword_path)
        t0 = time.perf_counter()
        write_articles(db, articles, embedder=None, source="bench")
        keyword_import = time.perf_counter() - t0
        kb = KnowledgeBase(db)
        kb.search("warm up", mode="keyword")
        keyword_wall, keyword_cpu = timed_searches(kb, queries, "keyword")
        hdb = open_cache(hybrid_path)
        t0 = time.perf_counter()
        result = write_articles(hdb, articles, embedder=embedder, source="bench")
        hybrid_import = time.perf_counter() - t0
        hkb = KnowledgeBase(hdb, embedder=embedder)
        t0 = time.perf_counter()
        hkb.search("warm up the vector index")
        index_load = time.perf_counter() - t0
        hybrid_wall, hybrid_cpu = timed_searches(hkb, queries, "hybrid")
        units = hdb.execute("SELECT count(*) FROM vectors").fetchone()[0]
        index = hkb._index.index
        vectors = embedder.embed(queries[:100])
        measured = recall(index, vectors)
        print(
            f"scale         {args.articles:,} articles, {units:,} units ({result.embedded:,} distinct texts embedded); {load()}"
        )
        print(
            f"import        keyword-only {keyword_import:.1f} s; with embeddings {hybrid_import:.1f} s"
        )
        print(
            f"db size       keyword-only {size_mb(keyword_path):.0f} MB; with vectors {size_mb(hybrid_path):.0f} MB"
        )
        print(
            f"keyword       {keyword_wall} wall | {keyword_cpu} CPU ({len(queries)} real queries)"
        )
        print(
            f"hybrid        {hybrid_wall} wall | {hybrid_cpu} CPU (index loaded in {index_load:.1f} s)"
        )
        print(
            f"vector index  recall@20 of the nearest units {measured[0]:.3f}, best article found "
            f"{measured[1]:.3f} of the time, against brute force over every unit; "
            f"{measured[2]:.1f} ms vs {measured[3]:.1f} ms per query (semantic part only)"
        )
    print(
        f"memory        peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Knowledge-cache speed benchmark.")
    parser.add_argument("--only", default="embed,demo,scale")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--pool", type=int, default=5000, help="distinct synthetic titles")
    args = parser.parse_args()
    with open(DATA, encoding="utf-8", newline="") as f:
        texts = list(dict.fromkeys(r["text"].strip() for r in csv.DictReader(f)))
    random.Random(7).shuffle(texts)
    embedder = Embedder(threads=2)
    embedder.embed(["warm up"])
    only = args.only.split(",")
    if "embed" in only:
        bench_embed(texts, embedder)
    if "demo" in only:
        bench_demo(embedder)
    if "scale" in only:
        bench_scale(args, texts, embedder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
