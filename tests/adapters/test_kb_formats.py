"""Real knowledge exports: ServiceNow, Zendesk Guide, Confluence/SharePoint HTML, and our own.

The sample exports in tests/data/kb/exports were written for these tests from
the vendors' documented schemas (ServiceNow kb_knowledge fields and its XML
unload format, the Zendesk Help Center articles API, Confluence's HTML space
export, a SharePoint page saved as HTML); they are not copies of real exports.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agent_assist.errors import KnowledgeError, KnowledgeImportError
from kb_cache.demo import demo_articles
from kb_cache.formats import detect, parse
from kb_cache.formats.html import to_markdown
from kb_cache.importer import import_path
from kb_cache.store import open_cache

EXPORTS = Path(__file__).parents[1] / "data" / "kb" / "exports"


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_cache(tmp_path / "kb.db")


def stored(db) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return db.execute("SELECT id, title FROM articles ORDER BY id").fetchall()


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("servicenow_kb_knowledge.csv", "servicenow"),
        ("servicenow_kb_knowledge.xml", "servicenow"),
        ("zendesk_articles.json", "zendesk"),
        ("confluence", "html"),
        ("sharepoint", "html"),
        ("../articles.csv", "csv"),
        ("../articles.jsonl", "jsonl"),
        ("../markdown", "markdown"),
    ],
)
def test_the_format_is_detected_when_it_is_clear(name: str, fmt: str) -> None:
    assert detect(EXPORTS / name) == fmt


def test_servicenow_csv_imports_published_latest_articles_with_their_kb_numbers() -> None:
    parsed = parse(EXPORTS / "servicenow_kb_knowledge.csv")
    assert [(i.article.id, i.line) for i in parsed.items] == [
        ("KB0010001", 2),
        ("KB0010002", 9),
        ("KB0010005", 15),
    ]
    card = parsed.items[0].article
    assert card.title == "Card has not arrived yet"
    assert card.department == "Cards"  # the top of "Cards > Delivery"
    assert card.tags == ("Delivery", "Customer Service", "late card", "replacement")
    assert "1. Check the **dispatch date** in the console." in card.body
    assert parsed.articles[2].body.startswith("We use the card network's rate")  # latest version
    assert dict(parsed.skipped) == {
        "draft (not published)": 1,
        "retired (not published)": 1,
        "older versions": 1,
        "images": 1,
        "attachments": 1,
    }


def test_servicenow_xml_reads_display_values_and_skips_articles_in_review() -> None:
    parsed = parse(EXPORTS / "servicenow_kb_knowledge.xml")
    (article,) = parsed.articles
    assert (article.id, article.department) == ("KB0020001", "Cards")
    assert article.tags == ("Customer Service", "contactless", "tap")
    assert article.body.splitlines()[-1] == "2. The contactless limit is 100 USD per payment."
    assert parsed.skipped["review (not published)"] == 1


def test_zendesk_sections_become_tags_categories_departments_and_drafts_are_skipped() -> None:
    parsed = parse(EXPORTS / "zendesk_articles.json")
    first, second = parsed.articles
    assert (first.id, first.title, first.department) == (
        "360012345671",
        "Add money by bank transfer",
        "Payments",
    )
    assert first.tags == ("Top-ups", "top-up", "bank transfer")
    assert "### Steps" in first.body
    assert "Fee schedule" in first.body  # the link's text stays, the URL does not
    assert "https://" not in first.body
    assert second.body == "Transfers between banks can take **up to 2 working days**."
    assert (parsed.skipped["drafts"], parsed.skipped["images"], parsed.skipped["attachments"]) == (
        1,
        1,
        1,
    )
    assert parsed.items[1].line == 38  # where the article's object starts in the file


def test_a_confluence_export_keeps_the_page_and_skips_index_attachments_and_chrome() -> None:
    parsed = parse(EXPORTS / "confluence")
    (article,) = parsed.articles
    assert (article.id, article.title) == ("Lost-or-stolen-card_98312", "Lost or stolen card")
    assert article.tags == ("Cards",)  # the breadcrumb below the space's home
    assert article.body.startswith("Freeze the card **at once**")
    assert "| Unknown payments | Fraud & security |" in article.body
    for chrome in ("Document generated", "Dana Ortiz", "Attachments", "contextPath"):
        assert chrome not in article.body
    assert dict(parsed.skipped) == {"index pages": 1, "images": 1, "attachments": 1}


def test_a_sharepoint_page_reads_its_canvas_and_meta_tags() -> None:
    (article,) = parse(EXPORTS / "sharepoint").articles
    assert (article.id, article.title) == ("Verify-identity", "Verify a customer's identity")
    assert (article.department, article.tags) == ("Fraud & security", ("identity", "ID&V"))
    assert (
        article.body.splitlines()[0]
        == "Ask for **two** of the following before discussing the account:"
    )
    assert "Northwind intranet" not in article.body


def test_html_becomes_clean_markdown() -> None:
    counter: Counter[str] = Counter()
    text = to_markdown(
        "<h2>Refunds</h2><script>steal()</script><style>p{color:red}</style>"
        "<p>See <a href='https://kb/x'>the policy</a>.<img src='a.png'></p>"
        "<ul><li>One</li><li>Two <b>bold</b></li></ul>"
        "<table><tr><th>Fee</th><th>Amount</th></tr><tr><td>ATM</td><td>2 USD</td></tr></table>"
        "<form><input name='q'></form>",
        counter,
    )
    assert text == (
        "## Refunds\n\nSee the policy.\n\n- One\n- Two **bold**\n\n"
        "| Fee | Amount |\n| --- | --- |\n| ATM | 2 USD |"
    )
    assert counter["images"] == 1


def test_ids_keep_their_case_and_markdown_file_names_too(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "KB0030001.md").write_text("---\ntitle: Upper case\n---\nBody.\n")
    import_path(db, folder, embedder=None)
    import_path(db, EXPORTS / "servicenow_kb_knowledge.xml", embedder=None)
    assert stored(db) == [
        ("KB0020001", "Contactless payments not working"),
        ("KB0030001", "Upper case"),
    ]


def test_a_case_insensitive_duplicate_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    record = {"title": "t", "body": "b"}
    path.write_text(
        "".join(json.dumps({"id": i, **record}) + "\n" for i in ("KB0010001", "a", "kb0010001"))
    )
    with pytest.raises(KnowledgeImportError) as info:
        parse(path)
    assert str(info.value) == (
        f"{path}:3: id 'kb0010001' appears twice: also at {path}:1 (as 'KB0010001')"
    )


def test_an_id_already_stored_in_another_case_is_refused(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import_path(db, EXPORTS / "servicenow_kb_knowledge.xml", embedder=None)
    other = tmp_path / "lower.jsonl"
    other.write_text(json.dumps({"id": "kb0020001", "title": "t", "body": "b"}) + "\n")
    with pytest.raises(KnowledgeError, match="already in the cache as 'KB0020001'"):
        import_path(db, other, embedder=None)
    assert stored(db) == [("KB0020001", "Contactless payments not working")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.xml",
            "<unload>\n<kb_knowledge>\n<number>KB1</number>\n<text>oops</kb_knowledge>\n</unload>\n",
            r"bad\.xml:4: not valid XML \(mismatched tag\)",
        ),
        (
            "entities.xml",
            '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<unload/>\n',
            r"entities\.xml:2: a DOCTYPE is not allowed",
        ),
        (
            "extra.csv",
            'number,short_description,text\nKB1,"Title","<p>x</p>"\nKB2,Title,<p>y</p>,surplus\n',
            r"extra\.csv:3: 4 values but 3 columns",
        ),
        (
            "untitled.csv",
            'number,short_description,text,workflow_state\nKB1,,"<p>x</p>",published\n',
            r"untitled\.csv:2: 'title' is required",
        ),
        (
            "broken.json",
            '{"articles": [\n  {"id": 1, "title": "a", "body": "<p>b</p>"},\n  {"id": 2,,}\n]}\n',
            r"broken\.json:3: not valid JSON",
        ),
        (
            "nobody.json",
            '{"articles": [\n {"id": 1, "title": "a", "body": "<p>b</p>"},\n {"id": 2, "title": "c"}\n]}\n',
            r"nobody\.json:3: 'body' is required",
        ),
    ],
)
def test_a_malformed_export_names_file_and_line_and_changes_nothing(
    db, tmp_path: Path, name: str, content: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    import_path(db, EXPORTS / "servicenow_kb_knowledge.csv", embedder=None)
    before = stored(db)
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(KnowledgeImportError, match=message):
        import_path(db, path, embedder=None, fmt="servicenow" if name.endswith("csv") else None)
    assert stored(db) == before


def test_an_export_with_nothing_published_says_what_it_skipped(tmp_path: Path) -> None:
    path = tmp_path / "drafts.json"
    path.write_text('{"articles": [{"id": 1, "title": "a", "body": "b", "draft": true}]}')
    with pytest.raises(KnowledgeImportError, match=r"no articles found \(skipped: 1 drafts\)"):
        parse(path)


def test_the_demo_ids_are_valid_import_ids() -> None:
    ids = [a.id for a in demo_articles()]
    assert "refund-not-showing-up" in ids
    assert "reverted-card-payment" in ids
    assert len({i.lower() for i in ids}) == 77
