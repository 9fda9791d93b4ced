"""Search, feedback, the report, the offline outbox and sync, on real SQLite files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agent_assist.errors import KnowledgeError, RetryLaterError, SyncError
from kb_cache.embedder import Embedder
from kb_cache.feedback import record, report
from kb_cache.importer import import_path
from kb_cache.outbox import Rejected, flush, pending, submit_resolution
from kb_cache.search import KnowledgeBase
from kb_cache.store import open_cache
from kb_cache.sync import apply_sync, synced_version

DATA = Path(__file__).parents[1] / "data" / "kb"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def db(tmp_path: Path, embedder: Embedder):  # type: ignore[no-untyped-def]
    cache = open_cache(tmp_path / "kb.db")
    for source in ("articles.jsonl", "articles.csv", "markdown"):
        import_path(cache, DATA / source, embedder=embedder)
    return cache


def test_keyword_search_finds_words_with_stemming(db) -> None:  # type: ignore[no-untyped-def]
    hits = KnowledgeBase(db).search("cancelling transfers", mode="keyword")
    assert hits[0].id == "cancel-transfer"
    assert "**" in hits[0].snippet


def test_hybrid_search_finds_how_customers_actually_talk(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    kb = KnowledgeBase(db, embedder=embedder)
    assert kb.search("someone nicked my purse")[0].id == "lost-card"  # no shared keyword
    assert kb.search("the plastic still isn't here after a week")[0].id == "card-arrival"


def test_hits_carry_department_authority_and_scores_in_range(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    (hit,) = KnowledgeBase(db, embedder=embedder).search("my pin got locked", limit=1)
    assert (hit.id, hit.department, hit.authority) == (
        "pin-blocked",
        "Cards",
        "Unblock a PIN after verification.",
    )
    assert 0.0 < hit.score <= 1.0


def test_an_empty_query_finds_nothing(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    assert KnowledgeBase(db, embedder=embedder).search("   ") == []


def test_new_articles_are_searchable_at_once(db, embedder: Embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kb = KnowledgeBase(db, embedder=embedder)
    kb.search("warm the index up")
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps(
            {
                "id": "dog-policy",
                "title": "Guide dogs in branches",
                "body": "Guide dogs are welcome.",
                "triggers": ["can i bring my guide dog"],
            }
        )
        + "\n"
    )
    import_path(db, extra, embedder=embedder)
    assert kb.search("is my assistance dog allowed inside")[0].id == "dog-policy"


def test_feedback_and_the_report(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    kb = KnowledgeBase(db, embedder=embedder)
    record(db, "card-arrival", "shown")
    record(db, "card-arrival", "helpful")
    for _ in range(2):
        kb.search("do you sell travel insurance for my holiday", log=True)
    kb.search("my card has not come yet", log=True)
    data = report(db, days=1)
    assert data["usage"][0]["article_id"] == "card-arrival"
    assert (data["usage"][0]["shown"], data["usage"][0]["helpful"]) == (1, 1)
    assert data["unanswered"][0] == {
        "query": "do you sell travel insurance for my holiday",
        "count": 2,
        "last_seen": data["unanswered"][0]["last_seen"],
    }
    assert all("card has not come" not in row["query"] for row in data["unanswered"])


def test_logged_searches_are_scrubbed_of_personal_data(db) -> None:  # type: ignore[no-untyped-def]
    KnowledgeBase(db).search("card 4111 1111 1111 1111 was declined", log=True, mode="keyword")
    (query,) = [row[0] for row in db.execute("SELECT query FROM searches")]
    assert query == "card [card] was declined"


def test_feedback_on_an_unknown_article_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KnowledgeError, match="no article 'nope'"):
        record(db, "nope", "used")
    with pytest.raises(KnowledgeError, match="unknown feedback"):
        record(db, "card-arrival", "loved")


def test_report_window_excludes_old_days(db) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    record(db, "pin-blocked", "used", when=datetime(2020, 1, 1, tzinfo=UTC))
    assert report(db, days=7, today=date(2026, 11, 23))["usage"] == []


# -- bubble-up resolutions while offline ------------------------------------------------------


def test_submissions_queue_offline_and_send_in_order_when_online(db) -> None:  # type: ignore[no-untyped-def]
    first = submit_resolution(
        db, title="Refund for double charge", steps="1. Check both charges", tags=["Refund"]
    )
    second = submit_resolution(db, title="Card stuck in ATM abroad", steps="1. Freeze the card")

    def offline(payload: dict[str, Any]) -> None:
        raise RetryLaterError("server unreachable")

    assert flush(db, offline) == (0, 2)
    sent: list[str] = []
    assert flush(db, lambda payload: sent.append(payload["title"])) == (2, 0)
    assert sent == ["Refund for double charge", "Card stuck in ATM abroad"]
    assert pending(db) == []
    assert first < second


def test_a_rejected_submission_is_kept_with_its_reason(db) -> None:  # type: ignore[no-untyped-def]
    submit_resolution(db, title="x", steps="y")

    def refuse(payload: dict[str, Any]) -> None:
        raise Rejected("duplicate of card-arrival")

    assert flush(db, refuse) == (0, 0)
    assert db.execute("SELECT state, last_error FROM outbox").fetchone() == (
        "rejected",
        "duplicate of card-arrival",
    )


def test_submissions_are_scrubbed_and_validated(db) -> None:  # type: ignore[no-untyped-def]
    submit_resolution(db, title="Call back on 555 123 4567", steps="Card 4111111111111111 fixed")
    (item,) = pending(db)
    assert item.payload["title"] == "Call back on [phone]"
    assert "[card]" in item.payload["body"]
    with pytest.raises(KnowledgeError, match="needs a title"):
        submit_resolution(db, title=" ", steps="x")


# -- sync --------------------------------------------------------------------------------------


def payload(since: int, version: int, **extra: Any) -> dict[str, Any]:
    return {"format": 1, "since": since, "version": version, "articles": [], "deleted": [], **extra}


def test_sync_applies_changes_and_deletions_atomically(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    new = {
        "id": "overdraft",
        "title": "Arranged overdraft",
        "body": "Up to 500 USD.",
        "triggers": ["can i get an overdraft"],
    }
    apply_sync(db, payload(0, 3, articles=[new], deleted=["pin-blocked"]), embedder=embedder)
    assert synced_version(db) == 3
    ids = {row[0] for row in db.execute("SELECT id FROM articles")}
    assert "overdraft" in ids
    assert "pin-blocked" not in ids
    assert (
        KnowledgeBase(db, embedder=embedder).search("could i borrow a bit over my balance")[0].id
        == "overdraft"
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b'{"format": 1, "since": 0, "version": 2, "articles": [', "not valid JSON"),
        (payload(5, 6), "starts at version 5 but this cache is at 0"),
        (payload(0, 0), "does not move forward"),
        (payload(0, 1, articles=[{"id": "x", "title": "t"}]), "article 0: .*'body' is required"),
        (payload(0, 1, articles=["nope"]), "article 0 is not an object"),
        ({"format": 2}, "format 1"),
    ],
)
def test_corrupt_or_out_of_order_sync_leaves_the_cache_as_it_was(
    db, bad: Any, message: str
) -> None:  # type: ignore[no-untyped-def]
    before = db.execute("SELECT id, version, body FROM articles ORDER BY id").fetchall()
    with pytest.raises(SyncError, match=message):
        apply_sync(db, bad, embedder=None)
    assert db.execute("SELECT id, version, body FROM articles ORDER BY id").fetchall() == before
    assert synced_version(db) == 0


def test_a_cache_without_vectors_falls_back_to_full_keyword_scores(
    tmp_path: Path, embedder: Embedder
) -> None:
    cache = open_cache(tmp_path / "plain.db")
    import_path(cache, DATA / "articles.jsonl", embedder=None)  # e.g. kb import --no-embed
    (hit,) = KnowledgeBase(cache, embedder=embedder).search("cancel my transfer", limit=1)
    assert hit.id == "cancel-transfer"
    assert hit.score == 1.0  # not scaled down by the missing semantic half


def test_an_error_code_in_a_step_finds_its_article_among_the_demo(
    tmp_path: Path, embedder: Embedder
) -> None:
    from kb_cache.article import Article
    from kb_cache.demo import demo_articles, demo_vectors
    from kb_cache.importer import write_articles

    cache = open_cache(tmp_path / "demo.db")
    login = Article(
        id="KB0040001",
        title="Problems logging in to the app",
        body="1. Check the customer's app version.\n"
        "2. If the app shows E4012, the phone's clock is wrong: set the time automatically.\n"
        "3. Otherwise reset the passcode.",
    )
    articles = [*demo_articles(), login]
    write_articles(
        cache, articles, embedder=embedder, source="t", known=demo_vectors(embedder.name)
    )
    kb = KnowledgeBase(cache, embedder=embedder)
    (hit,) = kb.search("the app keeps saying E4012", limit=1)
    assert hit.id == "KB0040001"
    assert "**E4012**" in hit.snippet


def test_passages_are_what_a_question_matches(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    kb = KnowledgeBase(db, embedder=embedder)
    kinds = {row[0] for row in db.execute("SELECT kind FROM vectors")}
    assert {"title", "passage", "trigger"} <= kinds
    assert kb.search("can i cancel it while it is still pending")[0].id == "cancel-transfer"


def test_vectors_another_model_made_are_not_compared(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    from kb_cache.store import set_meta

    set_meta(db, "embed_model", "some-other-model")
    set_meta(db, "content_version", 99)
    (hit,) = KnowledgeBase(db, embedder=embedder).search("cancel my transfer", limit=1)
    assert (hit.id, hit.semantic, hit.score) == ("cancel-transfer", 0.0, 1.0)  # keywords alone


def _old_model_made(db) -> int:  # type: ignore[no-untyped-def]
    """Mark the cache's vectors as another model's (as after an update); returns how many."""
    from kb_cache.store import set_meta

    db.execute("UPDATE vectors SET vec = zeroblob(384)")  # not what this model makes
    set_meta(db, "embed_model", "all-MiniLM-L6-v2-int8")  # the model of earlier releases
    count: int = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    return count


def test_an_import_after_a_model_change_embeds_every_article_again(db, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    from kb_cache.store import get_meta

    units = _old_model_made(db)
    import_path(db, DATA / "markdown", embedder=embedder)  # one article; all are re-embedded
    assert get_meta(db, "embed_model") == embedder.name
    assert db.execute("SELECT count(*) FROM vectors WHERE vec = zeroblob(384)").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM vectors").fetchone()[0] == units
    (hit,) = KnowledgeBase(db, embedder=embedder).search("cancel my transfer", limit=1)
    assert hit.id == "cancel-transfer"
    assert hit.semantic > 0.3


def test_opening_a_cache_after_a_model_change_embeds_it_again(
    tmp_path: Path, embedder: Embedder
) -> None:
    from kb_cache.cache import open_db

    cache = open_cache(tmp_path / "site.db")
    import_path(cache, DATA / "articles.jsonl", embedder=embedder)
    units = _old_model_made(cache)
    told: list[str] = []
    reopened = open_db(tmp_path / "site.db", embedder=embedder, notify=told.append)
    assert len(told) == 1
    assert "older search model" in told[0]
    assert (
        reopened.execute("SELECT count(*) FROM vectors WHERE vec != zeroblob(384)").fetchone()[0]
        == units
    )
    open_db(tmp_path / "site.db", embedder=embedder, notify=told.append)
    assert len(told) == 1  # indexed once: the next start finds nothing to do


def test_opening_without_an_embedder_leaves_old_vectors_alone(
    tmp_path: Path, embedder: Embedder
) -> None:
    from kb_cache.cache import open_db
    from kb_cache.store import get_meta

    cache = open_cache(tmp_path / "site.db")
    import_path(cache, DATA / "articles.jsonl", embedder=embedder)
    _old_model_made(cache)
    reopened = open_db(tmp_path / "site.db", embedder=None)
    assert get_meta(reopened, "embed_model") == "all-MiniLM-L6-v2-int8"
