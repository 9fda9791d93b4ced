"""The demo knowledge base for "Northwind Bank", built on BANKING77 (CC BY 4.0).

``demo/articles.jsonl`` holds one article per BANKING77 intent (resolution
steps, department, authority) and ``demo/triggers.json`` the 10,003 real
customer queries of the BANKING77 training split, grouped by intent, which
become the articles' trigger phrasings. See demo/NOTICE.md for attribution.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kb_cache.article import Article, validate_record

__all__ = ["DEMO_ARTICLES", "DEMO_TRIGGERS", "article_id", "demo_articles"]

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_ARTICLES = DEMO_DIR / "articles.jsonl"
DEMO_TRIGGERS = DEMO_DIR / "triggers.json"


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
