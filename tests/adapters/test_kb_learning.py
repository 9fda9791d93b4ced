"""Learning from the floor: Used it / Helpful turns the customer's words into a phrasing.

Real SQLite and the real embedder; the desktop's knowledge worker is driven the
way the app drives it (a call's search request, then the panel's feedback).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_assist.app import KnowledgeWorker
from agent_assist.errors import KnowledgeError
from agent_assist.events import Utterance
from agent_assist.suggest import SearchRequest, SearchResults, Suggester
from kb_cache.embedder import Embedder
from kb_cache.feedback import report
from kb_cache.importer import import_path
from kb_cache.outbox import pending
from kb_cache.phrasings import candidate, learn
from kb_cache.search import KnowledgeBase
from kb_cache.store import open_cache
from kb_cache.sync import apply_sync
from tests.support.waiting import wait_for

DATA = Path(__file__).parents[1] / "data" / "kb"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def kb(tmp_path: Path, embedder: Embedder) -> KnowledgeBase:
    db = open_cache(tmp_path / "kb.db")
    import_path(db, DATA / "articles.jsonl", embedder=embedder)
    return KnowledgeBase(db, embedder=embedder)


def phrasings(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    return kb.db.execute("SELECT article_id, text, state FROM phrasings ORDER BY id").fetchall()


def test_a_candidate_is_the_customers_last_words_scrubbed() -> None:
    words = "hi there " * 20 + "my card 4111 1111 1111 1111 got eaten by the cash machine"
    text = candidate(words)
    assert text is not None
    assert text.endswith("my card [card] got eaten by the cash machine")
    assert len(text.split()) == 30
    assert candidate("yes ok") is None  # too short to say anything


def test_learning_keeps_a_searchable_candidate_and_queues_it_for_review(kb: KnowledgeBase) -> None:
    words = "the cash machine will not take my code any more"

    def closest() -> float:
        return next(h.closest for h in kb.search(words, limit=3) if h.id == "pin-blocked")

    before = closest()
    assert learn(kb.db, "pin-blocked", words, embedder=kb.embedder) == words
    assert phrasings(kb) == [("pin-blocked", words, "candidate")]
    assert before < 0.9 < closest()  # this desk's search learned at once
    (item,) = pending(kb.db)
    assert item.payload["article_id"] == "pin-blocked"
    assert item.payload["triggers"] == [words]
    assert item.payload["title"] == "PIN blocked after wrong attempts"


def test_nothing_is_learned_twice_or_for_an_unknown_article(kb: KnowledgeBase) -> None:
    assert learn(kb.db, "pin-blocked", "my pin is blocked again", embedder=None)
    assert learn(kb.db, "pin-blocked", "my pin is blocked again", embedder=None) is None
    triggers = json.loads(
        kb.db.execute("SELECT triggers FROM articles WHERE id = 'card-arrival'").fetchone()[0]
    )
    assert learn(kb.db, "card-arrival", triggers[0], embedder=None) is None  # already a trigger
    with pytest.raises(KnowledgeError, match="no article 'nope'"):
        learn(kb.db, "nope", "some words here", embedder=None)
    assert len(pending(kb.db)) == 1


def test_an_approved_phrasing_from_the_server_joins_an_unchanged_article(kb: KnowledgeBase) -> None:
    kb.search("warm the index up")
    payload = {
        "format": 1, "since": 0, "version": 4, "articles": [], "deleted": [],
        "phrasings": [{"article_id": "pin-blocked", "text": "the machine says my code is frozen"}],
    }  # fmt: skip
    apply_sync(kb.db, payload, embedder=kb.embedder)
    assert phrasings(kb) == [("pin-blocked", "the machine says my code is frozen", "approved")]
    assert kb.search("machine says my code is frozen")[0].id == "pin-blocked"
    (row,) = report(kb.db)["phrasings"]
    assert (row["article_id"], row["candidates"], row["approved"]) == ("pin-blocked", 0, 1)


def test_a_malformed_phrasings_list_is_refused_whole(kb: KnowledgeBase) -> None:
    from agent_assist.errors import SyncError

    payload = {"format": 1, "since": 0, "version": 2, "phrasings": [{"article_id": "x"}]}
    with pytest.raises(SyncError, match="'phrasings' must list"):
        apply_sync(kb.db, payload, embedder=None)
    assert phrasings(kb) == []


def test_a_reimported_article_keeps_its_learned_phrasings(kb: KnowledgeBase) -> None:
    learn(kb.db, "pin-blocked", "the machine says my code is frozen", embedder=kb.embedder)
    import_path(kb.db, DATA / "articles.jsonl", embedder=kb.embedder)
    kinds = kb.db.execute(
        "SELECT count(*) FROM vectors WHERE article_id = 'pin-blocked' AND kind = 'phrasing'"
    ).fetchone()
    assert kinds == (1,)


def utterance(t: float, channel: str, text: str) -> Utterance:
    return Utterance(t=t, channel=channel, final=True, text=text, start=t - 1.0, end=t)  # type: ignore[arg-type]


def test_used_it_on_a_suggestion_teaches_the_customers_words(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "kb.db"
    import_path(open_cache(path), DATA / "articles.jsonl", embedder=embedder)
    errors: list[str] = []
    suggester = Suggester()
    (first,) = suggester.feed(utterance(1.0, "agent", "thanks for calling how can i help"))
    assert first.customer == ""  # the agent's words are never learned
    suggester.answer(SearchResults(first.id, first.t, ()))
    (request,) = suggester.feed(utterance(3.0, "customer", "my card never turned up"))
    assert request.customer == "my card never turned up"
    assert request.query == "my card never turned up thanks for calling how can i help"
    worker = KnowledgeWorker(
        open_kb=lambda: KnowledgeBase(open_cache(path), embedder=embedder),
        on_error=errors.append,
        learn=True,
    )
    worker.start()
    answers: list[SearchResults] = []
    try:
        worker.perform(request, answers.append)
        wait_for(lambda: bool(answers))
        assert answers[0].articles[0].id == "card-arrival"
        worker.submit(worker.feedback("cancel-transfer", "used"))  # not suggested: nothing to learn
        worker.submit(worker.feedback("card-arrival", "opened"))  # opening teaches nothing
        worker.submit(worker.feedback("card-arrival", "helpful"))
        worker.submit(worker.feedback("card-arrival", "used"))  # once per suggestion
    finally:
        worker.stop()
    assert errors == []
    db = open_cache(path)
    assert db.execute("SELECT article_id, text, state FROM phrasings").fetchall() == [
        ("card-arrival", "my card never turned up", "candidate")
    ]
    actions = db.execute("SELECT article_id, action FROM usage ORDER BY id").fetchall()
    assert actions == [
        ("cancel-transfer", "used"),
        ("card-arrival", "opened"),
        ("card-arrival", "helpful"),
        ("card-arrival", "used"),
    ]


def test_a_site_can_turn_learning_off(tmp_path: Path) -> None:
    path = tmp_path / "kb.db"
    import_path(open_cache(path), DATA / "articles.jsonl", embedder=None)
    errors: list[str] = []
    worker = KnowledgeWorker(
        open_kb=lambda: KnowledgeBase(open_cache(path)), on_error=errors.append, learn=False
    )
    worker.start()
    answers: list[SearchResults] = []
    try:
        request = SearchRequest(
            "s1", 1.0, "my card has not come", 6, customer="my card has not come"
        )
        worker.perform(request, answers.append)
        wait_for(lambda: bool(answers))
        worker.submit(worker.feedback(answers[0].articles[0].id, "used"))
    finally:
        worker.stop()
    assert errors == []
    assert open_cache(path).execute("SELECT count(*) FROM phrasings").fetchone() == (0,)
