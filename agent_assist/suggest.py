"""Live knowledge suggestions while the customer is still explaining (sans-I/O).

``Suggester.feed(event)`` returns at most one :class:`SearchRequest`; whoever
owns the knowledge cache performs it and hands the :class:`SearchResults` to
``Suggester.answer``, which returns at most one ``suggestion`` event. So this
module never touches SQLite or the embedder, never waits for them, and time
comes only from the events.

* **What is searched**: the customer's final utterances of the last
  ``window`` seconds plus the *stable* part of their current partial (the
  words two consecutive partials agree on), and the agent's last final, which
  often restates the problem ("so your card hasn't arrived").
* **Debounced**: at most one search per ``min_interval`` seconds, and one at a
  time: no new request until the last one is answered. A search only runs when
  that text changed.
* **Stable**: the list on screen does not reshuffle on every word. An article
  joins only if it beats the weakest shown one by ``margin``; the order
  changes only if the new leader beats the shown leader by ``margin``.
  Results under ``min_score`` are never shown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from agent_assist.events import ArticleRef, Event, Suggestion, Utterance

__all__ = ["SearchRequest", "SearchResults", "Suggester"]


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """Search the knowledge cache for ``query``: the best ``limit`` articles, best first.

    ``id`` names the request in its answer; ``t`` is the call time (s) that asked.
    """

    id: str
    t: float
    query: str
    limit: int


@dataclass(frozen=True, slots=True)
class SearchResults:
    """The answer to the :class:`SearchRequest` ``id``: ``articles`` best first.

    ``t`` is the call time (s) the answer is fed at: the request's ``t`` when it is
    answered at once (``analyze --suggest``), later on a live call.
    """

    id: str
    t: float
    articles: tuple[ArticleRef, ...]


@dataclass
class Suggester:
    """Turns the conversation into search requests and their answers into suggestions."""

    min_interval: float = 1.0  # s between searches
    window: float = 45.0  # s of conversation searched
    max_words: int = 60
    limit: int = 3
    min_score: float = 0.35
    margin: float = 0.05
    _finals: deque[tuple[float, str, str]] = field(default_factory=deque)
    _partials: dict[str, tuple[list[str], list[str]]] = field(
        default_factory=dict
    )  # channel: (previous, current)
    _last_search: float = float("-inf")
    _last_query: str = ""
    _shown: list[ArticleRef] = field(default_factory=list)
    _asked: str | None = None  # the request in flight
    _requests: int = 0

    @property
    def shown(self) -> list[ArticleRef]:
        """The suggestions currently on screen, best first."""
        return list(self._shown)

    def feed(self, event: Event) -> list[SearchRequest]:
        """Note ``event``; return the search it calls for, if any (at most one in flight)."""
        if isinstance(event, Utterance):
            self._note(event)
        if self._asked is not None or event.t - self._last_search < self.min_interval:
            return []
        query = self.query(event.t)
        if not query or query == self._last_query:
            return []
        self._last_search, self._last_query = event.t, query
        self._requests += 1
        self._asked = f"search-{self._requests}"
        # candidates beyond the shown few let a shown article stay while it is still relevant
        return [SearchRequest(id=self._asked, t=event.t, query=query, limit=2 * self.limit)]

    def answer(self, results: SearchResults) -> list[Suggestion]:
        """The suggestion ``results`` bring (none for a stale answer or an unchanged list)."""
        if results.id != self._asked:
            return []
        self._asked = None
        found = [a for a in results.articles if a.score >= self.min_score][: 2 * self.limit]
        updated = self._merge(found)
        if [a.id for a in updated] == [a.id for a in self._shown]:
            self._shown = updated  # same list: fresher scores, but nothing to redraw
            return []
        self._shown = updated
        return [Suggestion(t=results.t, articles=tuple(updated))]

    def _note(self, utterance: Utterance) -> None:
        words = utterance.text.split()
        if utterance.final:
            self._finals.append((utterance.t, utterance.channel, utterance.text))
            self._partials.pop(utterance.channel, None)
        else:
            previous = self._partials.get(utterance.channel, ([], []))[1]
            self._partials[utterance.channel] = (previous, words)

    def query(self, now: float) -> str:
        """The text a search at ``now`` would use."""
        while self._finals and self._finals[0][0] < now - self.window:
            self._finals.popleft()
        customer = [text for _, channel, text in self._finals if channel == "customer"]
        previous, current = self._partials.get("customer", ([], []))
        stable = []
        for a, b in zip(previous, current, strict=False):
            if a != b:
                break
            stable.append(a)
        if stable:
            customer.append(" ".join(stable))
        agent = [text for _, channel, text in self._finals if channel == "agent"][-1:]
        words = " ".join(customer).split()[-self.max_words :] + " ".join(agent).split()[-20:]
        return " ".join(words)

    def _merge(self, found: list[ArticleRef]) -> list[ArticleRef]:
        """The new list to show: the shown one, changed only where a result clearly differs."""
        if not self._shown:
            return found[: self.limit]
        fresh = {a.id: a for a in found}
        kept = [fresh[a.id] for a in self._shown if a.id in fresh]  # shown order, new scores
        for article in found:  # best first
            if any(k.id == article.id for k in kept):
                continue
            if len(kept) < self.limit:
                kept.append(article)
                continue
            weakest = min(kept, key=lambda a: a.score)
            if article.score >= weakest.score + self.margin:
                kept[kept.index(weakest)] = article
        if kept:
            leader = max(kept, key=lambda a: a.score)
            if leader is not kept[0] and leader.score >= kept[0].score + self.margin:
                kept.remove(leader)
                kept.insert(0, leader)
        return kept
