"""Our own formats (ARCHITECTURE.md §5): Markdown with front matter, JSON Lines, CSV.

In Markdown the fields are a front-matter block (``key: value``, ``key: [a, b]``
and ``- item`` lists) and the body is the rest of the file; a file without an
``id`` takes its file name (case kept). In CSV, lists are ``|``-separated.

Bounds: a JSON line, a CSV field or a Markdown file larger than ``MAX_LINE``
(1 MiB), or a JSON line nested deeper than 8 levels, is refused with its file
and line (never read whole into memory first).
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent_assist.errors import KnowledgeImportError
from agent_assist.limits import MAX_LINE, LimitError, loads
from kb_cache.article import validate_record
from kb_cache.formats.records import Located, Parsed

__all__ = ["csv_fields", "csv_records", "jsonl", "markdown"]

_LISTS = ("tags", "triggers")
_DEPTH = 8  # an article record is flat: one level of lists is all it needs


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
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise KnowledgeImportError("not UTF-8 text", path=str(path), line=number) from None
            yield number, text.removeprefix("\ufeff") if number == 1 else text


def jsonl(path: Path) -> Parsed:
    """Our JSON Lines records, one article per line."""
    items = []
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
        items.append(Located(validate_record(data, path=str(path), line=number), str(path), number))
    return Parsed("jsonl", items)


def csv_records(path: Path) -> Parsed:
    """Our CSV records, one article per row (``tags``/``triggers`` ``|``-separated)."""
    items = []
    with csv_fields(), open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        start = 2  # a record may span lines: report the line it starts on
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise KnowledgeImportError(
                    f"not valid CSV ({exc})", path=str(path), line=start
                ) from None
            if None in row:
                raise KnowledgeImportError("more values than columns", path=str(path), line=start)
            data: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
            for name in _LISTS:
                if name in data:
                    data[name] = data[name].split("|")
            article = validate_record(data, path=str(path), line=start)
            items.append(Located(article, str(path), start))
            start = reader.line_num + 1
    return Parsed("csv", items)


@contextlib.contextmanager
def csv_fields() -> Iterator[None]:
    """Let the csv module read fields up to MAX_LINE (its default is 128 KiB) meanwhile."""
    previous = csv.field_size_limit(MAX_LINE)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def front_matter(text: str, path: Path) -> tuple[dict[str, Any], str, int]:
    """Parse ``---`` front matter; returns (fields, body, line the body starts on)."""
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


def markdown(folder: Path) -> Parsed:
    """A folder of Markdown files with front matter, one article per file."""
    files = sorted(folder.rglob("*.md"))
    if not files:
        raise KnowledgeImportError("no .md files in this folder", path=str(folder))
    items = []
    for file in files:
        if file.stat().st_size > MAX_LINE:
            raise KnowledgeImportError(f"larger than {MAX_LINE >> 20} MiB", path=str(file))
        data, body, body_line = front_matter(file.read_text(encoding="utf-8-sig"), file)
        data.setdefault("id", file.stem)  # ids keep their case (KB0010001.md)
        data["body"] = body
        line = body_line if not body else 1
        items.append(Located(validate_record(data, path=str(file), line=line), str(file), 1))
    return Parsed("markdown", items)
