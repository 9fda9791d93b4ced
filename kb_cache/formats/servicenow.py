"""ServiceNow ``kb_knowledge`` exports: the list view's CSV export or an XML unload.

Fields used (ServiceNow's field names; the CSV may also carry their labels):

* ``number`` (``KB0010001``) -> id, case kept;
* ``short_description`` -> title; ``text`` (HTML) -> body as Markdown
  (``wiki`` for wiki-type articles);
* ``kb_category`` -> department (the top of a ``Cards > Delivery`` path; the
  rest become tags); ``kb_knowledge_base`` and ``meta`` (keywords,
  comma-separated) -> tags. In XML, reference fields are read from their
  ``display_value`` attribute.

Only what agents should see is imported: ``workflow_state`` must be
``published`` (drafts, reviews, retired and outdated articles are skipped),
and rows with ``latest`` or ``active`` false (older versions, deactivated
articles) are skipped; each is counted. Images and attachments in the HTML
are dropped and counted. A malformed file or record is reported with its line.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any
from xml.parsers import expat

from agent_assist.errors import KnowledgeImportError
from kb_cache.article import validate_record
from kb_cache.formats.html import to_markdown
from kb_cache.formats.own import csv_fields
from kb_cache.formats.records import Located, Parsed

__all__ = ["read"]

_LABELS = {  # the CSV export's column labels, when exported with labels
    "short_description": "short_description",
    "article_body": "text",
    "text": "text",
    "wiki": "wiki",
    "number": "number",
    "workflow": "workflow_state",
    "workflow_state": "workflow_state",
    "category": "kb_category",
    "kb_category": "kb_category",
    "knowledge_base": "kb_knowledge_base",
    "kb_knowledge_base": "kb_knowledge_base",
    "meta": "meta",
    "article_type": "article_type",
    "latest": "latest",
    "active": "active",
}
_FALSE = ("false", "0", "no")


def read(path: Path) -> Parsed:
    """A ServiceNow ``kb_knowledge`` export (CSV or XML): published, latest, active articles."""
    skipped: Counter[str] = Counter()
    rows = _xml_rows(path) if path.suffix.lower() == ".xml" else _csv_rows(path)
    items = []
    for line, row in rows:
        record = _record(row, path=str(path), line=line, skipped=skipped)
        if record is not None:
            items.append(
                Located(validate_record(record, path=str(path), line=line), str(path), line)
            )
    return Parsed("servicenow", items, skipped)


def _record(
    row: dict[str, str], *, path: str, line: int, skipped: Counter[str]
) -> dict[str, Any] | None:
    state = row.get("workflow_state", "published").strip().lower() or "published"
    if state != "published":
        skipped[f"{state} (not published)"] += 1
        return None
    if row.get("latest", "").strip().lower() in _FALSE:
        skipped["older versions"] += 1
        return None
    if row.get("active", "").strip().lower() in _FALSE:
        skipped["inactive"] += 1
        return None
    number = row.get("number", "").strip()
    if not number:
        raise KnowledgeImportError("no 'number' (the article's KB number)", path=path, line=line)
    wiki = row.get("article_type", "").strip().lower() == "wiki"
    markup = row.get("wiki" if wiki else "text", "") or row.get("text", "")
    body = markup.strip() if wiki else to_markdown(markup, skipped)
    category = [part.strip() for part in row.get("kb_category", "").split(">") if part.strip()]
    tags = [*category[1:], row.get("kb_knowledge_base", "").strip()]
    tags += [k.strip() for k in row.get("meta", "").split(",")]
    record: dict[str, Any] = {
        "id": number,
        "title": row.get("short_description", ""),
        "body": body,
        "tags": [t for t in dict.fromkeys(tags) if t],
    }
    if category:
        record["department"] = category[0]
    return record


def _csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    rows = []
    with csv_fields(), open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise KnowledgeImportError("the file is empty", path=str(path), line=1) from None
        except csv.Error as exc:
            raise KnowledgeImportError(f"not valid CSV ({exc})", path=str(path), line=1) from None
        names = [_LABELS.get(h.strip().lower().replace(" ", "_"), "") for h in header]
        if "number" not in names:
            raise KnowledgeImportError(
                "no 'number' column: is this a kb_knowledge export?", path=str(path), line=1
            )
        start = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise KnowledgeImportError(
                    f"not valid CSV ({exc})", path=str(path), line=start
                ) from None
            if values:
                if len(values) > len(names):
                    raise KnowledgeImportError(
                        f"{len(values)} values but {len(names)} columns", path=str(path), line=start
                    )
                rows.append((start, {n: v for n, v in zip(names, values, strict=False) if n}))
            start = reader.line_num + 1
    return rows


def _xml_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """``<unload><kb_knowledge><number>..</number>...</kb_knowledge></unload>`` rows with their lines."""
    parser = expat.ParserCreate()
    rows: list[tuple[int, dict[str, str]]] = []
    depth = 0
    row: dict[str, str] | None = None
    field: str | None = None
    text: list[str] = []
    display: str | None = None

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, row, field, display
        depth += 1
        if depth == 2 and name == "kb_knowledge":
            row = {}
            rows.append((parser.CurrentLineNumber, row))
        elif depth == 3 and row is not None:
            field, display = name, attrs.get("display_value")
            text.clear()

    def end(name: str) -> None:
        nonlocal depth, row, field
        if depth == 3 and row is not None and field is not None:
            row[field] = display if display is not None else "".join(text)
            field = None
        elif depth == 2:
            row = None
        depth -= 1

    def characters(data: str) -> None:
        if field is not None:
            text.append(data)

    def doctype(*_: Any) -> None:  # no entity tricks in an export
        raise KnowledgeImportError(
            "a DOCTYPE is not allowed in an export", path=str(path), line=parser.CurrentLineNumber
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = doctype
    try:
        with open(path, "rb") as f:
            parser.ParseFile(f)
    except expat.ExpatError as exc:
        message = expat.ErrorString(exc.code) if exc.code is not None else str(exc)
        raise KnowledgeImportError(
            f"not valid XML ({message})", path=str(path), line=exc.lineno
        ) from None
    if not rows and depth == 0:
        raise KnowledgeImportError(
            "no <kb_knowledge> records: is this a kb_knowledge export?", path=str(path), line=1
        )
    return rows
