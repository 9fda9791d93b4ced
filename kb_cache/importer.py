"""Importing articles: a folder of Markdown files, JSON Lines, or CSV (ARCHITECTURE.md §5).

Fields: ``id``, ``title``, ``body`` (Markdown resolution steps), ``tags`` and
``triggers`` (lists: example customer phrasings), ``department`` (where to
route), ``authority`` (what the agent may do alone). In Markdown the fields are
a front-matter block and the body is the rest of the file; in CSV, lists are
``|``-separated.

An import is all or nothing: every record is parsed and validated first (a bad
one is reported with its file and line, and nothing is written), new texts are
embedded, then everything is written in one explicit transaction: a crash or a
kill at any moment leaves exactly the old or exactly the new cache. Existing
articles with the same id are replaced (their version goes up when their
content changed); no other article is touched.

Bounds: a JSON line, a CSV field or a Markdown file larger than ``MAX_LINE``
(1 MiB), or JSON nested deeper than 8 levels, is refused with its file and
line. Text must be valid Unicode without control characters (a body may have
line breaks and tabs) or bidirectional overrides.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from agent_assist.errors import KnowledgeImportError
from agent_assist.limits import MAX_LINE, LimitError, loads
from kb_cache.embedder import Embedder
from kb_cache.store import get_meta, now_iso, set_meta

__all__ = [
    "Article",
    "ImportResult",
    "import_path",
    "parse_path",
    "validate_record",
    "write_articles",
]

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
# what no article text may hold: control characters (a body may have tab, LF, CR), bidi
# overrides and isolates (they make text display as something it is not), lone surrogates
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BREAKS = re.compile(r"\s*[\t\n\r\u2028\u2029]+\s*")
_DEPTH = 8
_FIELDS = ("id", "title", "body", "tags", "triggers", "department", "authority")
_LISTS = ("tags", "triggers")


@dataclass(frozen=True, slots=True)
class Article:
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


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int
    embedded: int  # texts embedded now (others were already in the cache)


def validate_record(data: dict[str, Any], *, path: str, line: int) -> Article:
    """One article from its field dict, or KnowledgeImportError naming ``path`` and ``line``."""

    def fail(message: str) -> KnowledgeImportError:
        return KnowledgeImportError(message, path=path, line=line)

    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise fail(f"unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})")
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
    if not _ID.match(values["id"]):
        raise fail(f"id {values['id']!r} must be lower-case letters, digits, '.', '_' or '-'")
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


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, at most MAX_LINE bytes each (else an error)."""
    with open(path, "rb") as f:
        number = 0
        while raw := f.readline(MAX_LINE + 1):
            number += 1
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                raise KnowledgeImportError(
                    f"line longer than {MAX_LINE >> 20} MiB", path=str(path), line=number
                )
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                raise KnowledgeImportError("not UTF-8 text", path=str(path), line=number) from None


def _jsonl(path: Path) -> Iterator[Article]:
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            data = loads(line, max_bytes=MAX_LINE, max_depth=_DEPTH)
        except LimitError as exc:
            raise KnowledgeImportError(f"line {exc}", path=str(path), line=number) from None
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:80]
            raise KnowledgeImportError(
                f"not valid JSON ({reason})", path=str(path), line=number
            ) from None
        if not isinstance(data, dict):
            raise KnowledgeImportError(
                "each line must be a JSON object", path=str(path), line=number
            )
        yield validate_record(data, path=str(path), line=number)


def _csv(path: Path) -> Iterator[Article]:
    previous = csv.field_size_limit(MAX_LINE)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise KnowledgeImportError(
                        f"not valid CSV ({exc})", path=str(path), line=reader.line_num
                    ) from None
                line = reader.line_num
                if None in row:
                    raise KnowledgeImportError(
                        "more values than columns", path=str(path), line=line
                    )
                data: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
                for name in _LISTS:
                    if name in data:
                        data[name] = [part for part in data[name].split("|")]
                yield validate_record(data, path=str(path), line=line)
    finally:
        csv.field_size_limit(previous)


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], str, int]:
    """Parse ``---`` front matter: ``key: value``, ``key: [a, b]`` and ``- item`` lists."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise KnowledgeImportError(
            "no front matter (the file must start with ---)", path=str(path), line=1
        )
    data: dict[str, Any] = {}
    current: str | None = None
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip()
        if line.strip() == "---":
            return data, "\n".join(lines[number:]).strip(), number
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and current is not None and isinstance(data.get(current), list):
            data[current].append(_unquote(item.group(1)))
            continue
        pair = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if not pair:
            raise KnowledgeImportError(f"cannot read {line.strip()!r}", path=str(path), line=number)
        key, value = pair.group(1), pair.group(2).strip()
        current = key
        if not value:
            data[key] = []
        elif value.startswith("["):
            if not value.endswith("]"):
                raise KnowledgeImportError(
                    f"list for {key!r} is not closed", path=str(path), line=number
                )
            data[key] = [
                _unquote(v)
                for v in next(csv.reader([value[1:-1]], skipinitialspace=True), [])
                if v.strip()
            ]
        else:
            data[key] = _unquote(value)
    raise KnowledgeImportError(
        "front matter is not closed with ---", path=str(path), line=len(lines)
    )


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _markdown(folder: Path) -> Iterator[Article]:
    files = sorted(folder.rglob("*.md"))
    if not files:
        raise KnowledgeImportError("no .md files in this folder", path=str(folder))
    for file in files:
        if file.stat().st_size > MAX_LINE:
            raise KnowledgeImportError(f"larger than {MAX_LINE >> 20} MiB", path=str(file))
        data, body, body_line = _front_matter(file.read_text(encoding="utf-8"), file)
        data.setdefault("id", file.stem.lower())
        data["body"] = body
        yield validate_record(data, path=str(file), line=body_line if not body else 1)


def parse_path(path: str | Path) -> list[Article]:
    """Every article in ``path`` (folder of .md, .jsonl or .csv), validated; ids unique."""
    source = Path(path)
    try:
        if source.is_dir():
            articles = list(_markdown(source))
        elif source.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            articles = list(_jsonl(source))
        elif source.suffix.lower() == ".csv":
            articles = list(_csv(source))
        elif not source.exists():
            raise KnowledgeImportError("no such file or folder", path=str(source))
        else:
            raise KnowledgeImportError(
                "unknown format (use a folder of .md files, .jsonl or .csv)", path=str(source)
            )
    except UnicodeDecodeError:
        raise KnowledgeImportError("not UTF-8 text", path=str(source)) from None
    except OSError as exc:
        raise KnowledgeImportError(f"cannot read it ({exc.strerror})", path=str(source)) from None
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise KnowledgeImportError(f"id {article.id!r} appears twice", path=str(source))
        seen.add(article.id)
    if not articles:
        raise KnowledgeImportError("no articles found", path=str(source))
    return articles


def _text_hash(kind: str, text: str) -> str:
    return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()


def write_articles(
    db: sqlite_utils.Database,
    articles: list[Article],
    *,
    embedder: Embedder | None,
    source: str,
    deleted: tuple[str, ...] = (),
    meta: dict[str, object] | None = None,
) -> ImportResult:
    """Write ``articles`` (delete ``deleted`` ids, set ``meta``) in one transaction; embed new texts first."""
    versions = dict(db.execute("SELECT id, version FROM articles").fetchall())
    keys = {
        row[0]: row[1]
        for row in db.execute("SELECT key, value FROM meta WHERE key LIKE 'content:%'")
    }
    wanted: list[tuple[str, str, str, str]] = []  # article id, kind, text, hash
    for article in articles:
        wanted.append((article.id, "title", article.title, _text_hash("title", article.title)))
        wanted += [(article.id, "trigger", t, _text_hash("trigger", t)) for t in article.triggers]
    have = {(row[0], row[1]) for row in db.execute("SELECT article_id, text_hash FROM vectors")}
    missing = [w for w in wanted if (w[0], w[3]) not in have]
    vectors = None
    if embedder is not None and missing:
        unique = list(dict.fromkeys(w[2] for w in missing))  # shared phrasings are embedded once
        computed = dict(zip(unique, embedder.embed(unique), strict=True))
        vectors = [computed[w[2]] for w in missing]
    hashes: dict[str, list[str]] = defaultdict(list)
    for article_id, _, _, text_hash in wanted:
        hashes[article_id].append(text_hash)
    added = updated = unchanged = 0
    stamp = now_iso()
    rows, content_keys, replaced = [], [], []
    for article in articles:
        key = article.content_key()
        previous = versions.get(article.id)
        if previous is not None and keys.get(f"content:{article.id}") == key:
            unchanged += 1
            continue
        added += previous is None
        updated += previous is not None
        if previous is not None:
            replaced.append(article.id)
        rows.append(
            {
                "id": article.id,
                "title": article.title,
                "body": article.body,
                "tags": json.dumps(list(article.tags), ensure_ascii=False),
                "triggers": json.dumps(list(article.triggers), ensure_ascii=False),
                "department": article.department,
                "authority": article.authority,
                "version": previous + 1 if previous is not None else 1,
                "updated_at": stamp,
                "source": source,
            }
        )
        content_keys.append((f"content:{article.id}", key))
    with db.atomic():  # one transaction; sqlite-utils nests its own writes as savepoints
        if rows:
            db.table("articles").upsert_all(rows, pk="id", batch_size=500)
        db.conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", content_keys)
        for article_id in replaced:  # phrasings an updated article no longer has
            keep = hashes[article_id]
            db.execute(
                f"DELETE FROM vectors WHERE article_id = ? AND text_hash NOT IN ({','.join('?' * len(keep))})",
                [article_id, *keep],
            )
        for article_id in deleted:
            db.execute("DELETE FROM vectors WHERE article_id = ?", [article_id])
            db.execute("DELETE FROM articles WHERE id = ?", [article_id])
            db.execute("DELETE FROM meta WHERE key = ?", [f"content:{article_id}"])
        if vectors is not None:
            db.conn.executemany(
                "INSERT OR REPLACE INTO vectors(article_id, text_hash, kind, vec) VALUES (?, ?, ?, ?)",
                (
                    (w[0], w[3], w[1], v.astype(np.float16).tobytes())
                    for w, v in zip(missing, vectors, strict=True)
                ),
            )
        for key, value in (meta or {}).items():
            set_meta(db, key, value)
        set_meta(db, "content_version", int(get_meta(db, "content_version", "0") or 0) + 1)
    return ImportResult(added, updated, unchanged, 0 if vectors is None else len(missing))


def import_path(
    db: sqlite_utils.Database, path: str | Path, *, embedder: Embedder | None
) -> ImportResult:
    """Parse and validate ``path``, then store it (all or nothing)."""
    return write_articles(db, parse_path(path), embedder=embedder, source=Path(path).name)
