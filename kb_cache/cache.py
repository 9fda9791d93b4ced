"""Opening the knowledge cache the way every caller needs it (the CLI, the app, benchmarks).

The library owns the cache (as sqlite-utils does): callers say only which file,
whether embeddings are wanted, and whether an empty default cache may first be
filled with the demo articles.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from kb_cache.embedder import Embedder
from kb_cache.search import KnowledgeBase
from kb_cache.store import default_db_path, open_cache

__all__ = ["EMBED_THREADS", "make_embedder", "open_db", "open_knowledge"]

EMBED_THREADS = 2  # onnxruntime threads: the app keeps the other cores for audio and Qt


def make_embedder(enabled: bool = True) -> Embedder | None:
    """The sentence embedder (loaded on first use), or None for keyword-only work."""
    return Embedder(threads=EMBED_THREADS) if enabled else None


def open_db(
    path: str | Path | None = None,
    *,
    seed_demo: bool = False,
    embedder: Embedder | None = None,
    notify: Callable[[str], None] | None = None,
) -> sqlite_utils.Database:
    """The cache at ``path`` (empty or None: :func:`~kb_cache.store.default_db_path`).

    With ``seed_demo``, an empty *default* cache is filled with the demo articles
    first (a cache the caller named is never filled), with the demo's shipped
    vectors (:func:`~kb_cache.demo.demo_vectors`), embedding with ``embedder``
    (or a new one) only what they lack. With an ``embedder``, vectors another
    model made (an update shipped a new one) are embedded again
    (:func:`~kb_cache.importer.reembed`). ``notify`` is told before either starts.
    Raises KnowledgeError when the file cannot be used.
    """
    target = Path(path) if path else default_db_path()
    db = open_cache(target)
    if seed_demo and not path and db["articles"].count == 0:
        from kb_cache.demo import demo_articles, demo_vectors
        from kb_cache.importer import write_articles

        if notify is not None:
            notify(f"{target} was empty; loading the demo knowledge base ...")
        embedder = embedder or make_embedder()
        known = demo_vectors(embedder.name) if embedder is not None else None
        write_articles(db, demo_articles(), embedder=embedder, source="demo", known=known)
    elif embedder is not None:
        from kb_cache.importer import reembed, stale_vectors

        if stale_vectors(db, embedder):
            from kb_cache.demo import demo_vectors

            if notify is not None:
                notify(f"{target} was indexed by an older search model; indexing it again ...")
            reembed(db, embedder=embedder, known=demo_vectors(embedder.name))
    return db


def open_knowledge(
    path: str | Path | None = None,
    *,
    seed_demo: bool = False,
    embed: bool = True,
    notify: Callable[[str], None] | None = None,
) -> KnowledgeBase:
    """A :class:`KnowledgeBase` on :func:`open_db` with one embedder (None if not ``embed``).

    Like every SQLite connection here, use it only on the thread that opened it.
    """
    embedder = make_embedder(embed)
    db = open_db(path, seed_demo=seed_demo, embedder=embedder, notify=notify)
    return KnowledgeBase(db, embedder=embedder)
