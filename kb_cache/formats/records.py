"""What a format parser returns: the articles read, where each was read, and what was skipped.

Apart from :mod:`kb_cache.formats` so the parsers can use it without importing
the package that dispatches to them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kb_cache.article import Article

__all__ = ["Located", "Parsed"]


@dataclass(frozen=True, slots=True)
class Located:
    """An article and where it was read (``line`` is 1-based)."""

    article: Article
    path: str
    line: int


@dataclass
class Parsed:
    """Everything read from one export: the articles in order, and what was skipped (by reason)."""

    format: str
    items: list[Located]
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def articles(self) -> list[Article]:
        """The articles alone, in the order they were read."""
        return [item.article for item in self.items]
