"""The app's workers: the call never waits for knowledge; the knowledge worker answers its searches.

Real SQLite, a real KnowledgeBase and the real embedder; the only stand-in is a gate
in front of the embedder, so a search is slow exactly as long as the test wants.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from pytestqt.qtbot import QtBot

from agent_assist.app import CallWorker, KnowledgeWorker
from agent_assist.events import ArticleRef, Call, Event, Flag, Suggestion, Utterance
from agent_assist.suggest import SearchRequest, SearchResults
from kb_cache.cache import open_db
from kb_cache.embedder import Embedder
from kb_cache.importer import import_path
from kb_cache.search import KnowledgeBase

ARTICLES = Path(__file__).parents[1] / "data" / "kb" / "articles.jsonl"


class GatedEmbedder(Embedder):
    """The real embedder behind a gate: ``entered`` is set while a search waits at it."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.entered.set()
        self.gate.wait(30)
        return super().embed(texts)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    path = tmp_path / "kb.db"
    import_path(open_db(path), ARTICLES, embedder=None)
    return path


def started_knowledge(cache: Path, embedder: Embedder | None) -> KnowledgeWorker:
    worker = KnowledgeWorker(
        open_kb=lambda: KnowledgeBase(open_db(cache), embedder=embedder), on_error=print
    )
    worker.start()
    return worker


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_knowledge_worker_answers_a_calls_search_on_its_own_connection(cache: Path) -> None:
    knowledge = started_knowledge(cache, embedder=None)
    answers: list[SearchResults] = []
    try:
        request = SearchRequest("search-1", 2.0, "my card has not come yet", 6)
        knowledge.perform(request, answers.append)
        wait_for(lambda: bool(answers))
    finally:
        knowledge.stop()
    (answer,) = answers
    assert (answer.id, answer.t) == ("search-1", 2.0)
    assert answer.articles[0].id == "card-arrival"
    assert answer.articles[0].snippet


def test_a_knowledge_worker_without_a_cache_still_answers_empty(tmp_path: Path) -> None:
    (tmp_path / "not-a-cache.db").write_text("not sqlite")
    errors: list[str] = []
    knowledge = KnowledgeWorker(
        open_kb=lambda: KnowledgeBase(open_db(tmp_path / "not-a-cache.db")), on_error=errors.append
    )
    knowledge.start()
    answers: list[SearchResults] = []
    try:
        knowledge.perform(SearchRequest("search-1", 2.0, "card", 6), answers.append)
        wait_for(lambda: bool(answers))
    finally:
        knowledge.stop()
    assert answers == [SearchResults("search-1", 2.0, ())]
    assert errors == [
        f"the knowledge cache is not available: {tmp_path / 'not-a-cache.db'} is not a usable knowledge cache (file is not a database)"
    ]


def test_the_call_keeps_coaching_while_a_knowledge_search_is_slow(cache: Path) -> None:
    embedder = GatedEmbedder()
    knowledge = started_knowledge(cache, embedder)
    seen: list[Event] = []

    def source(stop: threading.Event) -> Iterator[Event]:
        yield Call(t=0.0, state="started")
        yield Utterance(1.0, "customer", True, "my card has not come yet", 0.0, 1.0)
        assert embedder.entered.wait(30)  # the knowledge worker is now stuck in that search
        yield Utterance(2.0, "agent", True, "calm down i already told you", 1.2, 2.0)
        yield Call(t=3.0, state="ended")

    worker = CallWorker(source, emit=seen.append, perform=knowledge.perform)
    try:
        worker.start()
        wait_for(lambda: any(isinstance(e, Flag) for e in seen))
        wait_for(lambda: Call(t=3.0, state="ended") in seen)
        assert not embedder.gate.is_set()  # the search is still running ...
        assert not any(isinstance(e, Suggestion) for e in seen)  # ... and nothing waited for it
        assert worker.is_alive()  # the call's search is still to be answered
        embedder.gate.set()
        wait_for(lambda: not worker.is_alive())
    finally:
        embedder.gate.set()
        worker.stop()
        knowledge.stop()
    (suggestion,) = [e for e in seen if isinstance(e, Suggestion)]
    assert suggestion.articles[0].id == "card-arrival"
    assert suggestion.t == 3.0  # fed when it came: after the last event of the call
    assert [e.kind for e in seen if isinstance(e, Flag)] == ["rudeness"]


def test_the_panels_search_runs_on_the_worker_and_shows_on_the_gui_thread(
    qtbot: QtBot, cache: Path
) -> None:
    from agent_assist.app.knowledge import connect_panel
    from ui.bridge import Bridge
    from ui.knowledge import KnowledgePanel
    from ui.theme import THEMES

    bridge = Bridge()
    panel = KnowledgePanel(theme=THEMES["dark"])
    qtbot.addWidget(panel)
    shown_on: list[str] = []
    show = panel.show_results

    def show_results(query: str, articles: list[ArticleRef]) -> None:
        shown_on.append(threading.current_thread().name)
        show(query, articles)

    panel.show_results = show_results  # type: ignore[method-assign]
    knowledge = KnowledgeWorker(
        open_kb=lambda: KnowledgeBase(open_db(cache)),
        on_error=print,
        run_on_main=bridge.run_on_main,
    )
    connect_panel(panel, knowledge)
    knowledge.start()
    try:
        panel.search_requested.emit("my card has not come yet")
        qtbot.waitUntil(lambda: bool(panel.cards), timeout=30_000)
    finally:
        knowledge.stop()
    assert panel.cards[0].ref.id == "card-arrival"
    assert shown_on == [threading.main_thread().name]


def test_a_kind_snoozed_in_the_window_is_no_longer_raised_on_this_call() -> None:
    seen: list[Event] = []
    go = threading.Event()

    def source(stop: threading.Event) -> Iterator[Event]:
        yield Call(t=0.0, state="started")
        go.wait(10)  # the agent snoozes rudeness now
        yield Utterance(2.0, "agent", True, "calm down i already told you", 1.2, 2.0)

    worker = CallWorker(source, emit=seen.append)
    worker.start()
    wait_for(lambda: Call(t=0.0, state="started") in seen)
    worker.snooze("rudeness")
    go.set()
    wait_for(lambda: not worker.is_alive())
    assert any(isinstance(e, Utterance) for e in seen)
    assert [e for e in seen if isinstance(e, Flag)] == []


def test_an_empty_knowledge_base_says_so_and_how_to_fill_it(tmp_path: Path, qtbot: QtBot) -> None:
    from agent_assist.app.knowledge import article_count
    from ui.bridge import Bridge
    from ui.knowledge import EMPTY_KNOWLEDGE, KnowledgePanel
    from ui.theme import THEMES

    panel = KnowledgePanel(theme=THEMES["light"])
    qtbot.addWidget(panel)
    bridge = Bridge()
    knowledge = KnowledgeWorker(
        open_kb=lambda: KnowledgeBase(open_db(tmp_path / "empty.db")),
        on_error=print,
        run_on_main=bridge.run_on_main,
    )
    knowledge.submit(article_count().success(lambda n: panel.set_empty(n == 0)))
    knowledge.start()
    try:
        qtbot.waitUntil(lambda: panel.heading.text() == EMPTY_KNOWLEDGE, timeout=30_000)
    finally:
        knowledge.stop()
    assert "Settings" in EMPTY_KNOWLEDGE  # what to do, in the app
    assert "agent-assist" not in EMPTY_KNOWLEDGE  # not a command to type
