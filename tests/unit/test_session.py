"""The call session is sans-I/O: it asks for searches and takes their answers, never searching."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent_assist.events import ArticleRef, Call, Event, Flag, Suggestion, Utterance
from agent_assist.session import CallSession, feed_and_answer
from agent_assist.suggest import SearchRequest, SearchResults

CARD = ArticleRef("card-arrival", "Card has not arrived", 0.9, "Check the **delivery**")


def customer(text: str, t: float) -> Utterance:
    return Utterance(t, "customer", True, text, t - 1, t)


def agent(text: str, t: float) -> Utterance:
    return Utterance(t, "agent", True, text, t - 1, t)


def test_a_customers_words_become_a_search_request_not_a_search() -> None:
    session = CallSession(suggest=True)
    session.feed(Call(t=0.0, state="started"))
    assert session.feed(customer("my new card has not arrived", 2.0)) == []
    (request,) = session.requests_to_perform()
    assert isinstance(request, SearchRequest)
    assert (request.t, request.query) == (2.0, "my new card has not arrived")
    assert session.requests_to_perform() == []  # each request is handed out once
    assert session.awaiting == 1


def test_the_answer_comes_out_as_a_suggestion_at_the_time_it_is_fed() -> None:
    session = CallSession(suggest=True)
    session.feed(customer("my new card has not arrived", 2.0))
    (request,) = session.requests_to_perform()
    out = session.feed(SearchResults(request.id, 3.5, (CARD,)))
    assert out == [Suggestion(t=3.5, articles=(CARD,))]
    assert session.awaiting == 0


def test_flags_keep_coming_while_a_search_is_unanswered() -> None:
    session = CallSession(suggest=True)
    session.feed(Call(t=0.0, state="started"))
    session.feed(customer("my new card has not arrived", 2.0))
    assert session.requests_to_perform() != []
    out = session.feed(agent("calm down i already told you", 4.0))
    assert {e.kind for e in out if isinstance(e, Flag)} == {"rudeness"}
    assert session.awaiting == 1


def test_an_answer_nobody_awaits_causes_nothing() -> None:
    session = CallSession(suggest=True)
    session.feed(customer("my new card has not arrived", 2.0))
    (request,) = session.requests_to_perform()
    assert session.feed(SearchResults("search-99", 3.0, (CARD,))) == []
    assert session.feed(SearchResults(request.id, 3.0, (CARD,))) != []
    assert session.feed(SearchResults(request.id, 3.1, (CARD,))) == []  # answered already


def test_without_suggestions_nothing_is_ever_asked() -> None:
    session = CallSession()
    session.feed(customer("my new card has not arrived", 2.0))
    assert session.requests_to_perform() == []


def test_feed_and_answer_gives_the_events_in_the_order_analyze_writes_them() -> None:
    session = CallSession(suggest=True)
    asked: list[str] = []

    def perform(request: SearchRequest) -> SearchResults:
        asked.append(request.query)
        return SearchResults(request.id, request.t, (CARD,))

    feed_and_answer(session, Call(t=0.0, state="started"), perform)
    out = feed_and_answer(session, customer("my card has not arrived you people", 2.0), perform)
    assert asked == ["my card has not arrived you people"]
    assert out == [Suggestion(t=2.0, articles=(CARD,))]


class Echo:
    """A further engine (as later ones will be): sees every event, asks for nothing."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    def feed(self, event: Event) -> Sequence[Event]:
        self.seen.append(event)
        return []


class Rogue:
    """An engine that asks for I/O but cannot take the answer: a programming error."""

    def feed(self, event: Event) -> Sequence[SearchRequest]:
        return [SearchRequest("rogue-1", event.t, "x", 1)]


def test_more_engines_plug_in_beside_the_risk_engine() -> None:
    echo = Echo()
    session = CallSession(engines=[echo])
    session.feed(Call(t=0.0, state="started"))
    assert echo.seen == [Call(t=0.0, state="started")]


def test_an_engine_that_asks_must_take_the_answer() -> None:
    session = CallSession(engines=[Rogue()])
    with pytest.raises(ValueError, match="rogue-1"):
        session.feed(Call(t=0.0, state="started"))


def test_a_snoozed_kind_is_not_raised_but_a_critical_one_still_is() -> None:
    session = CallSession()
    session.feed(Call(t=0.0, state="started"))
    session.snooze("rudeness")
    session.snooze("profanity")  # critical: the customer may be hearing it
    out = session.feed(agent("calm down you damn fool", 2.0))
    kinds = {e.kind for e in out if isinstance(e, Flag)}
    assert "rudeness" not in kinds
    assert "profanity" in kinds
