"""Word (``.docx``) and PDF documents as articles: one article per file, a file or a folder of them.

Many sites keep their procedures as documents on a shared drive. Each becomes
one article:

* **Word** (``.docx``): mammoth (BSD-2) turns the document into HTML by its
  styles (headings, lists, tables, bold), which :func:`.html.to_markdown`
  makes Markdown like every other HTML body; images are dropped and counted.
  **title**: the document's Title property, else its first heading, else the
  file name; the first heading is dropped from the body when it is the title.
* **PDF**: pypdf (BSD-3) extracts the text of every page. A PDF keeps no
  paragraphs, only lines: a blank line ends a paragraph, and so does a line
  followed by a capital when it ends a sentence or is a heading (one short
  line that ends none); lines starting with a bullet or a number become list items.
  **title**: the document's Title property (unless it is a file name, as
  "Microsoft Word - card.docx"), else its first line. A PDF without text (a
  scan) or with a password is an error.

**id**: the file name (case kept; characters an id cannot have become ``-``);
**tags**: the document's Keywords property (comma- or semicolon-separated).
Old binary ``.doc`` files are skipped and counted (save them as ``.docx``).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

from agent_assist.errors import KnowledgeImportError
from kb_cache.article import validate_record
from kb_cache.formats.html import file_id, to_markdown
from kb_cache.formats.records import Located, Parsed

__all__ = ["MAX_BYTES", "SUFFIXES", "pdf_markdown", "read"]

SUFFIXES = (".docx", ".pdf")
MAX_BYTES = 64 * 2**20  # a procedure with screenshots is a few MiB
_BULLET = re.compile(r"^\s*(?:[•▪◦·‣⁃*-]|\d{1,2}[.)])\s+")
_ENDS_SENTENCE = re.compile(r"[.!?:;)\"”]$")
_HEADING_WORDS = 8
_FILE_TITLE = re.compile(r"^Microsoft Word - |\.(docx?|pdf|odt|rtf)$", re.I)


def read(path: Path) -> Parsed:
    """Every ``.docx`` and ``.pdf`` in ``path`` (a file or a folder) as one article each."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        documents = [p for p in files if p.suffix.lower() in SUFFIXES]
        old = [p for p in files if p.suffix.lower() == ".doc"]
    else:
        documents, old = [path], []
    if not documents:
        raise KnowledgeImportError("no .docx or .pdf files in this folder", path=str(path))
    skipped: Counter[str] = Counter()
    if old:
        skipped["old .doc files (save them as .docx)"] += len(old)
    items = []
    for file in documents:
        if file.stat().st_size > MAX_BYTES:
            raise KnowledgeImportError(
                f"larger than {MAX_BYTES // 2**20} MiB: not a knowledge article", path=str(file)
            )
        suffix = file.suffix.lower()
        if suffix == ".docx":
            record = _word(file, skipped)
        elif suffix == ".pdf":
            record = _pdf(file)
        else:
            raise KnowledgeImportError("not a .docx or .pdf document", path=str(file))
        if not record["body"]:
            raise KnowledgeImportError("the document has no text", path=str(file), line=1)
        items.append(Located(validate_record(record, path=str(file), line=1), str(file), 1))
    return Parsed("documents", items, skipped)


def _keywords(value: str | None) -> list[str]:
    return [k.strip() for k in re.split(r"[,;]", value or "") if k.strip()]


def _word(file: Path, skipped: Counter[str]) -> dict[str, Any]:
    import mammoth

    try:
        with open(file, "rb") as f:
            result = mammoth.convert_to_html(f)
        properties = _docx_properties(file)
    except Exception as exc:  # mammoth and the XML parsers raise many kinds for a broken file
        raise KnowledgeImportError(
            f"not a Word document that can be read ({_reason(exc)})", path=str(file), line=1
        ) from None
    body = to_markdown(result.value, skipped)
    lines = body.splitlines()
    first_heading = next((ln.lstrip("#").strip() for ln in lines if ln.startswith("#")), "")
    title = properties.get("title") or first_heading or file.stem
    if lines and lines[0].startswith("#") and lines[0].lstrip("#").strip() == title:
        body = "\n".join(lines[1:]).strip()  # the title is a field of its own
    return {
        "id": file_id(file.stem),
        "title": title,
        "body": body,
        "tags": _keywords(properties.get("keywords")),
    }


def _reason(exc: Exception) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__


def _docx_properties(file: Path) -> dict[str, str]:
    """Title and Keywords from ``docProps/core.xml`` (Dublin Core), if the document has them."""
    import zipfile
    from xml.etree import ElementTree

    with zipfile.ZipFile(file) as archive:
        if "docProps/core.xml" not in archive.namelist():
            return {}
        data = archive.read("docProps/core.xml")
    if b"<!DOCTYPE" in data:  # entities need one; Word never writes one
        raise ValueError("docProps/core.xml has a DOCTYPE")
    root = ElementTree.fromstring(data)
    found = {}
    for element in root:
        name = element.tag.rsplit("}", 1)[-1]
        if name in ("title", "keywords") and element.text and element.text.strip():
            found[name] = " ".join(element.text.split())
    return found


def _pdf(file: Path) -> dict[str, Any]:
    from pypdf import PdfReader

    # pypdf logs what it repairs ("EOF marker not found") to stderr; the error, if any, says it
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(file)
        if reader.is_encrypted:
            raise KnowledgeImportError(
                "the PDF has a password: save it without one", path=str(file), line=1
            )
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
        metadata = reader.metadata
        title = " ".join(str(metadata.get("/Title") or "").split()) if metadata else ""
        title = "" if _FILE_TITLE.search(title) else title
        keywords = str(metadata.get("/Keywords") or "") if metadata else ""
    except KnowledgeImportError:
        raise
    except Exception as exc:  # pypdf raises many kinds for a broken file, not only PdfReadError
        raise KnowledgeImportError(
            f"not a PDF that can be read ({_reason(exc)})", path=str(file), line=1
        ) from None
    if not text.strip():
        raise KnowledgeImportError(
            "the PDF has no text (a scanned image?): export it from the original document",
            path=str(file),
            line=1,
        )
    body = pdf_markdown(text)
    first, _, rest = body.partition("\n")
    if not title or first.strip() == title:  # the title is a field of its own
        title, body = title or first.strip(), rest.strip()
    return {"id": file_id(file.stem), "title": title, "body": body, "tags": _keywords(keywords)}


def _heading(lines: list[str]) -> bool:
    """One short line that ends no sentence and is no list item: a heading (when a capital follows)."""
    return (
        len(lines) == 1
        and len(lines[0].split()) <= _HEADING_WORDS
        and not lines[0].startswith("- ")
        and not _ENDS_SENTENCE.search(lines[0])
    )


def pdf_markdown(text: str) -> str:
    """Markdown paragraphs and list items from a PDF's extracted lines (see the module docstring)."""
    blocks: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            close()
            continue
        if _BULLET.match(line):
            close()
            current.append("- " + _BULLET.sub("", line))
            continue
        if (
            current
            and line[:1].isupper()
            and (_ENDS_SENTENCE.search(current[-1]) or _heading(current))
        ):
            close()
        current.append(line)
    close()
    return "\n\n".join(blocks)
