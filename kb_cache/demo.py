"""The demo knowledge base for "Northwind Bank", built on BANKING77 (CC BY 4.0).

``demo/articles.jsonl`` holds one article per BANKING77 intent (resolution
steps, department, authority) and ``demo/triggers.json`` the 10,003 real
customer queries of the BANKING77 training split, grouped by intent, which
become the articles' trigger phrasings. See demo/NOTICE.md for attribution.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from kb_cache.importer import Article, parse_path

__all__ = ["DEMO_ARTICLES", "DEMO_TRIGGERS", "demo_articles"]

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_ARTICLES = DEMO_DIR / "articles.jsonl"
DEMO_TRIGGERS = DEMO_DIR / "triggers.json"


def demo_articles(triggers: dict[str, list[str]] | None = None) -> list[Article]:
    """The demo articles with their trigger phrasings (``triggers`` replaces the shipped ones)."""
    by_intent = triggers if triggers is not None else json.loads(DEMO_TRIGGERS.read_text())
    return [
        replace(a, triggers=tuple(by_intent.get(a.id.replace("-", "_"), ())))
        for a in parse_path(DEMO_ARTICLES)
    ]
