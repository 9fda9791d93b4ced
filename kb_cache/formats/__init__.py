"""Reading knowledge exports into :class:`~kb_cache.article.Article` records (no database here).

Formats (``kb import --from NAME``; detected from the path when unambiguous):

* ``markdown``: a folder of ``.md`` files with a front-matter block (ARCHITECTURE.md §5);
* ``jsonl``, ``csv``: our own records, one per line / row (lists ``|``-separated in CSV);
* ``servicenow``: a ``kb_knowledge`` export, CSV or XML (:mod:`.servicenow`);
* ``zendesk``: Zendesk Guide articles JSON (:mod:`.zendesk`);
* ``html``: Confluence or SharePoint pages saved as HTML, one file or a folder (:mod:`.html`);
* ``documents``: Word (``.docx``) and PDF files, one article each, a file or a
  folder (:mod:`.documents`).

Every parser checks everything before anything is stored: a bad record raises
:class:`~agent_assist.errors.KnowledgeImportError` with its file and line. Ids
are unique regardless of case; a duplicate names both places. What a parser
leaves out on purpose (drafts, retired articles, images, attachments) is
counted in :attr:`Parsed.skipped`, so the importer can say so.
"""

from __future__ import annotations

import json
from pathlib import Path

from agent_assist.errors import KnowledgeImportError
from kb_cache.article import id_key
from kb_cache.formats.records import Located, Parsed

__all__ = ["FORMATS", "Located", "Parsed", "detect", "parse"]

FORMATS = ("servicenow", "zendesk", "html", "documents", "markdown", "jsonl", "csv")
_FOLDER_KINDS = {
    ".md": "markdown",
    ".html": "html",
    ".htm": "html",
    ".docx": "documents",
    ".pdf": "documents",
}


def detect(path: Path) -> str:
    """The format of ``path``, or KnowledgeImportError asking for ``--from`` when it is unclear."""
    if path.is_dir():
        kinds = {
            _FOLDER_KINDS[p.suffix.lower()]
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in _FOLDER_KINDS
        }
        if len(kinds) == 1:
            return kinds.pop()
        if not kinds:
            raise KnowledgeImportError(
                "no .md, .html, .docx or .pdf files in this folder", path=str(path)
            )
        raise KnowledgeImportError(
            f"this folder has {' and '.join(sorted(kinds))} files: say which to import with "
            f"--from {'|'.join(sorted(kinds))}",
            path=str(path),
        )
    suffix = path.suffix.lower()
    if suffix in (".docx", ".pdf"):
        return "documents"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".html", ".htm"):
        return "html"
    if suffix == ".xml":
        return "servicenow"
    head = _head(path)
    if suffix == ".json":
        return "zendesk" if _looks_like_zendesk(head) else "jsonl"
    if suffix == ".csv":
        first = head.splitlines()[0].lower() if head else ""
        columns = {c.strip().strip('"') for c in first.split(",")}
        if "number" in columns and ({"short_description", "text"} & columns):
            return "servicenow"
        return "csv"
    raise KnowledgeImportError(
        f"cannot tell the format from the name; use --from {'|'.join(FORMATS)}", path=str(path)
    )


def _head(path: Path) -> str:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read(4096)
    except UnicodeDecodeError:
        raise KnowledgeImportError("not UTF-8 text", path=str(path)) from None
    except OSError as exc:
        raise KnowledgeImportError(f"cannot read it ({exc.strerror})", path=str(path)) from None


def _looks_like_zendesk(head: str) -> bool:
    start = head.lstrip()
    if not start.startswith("{"):
        return False
    try:  # one object per line is our JSON Lines; a Zendesk page is one object with "articles"
        first = json.loads(start.splitlines()[0])
    except json.JSONDecodeError:
        return '"articles"' in head
    return isinstance(first, dict) and "articles" in first


def parse(path: str | Path, fmt: str | None = None) -> Parsed:
    """Every article in ``path`` (format ``fmt``, or detected), validated; ids unique ignoring case."""
    from kb_cache.formats import documents, html, own, servicenow, zendesk

    source = Path(path)
    if not source.exists():
        raise KnowledgeImportError("no such file or folder", path=str(source))
    if fmt is not None and fmt not in FORMATS:
        raise KnowledgeImportError(
            f"unknown format {fmt!r} (one of {', '.join(FORMATS)})", path=str(source)
        )
    name = fmt or detect(source)
    readers = {
        "markdown": own.markdown,
        "jsonl": own.jsonl,
        "csv": own.csv_records,
        "servicenow": servicenow.read,
        "zendesk": zendesk.read,
        "html": html.read,
        "documents": documents.read,
    }
    try:
        parsed = readers[name](source)
    except UnicodeDecodeError:
        raise KnowledgeImportError("not UTF-8 text", path=str(source)) from None
    except IsADirectoryError:
        raise KnowledgeImportError(f"a folder is not a {name} export", path=str(source)) from None
    except OSError as exc:
        raise KnowledgeImportError(f"cannot read it ({exc.strerror})", path=str(source)) from None
    seen: dict[str, Located] = {}
    for item in parsed.items:
        first = seen.get(id_key(item.article.id))
        if first is not None:
            same = "" if first.article.id == item.article.id else f" (as {first.article.id!r})"
            raise KnowledgeImportError(
                f"id {item.article.id!r} appears twice: also at {first.path}:{first.line}{same}",
                path=item.path,
                line=item.line,
            )
        seen[id_key(item.article.id)] = item
    if not parsed.items:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(parsed.skipped.items()))
        raise KnowledgeImportError(
            "no articles found" + (f" (skipped: {reasons})" if reasons else ""), path=str(source)
        )
    return parsed
