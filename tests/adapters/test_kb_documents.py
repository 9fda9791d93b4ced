"""Word and PDF documents as articles (kb import --from documents), on real files.

The Word files are written with python-docx (real OOXML packages, as Word saves
them); the PDFs by tests/support/pdf.py (real PDF 1.4 text). Neither is a
customer's document.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from agent_assist.errors import KnowledgeImportError
from kb_cache.formats import detect, parse
from kb_cache.formats.documents import pdf_markdown
from kb_cache.importer import import_path
from kb_cache.store import open_cache
from tests.support.pdf import write_pdf


def word(path: Path, *, title: str | None = "Replace a damaged card", image: bool = False) -> Path:
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.core_properties.keywords = "card; damaged, replacement"
    document.add_heading("Replace a damaged card", level=1)
    document.add_paragraph("The customer's card is cracked, bent or the chip no longer works.")
    document.add_heading("Steps", level=2)
    document.add_paragraph("Confirm the customer's identity (ID&V).", style="List Number")
    document.add_paragraph("Cancel the damaged card in the console.", style="List Number")
    document.add_paragraph("Order a free replacement: 3-5 working days.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for (row, column), text in {(0, 0): "Delivery", (0, 1): "Days", (1, 0): "Express"}.items():
        table.cell(row, column).text = text
    table.cell(1, 1).text = "1-2"
    if image:
        picture = path.with_suffix(".png")
        picture.write_bytes(_png())
        document.add_picture(str(picture))
    document.save(str(path))
    return path


def _png() -> bytes:
    """A 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF_PAGES = [
    [
        "Card not arrived",
        "The customer ordered a card and it is late. If it is",
        "not due yet, give the expected date.",
        "• Check the order date and the delivery address",
        "• Reorder free if the address was wrong",
    ],
    ["Escalation", "Escalate to Cards when a second card goes missing."],
]


def test_a_word_document_is_one_article(tmp_path: Path) -> None:
    (article,) = parse(word(tmp_path / "KB0010042.docx")).articles
    assert article.id == "KB0010042"  # the file name, case kept
    assert article.title == "Replace a damaged card"
    assert article.tags == ("card", "damaged", "replacement")
    assert article.body.startswith("The customer's card is cracked")  # the title heading dropped
    assert "## Steps" in article.body
    assert "1. Confirm the customer's identity (ID&V)." in article.body
    assert "- Order a free replacement: 3-5 working days." in article.body
    assert "| Express | 1-2 |" in article.body


def test_a_word_title_falls_back_to_the_first_heading(tmp_path: Path) -> None:
    (article,) = parse(word(tmp_path / "damaged.docx", title=None)).articles
    assert article.title == "Replace a damaged card"
    assert not article.body.startswith("#")


def test_images_in_a_word_document_are_skipped_and_counted(tmp_path: Path) -> None:
    parsed = parse(word(tmp_path / "damaged.docx", image=True))
    assert parsed.skipped["images"] == 1
    assert "data:image" not in parsed.articles[0].body


def test_a_pdf_is_one_article_with_its_paragraphs_headings_and_lists(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "card-arrival.pdf", PDF_PAGES, keywords="card, delivery")
    (article,) = parse(path).articles
    assert (article.id, article.title, article.tags) == (
        "card-arrival",
        "Card not arrived",  # no Title property: the first line
        ("card", "delivery"),
    )
    assert article.body.split("\n\n") == [
        "The customer ordered a card and it is late. If it is not due yet, give the expected date.",
        "- Check the order date and the delivery address",
        "- Reorder free if the address was wrong",
        "Escalation",
        "Escalate to Cards when a second card goes missing.",
    ]


def test_a_pdf_title_property_is_used_unless_it_is_a_file_name(tmp_path: Path) -> None:
    named = write_pdf(tmp_path / "a.pdf", PDF_PAGES, title="When a card is late")
    assert parse(named).articles[0].title == "When a card is late"
    word_export = write_pdf(tmp_path / "b.pdf", PDF_PAGES, title="Microsoft Word - card.docx")
    assert parse(word_export).articles[0].title == "Card not arrived"


def test_a_folder_of_documents_is_detected_and_old_doc_files_are_counted(tmp_path: Path) -> None:
    folder = tmp_path / "procedures"
    folder.mkdir()
    word(folder / "damaged.docx")
    write_pdf(folder / "card-arrival.pdf", PDF_PAGES)
    (folder / "legacy.doc").write_bytes(b"\xd0\xcf\x11\xe0 an old binary Word file")
    assert detect(folder) == "documents"
    parsed = parse(folder)
    assert [a.id for a in parsed.articles] == ["card-arrival", "damaged"]
    assert parsed.skipped["old .doc files (save them as .docx)"] == 1


def test_a_folder_mixing_documents_and_markdown_asks_which(tmp_path: Path) -> None:
    word(tmp_path / "damaged.docx")
    (tmp_path / "note.md").write_text("---\ntitle: A note\n---\nBody.\n")
    with pytest.raises(KnowledgeImportError, match="--from documents\\|markdown"):
        detect(tmp_path)


def _zip(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.docx", b"PK\x03\x04 not really a zip", "not a Word document that can be read"),
        ("empty.docx", _zip({"[Content_Types].xml": "<Types/>"}), "not a Word document"),
        (
            "badxml.docx",
            _zip(
                {"[Content_Types].xml": _TYPES, "_rels/.rels": _RELS, "word/document.xml": "<w:x>"}
            ),
            "not a Word document",
        ),
        ("broken.pdf", b"%PDF-1.4\nnothing else", "not a PDF that can be read"),
        ("cut.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R", "not a PDF"),
    ],
)
def test_a_broken_document_is_one_clear_error_and_nothing_is_stored(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    db = open_cache(tmp_path / "kb.db")
    import_path(db, word(tmp_path / "first.docx"), embedder=None)
    folder = tmp_path / "drop"
    folder.mkdir()
    word(folder / "good.docx")
    (folder / name).write_bytes(content)
    with pytest.raises(KnowledgeImportError, match=message) as caught:
        import_path(db, folder, embedder=None)
    assert name in str(caught.value)
    assert [row[0] for row in db.execute("SELECT id FROM articles")] == ["first"]


def test_a_pdf_with_a_password_is_refused(tmp_path: Path) -> None:
    plain = write_pdf(tmp_path / "plain.pdf", PDF_PAGES)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt("secret", algorithm="AES-128")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as f:
        writer.write(f)
    with pytest.raises(KnowledgeImportError, match="has a password"):
        parse(locked)


def test_a_pdf_without_text_is_refused_as_a_likely_scan(tmp_path: Path) -> None:
    scan = write_pdf(tmp_path / "scan.pdf", [[]])
    with pytest.raises(KnowledgeImportError, match="no text \\(a scanned image\\?\\)"):
        parse(scan)


def test_pdf_lines_become_paragraphs_headings_and_items() -> None:
    text = "Refunds\nA refund takes five\nworking days. Tell the customer\nthe date.\n1. Check\n2) Refund\n"
    assert pdf_markdown(text).split("\n\n") == [
        "Refunds",
        "A refund takes five working days. Tell the customer the date.",
        "- Check",
        "- Refund",
    ]
