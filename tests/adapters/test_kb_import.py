"""Importing articles into a real SQLite cache: formats, validation, all-or-nothing, upserts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_assist.errors import KnowledgeError, KnowledgeImportError
from kb_cache.exporter import export
from kb_cache.importer import import_path, parse_path
from kb_cache.store import SCHEMA_VERSION, open_cache

DATA = Path(__file__).parents[1] / "data" / "kb"


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_cache(tmp_path / "kb.db")


def ids(db) -> list[str]:  # type: ignore[no-untyped-def]
    return [row[0] for row in db.execute("SELECT id FROM articles ORDER BY id")]


def test_a_new_cache_has_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    db = open_cache(tmp_path / "kb.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"articles", "articles_fts", "vectors", "usage", "searches", "outbox", "meta"} <= set(
        db.table_names()
    )


@pytest.mark.parametrize("source", ["articles.jsonl", "articles.csv", "markdown"])
def test_each_format_imports(db, source: str) -> None:  # type: ignore[no-untyped-def]
    result = import_path(db, DATA / source, embedder=None)
    assert result.added >= 1
    assert result.updated == 0


def test_markdown_front_matter_fields_and_body(db) -> None:  # type: ignore[no-untyped-def]
    (article,) = parse_path(DATA / "markdown")
    assert article.id == "exchange-rate"
    assert article.tags == ("fx", "card")
    assert article.triggers == (
        "what exchange rate do you use",
        "why was the rate worse than google",
    )
    assert article.authority == "Refund an exchange-rate difference up to 10 USD."
    assert article.body.startswith("We use the network rate")


def test_csv_lists_are_pipe_separated() -> None:
    (article,) = parse_path(DATA / "articles.csv")
    assert article.triggers == ("i lost my card", "my wallet was stolen")


def test_a_bad_record_names_file_and_line_and_stores_nothing(db) -> None:  # type: ignore[no-untyped-def]
    import_path(db, DATA / "articles.jsonl", embedder=None)
    before = ids(db)
    with pytest.raises(KnowledgeImportError, match=r"bad\.jsonl:2: id 'Bad Id!'") as info:
        import_path(db, DATA / "bad.jsonl", embedder=None)
    assert info.value.line == 2
    assert ids(db) == before  # "good-one" on line 1 was not stored either


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "title": "t"}\n', "'body' is required"),
        ('{"id": "a", "title": "t", "body": "b", "trigers": []}\n', "unknown field 'trigers'"),
        ('{"id": "a", "title": "t", "body": "b", "tags": "x"}\n', "'tags' must be a list"),
        ("not json\n", "not valid JSON"),
        (
            '{"id": "a", "title": "t", "body": "b"}\n{"id": "a", "title": "t", "body": "b"}\n',
            "appears twice",
        ),
    ],
)
def test_invalid_records_are_rejected(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    with pytest.raises(KnowledgeImportError, match=message):
        parse_path(path)


def test_unclosed_front_matter_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: x\nbody\n")
    with pytest.raises(KnowledgeImportError, match=r"a\.md"):
        parse_path(tmp_path)


def test_reimporting_bumps_the_version_only_of_changed_articles(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import_path(db, DATA / "articles.jsonl", embedder=None)
    rows = [json.loads(line) for line in (DATA / "articles.jsonl").read_text().splitlines()]
    rows[0]["body"] = "Cards now arrive within 3 working days."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = import_path(db, changed, embedder=None)
    assert (result.added, result.updated, result.unchanged) == (0, 1, 2)
    versions = dict(db.execute("SELECT id, version FROM articles").fetchall())
    assert versions == {"card-arrival": 2, "pin-blocked": 1, "cancel-transfer": 1}


def test_export_round_trips_through_import(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import_path(db, DATA / "articles.jsonl", embedder=None)
    import_path(db, DATA / "articles.csv", embedder=None)
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"export.{fmt}"
        with open(out, "w", encoding="utf-8", newline="") as f:
            assert export(db, f, fmt=fmt) == 4
        assert parse_path(out) == sorted(
            parse_path(DATA / "articles.jsonl") + parse_path(DATA / "articles.csv"),
            key=lambda a: a.id,
        )


def test_a_file_that_is_not_a_cache_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "kb.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(KnowledgeError, match="not a usable knowledge cache"):
        open_cache(junk)
