"""``agent-assist kb``: import, search (one query or a stdin batch), feedback, report, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data" / "kb"
EXPORTS = DATA / "exports"


def kb(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", "kb", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_import_then_search_one_query(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    out = kb("import", str(DATA / "articles.jsonl"), "--db", db)
    assert out.returncode == 0, out.stderr
    assert "3 new" in out.stderr
    out = kb("search", "my pin got locked", "--db", db)
    assert out.returncode == 0
    assert out.stdout.startswith("1. PIN blocked after wrong attempts  [pin-blocked")
    assert "you may: Unblock a PIN after verification." in out.stdout


def test_search_reads_one_query_per_stdin_line_and_writes_one_json_line_each(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "kb.db")
    kb("import", str(DATA / "articles.jsonl"), "--db", db)
    out = kb(
        "search",
        "--db",
        db,
        "--limit",
        "2",
        stdin="i never got my card\n\nhow do i stop a payment\n",
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["query"] for line in lines] == [
        "i never got my card",
        "",
        "how do i stop a payment",
    ]
    assert lines[0]["results"][0]["id"] == "card-arrival"
    assert lines[1]["results"] == []
    assert lines[2]["results"][0]["id"] == "cancel-transfer"
    assert len(lines[2]["results"]) == 2
    assert set(lines[0]["results"][0]) == {
        "id",
        "title",
        "score",
        "snippet",
        "department",
        "authority",
    }


def test_a_bad_import_is_one_line_and_keeps_the_cache(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    kb("import", str(DATA / "articles.jsonl"), "--db", db)
    out = kb("import", str(DATA / "bad.jsonl"), "--db", db)
    assert out.returncode == 1
    assert out.stderr.strip().endswith(
        "bad.jsonl:2: id 'Bad Id!' must be letters, digits, '.', '_' or '-' "
        "(at most 100, starting with a letter or digit)"
    )
    export = kb("export", "--db", db)
    assert len(export.stdout.splitlines()) == 3


def test_feedback_and_report(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    kb("import", str(DATA / "articles.jsonl"), "--db", db)
    assert kb("feedback", "card-arrival", "helpful", "--db", db).returncode == 0
    kb("search", "do you sell travel insurance", "--db", db)
    report = json.loads(kb("report", "--db", db, "--json").stdout)
    assert report["usage"][0]["helpful"] == 1
    assert report["unanswered"][0]["query"] == "do you sell travel insurance"
    text = kb("report", "--db", db).stdout
    assert "Top unanswered questions" in text
    missing = kb("feedback", "nope", "used", "--db", db)
    assert missing.returncode == 1
    assert "no article 'nope'" in missing.stderr


def test_export_csv(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    kb("import", str(DATA / "articles.csv"), "--db", db)
    out = kb("export", "--db", db, "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert out.returncode == 0
    assert (tmp_path / "x.csv").read_text().splitlines()[
        0
    ] == "id,title,body,tags,triggers,department,authority"


def test_analyze_suggests_articles_while_the_customer_explains(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    kb("import", str(DATA / "articles.jsonl"), "--db", db)
    events = [
        {"type": "call", "t": 0, "state": "started"},
        {
            "type": "utterance",
            "t": 2.0,
            "channel": "customer",
            "final": False,
            "text": "hi i ordered a",
            "start": 1,
            "end": 2,
        },
        {
            "type": "utterance",
            "t": 3.0,
            "channel": "customer",
            "final": False,
            "text": "hi i ordered a new card",
            "start": 1,
            "end": 3,
        },
        {
            "type": "utterance",
            "t": 4.5,
            "channel": "customer",
            "final": True,
            "text": "hi i ordered a new card two weeks ago and it still has not come",
            "start": 1,
            "end": 4.4,
        },
    ]
    out = subprocess.run(
        [sys.executable, "-m", "agent_assist", "analyze", "-", "--suggest", "--db", db],
        input="".join(json.dumps(e) + "\n" for e in events), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    suggestions = [json.loads(line) for line in out.stdout.splitlines() if '"suggestion"' in line]
    assert suggestions
    assert suggestions[-1]["articles"][0]["id"] == "card-arrival"
    assert suggestions[-1]["articles"][0]["department"] == "Cards"
    assert suggestions[0]["t"] >= 2.0


@pytest.mark.timeout(900)  # seeding embeds every demo trigger: minutes on a busy machine
def test_the_first_search_on_an_empty_default_cache_loads_the_demo(tmp_path: Path) -> None:
    env = {"AGENT_ASSIST_KB": str(tmp_path / "default.db")}
    out = kb(
        "search",
        "--limit",
        "1",
        stdin="i ordered a card two weeks ago and it never came\n",
        env=env,
        timeout=840,
    )
    assert out.returncode == 0, out.stderr
    assert "loading the demo knowledge base" in out.stderr
    (line,) = [json.loads(x) for x in out.stdout.splitlines()]
    assert line["results"][0]["id"] == "card-arrival"
    again = kb("search", "my pin is blocked", "--json", env=env)
    assert "loading the demo" not in again.stderr  # only once
    assert json.loads(again.stdout)["results"][0]["id"] == "pin-blocked"


def test_a_servicenow_export_imports_with_what_was_skipped(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    out = kb("import", str(EXPORTS / "servicenow_kb_knowledge.csv"), "--db", db, "--no-embed")
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == (
        "imported 3 articles: 3 new, 0 updated, 0 unchanged; 0 phrasings embedded (skipped: "
        "1 attachments, 1 draft (not published), 1 images, 1 older versions, "
        "1 retired (not published))"
    )
    found = json.loads(kb("search", "pin blocked", "--db", db, "--json", "--keyword-only").stdout)
    assert found["results"][0]["id"] == "KB0010002"


def test_the_wrong_format_is_one_line(tmp_path: Path) -> None:
    out = kb(
        "import", str(EXPORTS / "confluence"), "--from", "markdown", "--db", str(tmp_path / "kb.db")
    )
    assert out.returncode == 1
    assert (
        out.stderr.strip() == f"agent-assist: {EXPORTS / 'confluence'}: no .md files in this folder"
    )
    usage = kb("import", "x", "--from", "word", "--db", str(tmp_path / "kb.db"))
    assert usage.returncode == 2


def test_the_report_shows_what_articles_learned(tmp_path: Path) -> None:
    from kb_cache.phrasings import learn
    from kb_cache.store import open_cache

    db = str(tmp_path / "kb.db")
    kb("import", str(DATA / "articles.jsonl"), "--db", db, "--no-embed")
    learn(open_cache(db), "card-arrival", "the new card still is not here", embedder=None)
    report = json.loads(kb("report", "--db", db, "--json").stdout)
    assert report["phrasings"] == [
        {"article_id": "card-arrival", "title": "Card has not arrived yet", "triggers": 2,
         "candidates": 1, "approved": 0}
    ]  # fmt: skip
    text = kb("report", "--db", db).stdout
    assert "card-arrival" in text.split("Phrasings learned")[1]
    assert "(+50%)" in text
