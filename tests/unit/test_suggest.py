"""Live suggestions: debounced, stable, from what the customer is saying (search is a small fake).

The suggester only asks (a SearchRequest) and takes answers; ``Answered`` answers at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_assist.events import ArticleRef, Event, Level, Suggestion, Utterance
from agent_assist.suggest import SearchRequest, SearchResults, Suggester


class FakeSearch:
    """Scores articles by keywords in the query; records every query it was asked."""

    def __init__(self, table: dict[str, dict[str, float]]) -> None:
        self.table = table
        self.queries: list[str] = []

    def __call__(self, query: str) -> Sequence[ArticleRef]:
        self.queries.append(query)
        scores: dict[str, float] = {}
        for word, articles in self.table.items():
            if word in query:
                for article, score in articles.items():
                    scores[article] = max(scores.get(article, 0.0), score)
        return [ArticleRef(a, a.title(), s) for a, s in sorted(scores.items(), key=lambda x: -x[1])]


class Answered:
    """A Suggester whose search requests ``search`` answers at once (as ``analyze --suggest`` does)."""

    def __init__(self, search: FakeSearch, *, window: float = 45.0) -> None:
        self.suggester = Suggester(window=window)
        self.search = search

    def feed(self, event: Event) -> list[Suggestion]:
        out: list[Suggestion] = []
        for request in self.suggester.feed(event):
            articles = tuple(self.search(request.query))
            out += self.suggester.answer(SearchResults(request.id, request.t, articles))
        return out

    @property
    def shown(self) -> list[ArticleRef]:
        return self.suggester.shown


def customer(text: str, t: float, *, final: bool = True) -> Utterance:
    return Utterance(t, "customer", final, text, t - 1, t)


def ids(suggestions: list[Suggestion]) -> list[list[str]]:
    return [[a.id for a in s.articles] for s in suggestions]


def test_a_customer_final_brings_suggestions() -> None:
    s = Answered(FakeSearch({"card": {"card-arrival": 0.8, "lost-card": 0.5}}))
    assert ids(s.feed(customer("my card has not arrived", 1.0))) == [["card-arrival", "lost-card"]]


def test_weak_matches_are_never_shown() -> None:
    s = Answered(FakeSearch({"hello": {"greeting": 0.2}}))
    assert s.feed(customer("hello there", 1.0)) == []


def test_searches_are_debounced_to_one_per_second() -> None:
    search = FakeSearch({"card": {"card-arrival": 0.8}})
    s = Answered(search)
    s.feed(customer("my card", 1.0))
    s.feed(customer("my card has not", 1.3))
    s.feed(customer("my card has not arrived", 1.6))
    assert len(search.queries) == 1
    s.feed(Level(2.1, "customer", -30.0, False))  # time passes with the audio
    assert len(search.queries) == 2


def test_only_the_stable_part_of_a_partial_is_searched() -> None:
    search = FakeSearch({})
    s = Answered(search)
    s.feed(customer("my card was", 1.0, final=False))
    s.feed(customer("my card has not", 2.5, final=False))  # "was" was revised: not stable
    assert search.queries[-1] == "my card"


def test_the_list_does_not_reshuffle_on_small_changes() -> None:
    table = {"card": {"card-arrival": 0.70, "lost-card": 0.66, "card-fee": 0.60}}
    search = FakeSearch(table)
    s = Answered(search)
    first = s.feed(customer("my card", 1.0))
    table["card"] = {"card-arrival": 0.66, "lost-card": 0.69, "card-fee": 0.61, "pin": 0.62}
    assert s.feed(customer("my card again", 3.0)) == []  # nothing beats the shown by the margin
    assert ids(first) == [["card-arrival", "lost-card", "card-fee"]]
    assert [a.id for a in s.shown] == ["card-arrival", "lost-card", "card-fee"]


def test_a_clearly_better_article_takes_the_lead() -> None:
    table = {"card": {"card-arrival": 0.6, "lost-card": 0.5}}
    s = Answered(FakeSearch(table))
    s.feed(customer("my card", 1.0))
    table["stolen"] = {"lost-card": 0.9}
    out = s.feed(customer("my card was stolen", 3.0))
    assert ids(out) == [["lost-card", "card-arrival"]]


def test_old_conversation_drops_out_of_the_window() -> None:
    search = FakeSearch({})
    s = Answered(search, window=30.0)
    s.feed(customer("my card is lost", 1.0))
    s.feed(customer("also i want to change my address", 50.0))
    assert search.queries[-1] == "also i want to change my address"


def test_the_agents_restatement_helps_the_search() -> None:
    search = FakeSearch({})
    s = Answered(search)
    s.feed(customer("it still has not come", 1.0))
    s.feed(Utterance(3.0, "agent", True, "so your new card has not arrived", 2.0, 3.0))
    assert search.queries[-1] == "it still has not come so your new card has not arrived"


def test_the_suggester_asks_for_a_search_and_never_performs_it() -> None:
    s = Suggester()
    requests = s.feed(customer("my card has not arrived", 1.0))
    assert requests == [
        SearchRequest(
            id=requests[0].id,
            t=1.0,
            query="my card has not arrived",
            limit=6,
            customer="my card has not arrived",
        )
    ]
    card = ArticleRef("card-arrival", "Card arrival", 0.8)
    out = s.answer(SearchResults(requests[0].id, 1.4, (card,)))
    assert out == [Suggestion(t=1.4, articles=(card,))]


def test_one_search_at_a_time_and_the_next_asks_for_the_latest_words() -> None:
    s = Suggester()
    first = s.feed(customer("my card", 1.0))
    assert s.feed(customer("it has not arrived", 2.5)) == []  # the first is still out
    s.answer(SearchResults(first[0].id, 2.6, ()))
    (second,) = s.feed(Level(2.7, "customer", -30.0, False))
    assert second.query == "my card it has not arrived"
    assert second.id != first[0].id


def test_an_answer_to_another_request_changes_nothing() -> None:
    s = Suggester()
    (request,) = s.feed(customer("my card", 1.0))
    stale = SearchResults("search-0", 1.5, (ArticleRef("pin", "PIN", 0.9),))
    assert s.answer(stale) == []
    assert s.shown == []
    assert s.answer(SearchResults(request.id, 1.6, (ArticleRef("card", "Card", 0.9),))) != []
