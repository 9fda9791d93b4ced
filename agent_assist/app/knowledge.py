"""The app's knowledge: one worker thread owns the cache; everything else asks it with typed ops.

The :class:`KnowledgeWorker` holds the process's only cache connection and
embedder. It answers the call session's searches (:meth:`KnowledgeWorker.perform`,
straight back to the call worker), runs the panel's ops (search, open, feedback,
resolution; results on the GUI thread) and, with a :class:`KnowledgeSync`, sends
queued resolutions and syncs the cache every ``every`` seconds and right after a
new resolution; an unreachable server only means "later".
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from agent_assist.app.ops import Op, OpWorker, RunOnMain, run_here
from agent_assist.errors import AgentAssistError, RetryLaterError
from agent_assist.events import ArticleRef
from agent_assist.session import Answer, Request
from agent_assist.suggest import MIN_SCORE, SearchResults

if TYPE_CHECKING:
    from agent_assist.marquee.protocol import Submit, Submitted
    from kb_cache.search import KnowledgeBase
    from ui.knowledge import KnowledgePanel, Resolution

__all__ = [
    "KnowledgeSync",
    "KnowledgeWorker",
    "article",
    "article_count",
    "connect_panel",
    "exchange_knowledge",
    "resolution",
    "search",
]

log = logging.getLogger("agent_assist.app")


class SubmitClient(Protocol):
    """What the knowledge sync needs of the app's marquee client."""

    def wait_connected(self, timeout: float) -> bool: ...

    def submit(self, message: Submit, timeout: float = 15.0) -> Submitted: ...


@dataclass(frozen=True, kw_only=True)
class KnowledgeSync:
    """Settings for syncing with the server: where, as whom, over which client, how often."""

    url: str
    token: str
    client: SubmitClient  # resolutions go over the app's marquee connection
    ssl_context: ssl.SSLContext | None = None
    every: float = 300.0  # seconds between syncs


class KnowledgeWorker(OpWorker["KnowledgeBase"]):
    """The thread that owns the knowledge cache (see the module docstring).

    ``open_kb`` opens it on this thread (and may fill it with the demo the first time).

    With ``learn``, **Used it** or **Helpful** on an article the call suggested keeps
    the customer's words that brought it up as a phrasing of that article (scrubbed;
    sent for review like a resolution: :mod:`kb_cache.phrasings`).
    """

    def __init__(
        self,
        *,
        open_kb: Callable[[], KnowledgeBase],
        on_error: Callable[[str], None],
        on_status: Callable[[str], None] = lambda text: None,
        run_on_main: RunOnMain = run_here,
        sync: KnowledgeSync | None = None,
        learn: bool = False,
    ) -> None:
        super().__init__(
            name="knowledge-worker",
            open_resource=open_kb,
            what="the knowledge cache",
            on_error=on_error,
            run_on_main=run_on_main,
            tick=self._exchange if sync is not None else None,
            every=sync.every if sync is not None else 300.0,
            first_tick=5.0,  # let the window settle first
        )
        self.sync, self._on_status = sync, on_status
        self._learn = learn
        self._heard: dict[str, str] = {}  # article id -> the customer's words that last found it

    def perform(self, request: Request, reply: Callable[[Answer], None]) -> None:
        """Answer a call session's search; ``reply`` runs on this thread and always comes,
        empty when the search cannot run (the session asks again only once answered)."""

        def answer(kb: KnowledgeBase | None) -> None:
            results = SearchResults(request.id, request.t, ())
            try:
                if kb is not None:
                    results = kb.answer(request)
            except Exception:  # e.g. the cache locked by a CLI sync: this search finds nothing
                log.exception("a call's knowledge search failed")
            self._remember(request, results)
            reply(results)

        self.call(answer)

    def _remember(self, request: Request, results: Answer) -> None:
        """Which customer words brought each shown article up (for learning; this thread only)."""
        if not (self._learn and request.customer):
            return
        for ref in (a for a in results.articles if a.score >= MIN_SCORE):  # the shown ones
            self._heard.pop(ref.id, None)  # newest last: the oldest go first
            self._heard[ref.id] = request.customer
        while len(self._heard) > 100:
            self._heard.pop(next(iter(self._heard)))

    def feedback(self, article_id: str, action: str) -> Op[KnowledgeBase, None]:
        """Record what the agent did with an article; Used it / Helpful on a suggested
        article also learns how the customer put it (once per suggestion)."""
        from kb_cache.feedback import record
        from kb_cache.phrasings import learn

        def run(kb: KnowledgeBase) -> None:
            record(kb.db, article_id, action)
            words = self._heard.get(article_id) if action in ("used", "helpful") else None
            if words and learn(kb.db, article_id, words, embedder=kb.embedder):
                self._heard.pop(article_id, None)
                if self.sync is not None:
                    self.tick_soon()  # send it for review now

        return Op(run)

    def _exchange(self, kb: KnowledgeBase) -> None:
        assert self.sync is not None
        if not self.sync.client.wait_connected(0):
            return  # offline: the outbox waits, the cache stays as it is; try on the next tick
        try:
            sent, version = exchange_knowledge(kb, self.sync)
        except AgentAssistError as exc:
            self._status(f"Knowledge not synced: {exc}")
            return
        if version >= 0:
            self._status(f"Knowledge updated to version {version}")
        elif sent:
            self._status(f"{sent} resolution(s) sent for review")

    def _status(self, text: str) -> None:
        self._main(lambda: self._on_status(text))


def exchange_knowledge(kb: KnowledgeBase, sync: KnowledgeSync) -> tuple[int, int]:
    """Send queued resolutions, then sync the cache; returns (sent, new version or -1)."""
    from agent_assist.marquee.http import fetch_json
    from kb_cache.exchange import push
    from kb_cache.exchange import sync as sync_cache

    def deliver(message: Submit) -> None:
        if not sync.client.wait_connected(0):
            raise RetryLaterError("not connected to the marquee server")
        try:
            sync.client.submit(message)
        except AgentAssistError as exc:
            raise RetryLaterError(str(exc)) from None

    def changes(since: int) -> object:
        path = f"/kb/changes?since={since}"
        return fetch_json(
            sync.url, path, token=sync.token, ssl_context=sync.ssl_context, timeout=10.0
        )

    sent, _ = push(kb.db, deliver)
    outcome = sync_cache(kb.db, changes, embedder=kb.embedder)
    return sent, outcome.version if outcome.changed else -1


# -- the panel's ops -------------------------------------------------------------------


def search(text: str, *, limit: int = 6) -> Op[KnowledgeBase, list[ArticleRef]]:
    """The agent's own search: the best ``limit`` articles for ``text``."""
    return Op(lambda kb: [hit.to_ref() for hit in kb.search(text, limit=limit)])


def article(article_id: str) -> Op[KnowledgeBase, dict[str, object] | None]:
    """The full article, or None when it is no longer in the cache."""
    return Op(lambda kb: kb.article(article_id))


def resolution(value: Resolution) -> Op[KnowledgeBase, int]:
    """Queue the agent's resolution in the outbox (scrubbed); returns its outbox id."""
    from kb_cache.outbox import submit_resolution

    return Op(
        lambda kb: submit_resolution(
            kb.db, title=value["title"], steps=value["steps"], triggers=value["triggers"]
        )
    )


def article_count() -> Op[KnowledgeBase, int]:
    """How many articles the cache holds (0: the panel says the knowledge base is empty)."""

    def run(kb: KnowledgeBase) -> int:
        return int(kb.db["articles"].count)

    return Op(run)


def connect_panel(panel: KnowledgePanel, knowledge: KnowledgeWorker) -> None:
    """The knowledge panel's requests become ops; their results come back to the panel."""

    def searched(text: str) -> None:
        if text:
            knowledge.submit(search(text).success(lambda refs: panel.show_results(text, refs)))

    def opened(article_id: str) -> None:
        knowledge.submit(article(article_id).success(lambda found: _show(panel, found)))

    def acted(article_id: str, action: str) -> None:
        knowledge.submit(knowledge.feedback(article_id, action))

    def resolved(value: Resolution) -> None:
        knowledge.submit(resolution(value).success(lambda number: knowledge.tick_soon()))

    panel.search_requested.connect(searched)
    panel.open_requested.connect(opened)
    panel.feedback.connect(acted)
    panel.resolution_submitted.connect(resolved)


def _show(panel: KnowledgePanel, found: dict[str, object] | None) -> None:
    if found is None:
        return
    department, authority = found.get("department"), found.get("authority")
    panel.show_article(
        str(found["title"]),
        str(found["body"]),
        department if isinstance(department, str) else None,
        authority if isinstance(authority, str) else None,
    )
