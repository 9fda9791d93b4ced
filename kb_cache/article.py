"""One knowledge article as every import format, sync and the demo produce it.

Fields: ``id``, ``title``, ``body`` (Markdown resolution steps), ``tags`` and
``triggers`` (lists: example customer phrasings), ``department`` (where to
route), ``authority`` (what the agent may do alone).

Text is plain: no control characters (a body may hold tabs and line breaks),
bidirectional overrides or isolates (they make text display as something it
is not) or lone surrogates; line breaks and tabs in one-line fields (titles,
tags, triggers, department, authority) become one space.

Ids keep their case (``KB0010001`` stays ``KB0010001``: the form ServiceNow and
most enterprise knowledge bases use) but two ids that differ only in case name
the same article: :func:`same_id` compares them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from agent_assist.errors import KnowledgeImportError

__all__ = ["FIELDS", "ID_RULE", "Article", "id_key", "same_id", "valid_id", "validate_record"]

FIELDS = ("id", "title", "body", "tags", "triggers", "department", "authority")
_LISTS = ("tags", "triggers")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# what no article text may hold: control characters (a body may have tab, LF, CR), bidi
# overrides and isolates, lone surrogates
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BREAKS = re.compile(r"\s*[\t\n\r\u2028\u2029]+\s*")
ID_RULE = "letters, digits, '.', '_' or '-' (at most 100, starting with a letter or digit)"


@dataclass(frozen=True, slots=True)
class Article:
    """One knowledge article as imported (ARCHITECTURE.md §5); ``body`` holds the steps."""

    id: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    department: str | None = None
    authority: str | None = None

    def content_key(self) -> str:
        """A hash of everything but the id: an unchanged import keeps the version."""
        data = [
            self.title,
            self.body,
            list(self.tags),
            list(self.triggers),
            self.department,
            self.authority,
        ]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def valid_id(value: str) -> bool:
    """Whether ``value`` may be an article id (see :data:`ID_RULE`)."""
    return bool(_ID.match(value))


def id_key(article_id: str) -> str:
    """What two ids must differ in to name different articles (their case does not count)."""
    return article_id.casefold()


def same_id(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` name the same article (ids compare without case)."""
    return id_key(a) == id_key(b)


def validate_record(data: dict[str, Any], *, path: str, line: int) -> Article:
    """One article from its field dict, or KnowledgeImportError naming ``path`` and ``line``."""

    def fail(message: str) -> KnowledgeImportError:
        return KnowledgeImportError(message, path=path, line=line)

    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise fail(f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    values: dict[str, Any] = {}
    for name in ("id", "title", "body"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{name!r} is required and must be text")
        values[name] = value.strip() if name == "body" else _one_line(value)
    for name, value in data.items():
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str):
                continue
            bad = _UNSAFE.search(text)
            if bad:
                raise fail(f"{name!r} contains U+{ord(bad.group()):04X}, which is not plain text")
    if not valid_id(values["id"]):
        raise fail(f"id {values['id']!r} must be {ID_RULE}")
    for name in _LISTS:
        items = data.get(name) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise fail(f"{name!r} must be a list of text")
        values[name] = tuple(dict.fromkeys(_one_line(i) for i in items if i.strip()))
    for name in ("department", "authority"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise fail(f"{name!r} must be text")
        values[name] = _one_line(value) or None if isinstance(value, str) else None
    return Article(**values)


def _one_line(text: str) -> str:
    """A one-line field: line breaks and tabs (e.g. in exported queries) become one space."""
    return _BREAKS.sub(" ", text).strip()
