"""The demo knowledge base for "Northwind Bank", built on BANKING77 (CC BY 4.0).

``demo/articles.jsonl`` holds one article per BANKING77 intent (resolution
steps, department, authority) and ``demo/triggers.json`` the 10,003 real
customer queries of the BANKING77 training split, grouped by intent, which
become the articles' trigger phrasings. See demo/NOTICE.md for attribution.

``demo/vectors.npz`` holds the embeddings of every demo unit (titles, tag
lines, passages, phrasings: int8, as the cache stores them), made by
``scripts/build-demo-vectors``, so filling a cache with the demo embeds
nothing and takes a second or two. They are used only when they were made by
the embedding model in use.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kb_cache.article import Article, validate_record

__all__ = [
    "DEMO_ARTICLES",
    "DEMO_TRIGGERS",
    "DEMO_VECTORS",
    "article_id",
    "demo_articles",
    "demo_vectors",
    "write_demo_vectors",
]

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_ARTICLES = DEMO_DIR / "articles.jsonl"
DEMO_TRIGGERS = DEMO_DIR / "triggers.json"
DEMO_VECTORS = DEMO_DIR / "vectors.npz"


def article_id(intent: str) -> str:
    """The demo article id of a BANKING77 intent ("Refund_not_showing_up" -> "refund-not-showing-up")."""
    return re.sub(r"[^a-z0-9._-]", "", intent.lower().replace("_", "-"))


def demo_articles(triggers: dict[str, list[str]] | None = None) -> list[Article]:
    """The demo articles with their trigger phrasings (``triggers`` replaces the shipped ones).

    Trigger phrasings are matched to articles by :func:`article_id` of their intent.
    """
    by_intent = triggers if triggers is not None else json.loads(DEMO_TRIGGERS.read_text())
    phrasings = {article_id(intent): list(texts) for intent, texts in by_intent.items()}
    articles = []
    for number, line in enumerate(DEMO_ARTICLES.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        record["triggers"] = phrasings.get(record["id"], [])
        articles.append(validate_record(record, path=str(DEMO_ARTICLES), line=number))
    return articles


def demo_vectors(model: str, path: Path = DEMO_VECTORS) -> dict[str, bytes]:
    """Stored vectors of the demo's units by text hash, if ``path`` was made by ``model``; else {}."""
    import numpy as np

    try:
        with np.load(path) as data:
            if str(data["model"]) != model:
                return {}
            hashes, codes = data["hashes"], data["codes"]
    except (OSError, KeyError, ValueError):
        return {}  # no file, or not ours: the demo is embedded like any import
    return {h.tobytes().hex(): c.tobytes() for h, c in zip(hashes, codes, strict=True)}


def write_demo_vectors(embedder: Any, path: Path = DEMO_VECTORS) -> int:
    """Embed every unit of the demo articles with ``embedder`` into ``path``; returns how many."""
    import numpy as np

    from kb_cache.importer import article_units, text_hash
    from kb_cache.vectors import encode

    units = {
        text_hash(kind, text): text
        for article in demo_articles()
        for kind, text in article_units(article)
    }
    hashes = sorted(units)
    vectors = embedder.embed([units[h] for h in hashes])
    codes = np.frombuffer(b"".join(encode(v) for v in vectors), dtype=np.int8)
    np.savez_compressed(
        path,
        model=np.array(embedder.name),
        # raw SHA-1 digests as bytes (numpy's "S" strings would drop trailing zero bytes)
        hashes=np.frombuffer(b"".join(bytes.fromhex(h) for h in hashes), np.uint8).reshape(-1, 20),
        codes=codes.reshape(len(hashes), -1),
    )
    return len(hashes)
