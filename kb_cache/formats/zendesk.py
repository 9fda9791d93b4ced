"""Zendesk Guide articles JSON: what ``GET /api/v2/help_center/articles.json`` returns.

``{"articles": [{"id": 360001234567, "title": ..., "body": "<p>HTML</p>",
"draft": false, "section_id": ..., "label_names": [...], ...}], "sections": [...],
"categories": [...]}``; ``sections`` and ``categories`` are there when the
export asked for them (``?include=sections,categories``). One page or several
saved one after another in the same file (one JSON object per page).

* ``id`` -> id (a number: kept as its digits); ``title`` -> title; ``body``
  (HTML) -> Markdown;
* the article's section name and ``label_names`` -> tags; the section's
  category name -> department;
* drafts are skipped (``draft: true``), and so are archived articles when the
  export marks them (``archived: true``); images and attachments in the HTML
  are dropped; each is counted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from agent_assist.errors import KnowledgeImportError
from agent_assist.limits import MAX_DEPTH, LimitError, check_depth
from kb_cache.article import validate_record
from kb_cache.formats.html import to_markdown
from kb_cache.formats.records import Located, Parsed

__all__ = ["read"]

_ARTICLES = re.compile(r'"articles"\s*:\s*\[')


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _pages(text: str, path: str) -> list[tuple[dict[str, Any], int]]:
    """Each top-level JSON object with the offset it starts at."""
    decoder = json.JSONDecoder()
    pages: list[tuple[dict[str, Any], int]] = []
    offset = 0
    while True:
        while offset < len(text) and text[offset] in " \t\r\n":
            offset += 1
        if offset >= len(text):
            return pages
        try:
            value, end = decoder.raw_decode(text, offset)
        except json.JSONDecodeError as exc:
            raise KnowledgeImportError(
                f"not valid JSON ({exc.msg})", path=path, line=exc.lineno
            ) from None
        if not isinstance(value, dict) or not isinstance(value.get("articles"), list):
            raise KnowledgeImportError(
                'expected a Zendesk articles page: {"articles": [...]}',
                path=path,
                line=_line(text, offset),
            )
        pages.append((value, offset))
        offset = end


def _article_lines(text: str, start: int, count: int) -> list[int]:
    """The line each element of the page's ``articles`` array starts on."""
    decoder = json.JSONDecoder()
    match = _ARTICLES.search(text, start)
    assert match is not None  # the page parsed and has an "articles" list
    offset = match.end()
    lines = []
    for _ in range(count):
        while text[offset] in " \t\r\n,":
            offset += 1
        lines.append(_line(text, offset))
        _, offset = decoder.raw_decode(text, offset)
    return lines


def read(path: Path) -> Parsed:
    """A Zendesk Guide articles export (JSON, one or more pages): published articles."""
    text = path.read_text(encoding="utf-8-sig")
    try:  # the decoder recurses: a file nested thousands deep is refused, not a RecursionError
        check_depth(text, MAX_DEPTH)
    except LimitError as exc:
        raise KnowledgeImportError(f"JSON {exc}", path=str(path)) from None
    skipped: Counter[str] = Counter()
    items = []
    for page, start in _pages(text, str(path)):
        sections = {s.get("id"): s for s in page.get("sections") or [] if isinstance(s, dict)}
        categories = {c.get("id"): c for c in page.get("categories") or [] if isinstance(c, dict)}
        articles = page["articles"]
        for line, article in zip(_article_lines(text, start, len(articles)), articles, strict=True):
            if not isinstance(article, dict):
                raise KnowledgeImportError(
                    "an article must be an object", path=str(path), line=line
                )
            if article.get("draft"):
                skipped["drafts"] += 1
                continue
            if article.get("archived"):
                skipped["archived"] += 1
                continue
            record = _record(
                article, sections, categories, path=str(path), line=line, skipped=skipped
            )
            items.append(
                Located(validate_record(record, path=str(path), line=line), str(path), line)
            )
    return Parsed("zendesk", items, skipped)


def _record(
    article: dict[str, Any],
    sections: dict[Any, dict[str, Any]],
    categories: dict[Any, dict[str, Any]],
    *,
    path: str,
    line: int,
    skipped: Counter[str],
) -> dict[str, Any]:
    number = article.get("id")
    if isinstance(number, bool) or not isinstance(number, int | str) or not str(number).strip():
        raise KnowledgeImportError("the article has no 'id'", path=path, line=line)
    body = article.get("body")
    if body is not None and not isinstance(body, str):
        raise KnowledgeImportError("'body' must be HTML text", path=path, line=line)
    labels = article.get("label_names") or []
    if not isinstance(labels, list):
        raise KnowledgeImportError("'label_names' must be a list", path=path, line=line)
    section = sections.get(article.get("section_id")) or {}
    category = categories.get(section.get("category_id")) or {}
    tags = [str(section.get("name") or "")] + [str(label) for label in labels]
    record: dict[str, Any] = {
        "id": str(number).strip(),
        "title": article.get("title") or article.get("name") or "",
        "body": to_markdown(body or "", skipped),
        "tags": [t.strip() for t in dict.fromkeys(tags) if t.strip()],
    }
    if category.get("name"):
        record["department"] = str(category["name"])
    return record
