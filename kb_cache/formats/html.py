"""HTML into clean Markdown, and HTML pages (Confluence or SharePoint, saved as HTML) as articles.

:func:`to_markdown` is what every HTML body goes through (ServiceNow and
Zendesk bodies too): markdownify (MIT) on Beautiful Soup's standard-library
parser. Headings, lists and tables stay; scripts, styles, forms, frames and
other active or invisible content are dropped; links keep their text only
(an agent reads the steps aloud, a URL helps nobody on a call); images are
dropped and counted.

A page (:func:`read`): one ``.html`` file or a folder of them.

* **title**: Confluence's ``#title-text`` (its "Space : " prefix removed), else
  the first ``<h1>``, else ``<title>``;
* **body**: Confluence's ``#main-content``, SharePoint's canvas
  (``[data-automation-id=CanvasZone]`` / ``.CanvasZone``), else ``<main>``,
  ``<article>`` or ``<body>``; breadcrumbs, navigation, headers, footers and
  Confluence's attachment list are left out;
* **id**: ``<meta name="article-id">`` if present, else the file name (case
  kept; characters an id cannot have become ``-``);
* **tags**: Confluence labels, ``<meta name="keywords">``, and the breadcrumb
  trail below the space's home page; **department**: ``<meta name="department">``.

Attachments (links into ``attachments/`` or to documents such as PDF or Word
files) are not imported: their link text stays, and they are counted.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from agent_assist.errors import KnowledgeImportError
from kb_cache.article import validate_record
from kb_cache.formats.records import Located, Parsed

__all__ = ["file_id", "read", "to_markdown"]

_DROP = (
    "script", "style", "noscript", "template", "iframe", "frame", "object", "embed", "video",
    "audio", "canvas", "svg", "form", "button", "input", "select", "textarea", "nav", "head",
)  # fmt: skip
_DOCUMENT = re.compile(  # Confluence, Zendesk and ServiceNow attachment links, and documents
    r"(^|/)(article_)?attachments/|sys_attachment\.do|"
    r"\.(pdf|docx?|xlsx?|pptx?|zip|msg|eml|csv|txt|odt|rtf)(\?|#|$)",
    re.I,
)
_IMAGE = re.compile(r"\.(png|jpe?g|gif|svg|bmp|webp)(\?|#|$)", re.I)
_ID_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def _soup(markup: str) -> Any:
    from bs4 import BeautifulSoup

    return BeautifulSoup(markup, "html.parser")  # the standard library's parser: no lxml needed


def to_markdown(markup: str, skipped: Counter[str] | None = None) -> str:
    """Clean Markdown for an HTML fragment or page; images and attachments are added to ``skipped``."""
    return _convert(_soup(markup), skipped)


def _convert(node: Any, skipped: Counter[str] | None) -> str:
    from markdownify import MarkdownConverter

    for tag in node.find_all(_DROP):
        tag.decompose()
    images = [img for img in node.find_all("img") if "images/icons/" not in (img.get("src") or "")]
    if skipped is not None:
        skipped["images"] += len(images)
        skipped["attachments"] += len(_documents(node))
    text = MarkdownConverter(
        heading_style="ATX", bullets="-", strip=["a", "img"], escape_underscores=False
    ).convert_soup(node)
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _documents(node: Any) -> set[str]:
    """Links to attachments or documents (not images: those are counted as images)."""
    return {
        a["href"]
        for a in node.find_all("a", href=True)
        if _DOCUMENT.search(a["href"]) and not _IMAGE.search(a["href"])
    }


def file_id(stem: str) -> str:
    """An article id from a file name: case kept, other characters as '-'."""
    stem = re.sub(r"\.aspx$", "", stem, flags=re.I)  # SharePoint's page names
    return _ID_BAD.sub("-", stem).strip("-._")[:100]


def _text(node: Any) -> str:
    return " ".join(node.get_text(" ").split()) if node is not None else ""


def _meta(soup: Any, name: str) -> str:
    tag = soup.find("meta", attrs={"name": name})
    return str(tag.get("content") or "").strip() if tag is not None else ""


def page(markup: str, *, path: str, skipped: Counter[str]) -> dict[str, Any]:
    """The article record of one saved page (see the module docstring)."""
    soup = _soup(markup)
    title = _text(soup.select_one("#title-text"))
    if " : " in title:  # Confluence: "Space name : Page title"
        title = title.split(" : ", 1)[1].strip()
    title = title or _text(soup.find("h1")) or _text(soup.find("title"))
    if " : " in title and soup.select_one("#main-content") is not None:
        title = title.split(" : ", 1)[1].strip()
    tags = [_text(a) for a in soup.select(".labels-content a, .label-list a, .aui-label a")]
    tags += [k.strip() for k in _meta(soup, "keywords").split(",")]
    crumbs = [_text(li) for li in soup.select("#breadcrumbs li")]
    tags += crumbs[1:]  # the first crumb is the space's home page
    department = _meta(soup, "department") or None
    article_id = _meta(soup, "article-id") or file_id(Path(path).stem)
    body = (
        soup.select_one("#main-content")
        or soup.select_one("[data-automation-id=CanvasZone], .CanvasZone")
        or soup.find("main")
        or soup.find("article")
        or soup.find("body")
        or soup
    )
    listed = soup.find(id="attachments")  # Confluence lists a page's attachments below it
    if listed is not None:
        section = listed.find_parent(class_="pageSection") or listed
        skipped["attachments"] += len(_documents(section) - _documents(body))
        section.decompose()
    for noise in body.select(
        "#breadcrumb-section, #footer, header, footer, .pageSection, #title-heading, "
        ".labels-content, .label-list, .page-metadata"
    ):
        noise.decompose()
    heading = body.find("h1")
    if heading is not None and _text(heading) == title:
        heading.decompose()  # the title is a field of its own
    record: dict[str, Any] = {
        "id": article_id,
        "title": title,
        "body": _convert(body, skipped),
        "tags": [t for t in dict.fromkeys(tags) if t],
    }
    if department:
        record["department"] = department
    return record


def read(path: Path) -> Parsed:
    """Confluence/SharePoint pages (one ``.html`` file or a folder of them) as articles."""
    files = (
        sorted(p for p in path.rglob("*") if p.suffix.lower() in (".html", ".htm"))
        if path.is_dir()
        else [path]
    )
    if not files:
        raise KnowledgeImportError("no .html files in this folder", path=str(path))
    skipped: Counter[str] = Counter()
    items = []
    for file in files:
        if path.is_dir() and file.name.lower() == "index.html" and len(files) > 1:
            skipped["index pages"] += 1  # Confluence's space overview: a list of links
            continue
        record = page(file.read_text(encoding="utf-8-sig"), path=str(file), skipped=skipped)
        if not record["title"]:
            raise KnowledgeImportError(
                "the page has no title (<h1> or <title>)", path=str(file), line=1
            )
        if not record["body"]:
            raise KnowledgeImportError("the page has no text", path=str(file), line=1)
        items.append(Located(validate_record(record, path=str(file), line=1), str(file), 1))
    return Parsed("html", items, skipped)
