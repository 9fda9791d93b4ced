"""Where a marquee server node keeps its state and hears about changes.

A :class:`Backend` stores announcements, acks, tokens and knowledge, and
reports every change to the node through ``on_change`` — including changes
made through *other* nodes when the state is shared (Redis). The server never
fans out directly after a write: it fans out what the backend reports, so one
node and many nodes behave the same.

Contract of ``on_change``: called on the node's event loop, in ``seq`` order
for announcements and retractions (each change has the next ``seq`` of one
global sequence). ``on_resync`` is called after the backend may have missed
changes (e.g. its Redis subscription dropped); the node then catches up with
:meth:`Backend.snapshot`.

:class:`LocalBackend` is the embedded single-node default: SQLite through
:class:`~agent_assist.marquee.store.MarqueeStore`.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, Protocol, TypeVar

from agent_assist.errors import BackendUnavailableError
from agent_assist.marquee.protocol import (
    Announce,
    Announcement,
    CallStats,
    Edit,
    Message,
    ReceiptList,
    Retracted,
    Review,
    Reviewed,
    Seen,
    Submit,
)
from agent_assist.marquee.stats import AckDelay, StatsQuery, record
from agent_assist.marquee.store import Identity, MarqueeStore

__all__ = ["Backend", "Change", "LocalBackend"]

Change = Announcement | Retracted
T = TypeVar("T")
P = ParamSpec("P")


class Backend(Protocol):
    """Where a marquee server keeps its state: SQLite for one node, Redis for several.

    Every method may raise BackendUnavailableError when the state cannot be reached.
    """

    async def start(
        self, *, on_change: Callable[[Message], None], on_resync: Callable[[], None]
    ) -> int:
        """Begin reporting changes; returns the current ``seq``."""

    async def close(self) -> None:
        """Stop reporting changes and release the connections."""

    async def identify(self, token: str) -> Identity | None:
        """The identity a bearer token stands for, or None when unknown or revoked."""

    async def snapshot(self, since: int) -> tuple[int, list[Change]]:
        """(current seq, every change after ``since`` in seq order: active announcements —
        expired ones left out — and retractions)."""

    async def announce(self, message: Announce, *, author: str) -> Announcement:
        """Store a new announcement by ``author``; returns it with its id and seq."""

    async def edit(self, message: Edit) -> Announcement | None:
        """Apply an edit; the announcement with a new seq, or None when it is not active."""

    async def retract(self, announcement_id: str) -> Retracted | None:
        """Retract an announcement; the retraction with its seq, or None when not active."""

    async def ack(self, announcement_id: str, name: str) -> bool:
        """Record ``name``'s read receipt (the first counts); False when not active."""

    async def receipts(self, announcement_id: str) -> ReceiptList | None:
        """Who has seen it and who in its audience has not; None when not active."""

    async def publish(self, message: Message) -> None:
        """Report a live-only message (receipt lists, flag notices, reviews) to every node."""

    def caught_up(self, seq: int) -> None:
        """The node has fanned out every change up to ``seq`` (after a recovery)."""

    async def kb_changes(self, since: int) -> dict[str, Any]:
        """The knowledge sync payload for a cache at version ``since``."""

    async def kb_submit(self, message: Submit, *, author: str, site: str) -> str:
        """Queue a submitted resolution for review; returns its review-queue id."""

    async def kb_queue(self) -> list[dict[str, Any]]:
        """The submissions waiting for review, oldest first."""

    async def kb_review(self, message: Review, *, reviewer: str) -> Reviewed | None:
        """Approve (publishing an article) or reject a submission; None if not pending."""

    # team stats (issue 15)
    async def stats_add(self, message: CallStats, *, agent: Identity) -> bool:
        """Store one call's numbers; False if that agent's call was stored already."""

    async def stats_read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        """The call records of the query's days and the urgent acknowledgements made then."""


def receipt_list(
    announcement_id: str, data: tuple[list[tuple[str, float]], list[str]] | None
) -> ReceiptList | None:
    """A ReceiptList from (seen (name, at) pairs, pending names); None passes through."""
    if data is None:
        return None
    seen, pending = data
    return ReceiptList(
        id=announcement_id, seen=tuple(Seen(n, at) for n, at in seen), pending=tuple(pending)
    )


def _sqlite_errors(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(method)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"the marquee database failed: {exc}") from None

    return translated


class LocalBackend:
    """One node, state in SQLite: changes are reported straight after they commit.

    SQLite errors (a full disk, a locked or damaged file) become BackendUnavailableError,
    so the server answers "unavailable" instead of failing the connection.
    """

    def __init__(self, store: MarqueeStore) -> None:
        self.store = store
        self._on_change: Callable[[Message], None] = lambda message: None

    async def start(
        self, *, on_change: Callable[[Message], None], on_resync: Callable[[], None]
    ) -> int:
        """Begin reporting changes (one node makes them all); returns the current seq."""
        self._on_change = on_change
        return self.store.seq

    async def close(self) -> None:
        """Nothing to release: the store belongs to whoever opened it."""
        pass

    def caught_up(self, seq: int) -> None:
        """Nothing to do: a single node never misses a change."""
        pass

    @_sqlite_errors
    async def identify(self, token: str) -> Identity | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.identify`."""
        return self.store.identify(token)

    @_sqlite_errors
    async def snapshot(self, since: int) -> tuple[int, list[Change]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.snapshot`."""
        active, gone = self.store.changes_since(since)
        changes: list[Change] = [*active, *(Retracted(id=i, seq=s) for i, s in gone)]
        return self.store.seq, sorted(changes, key=lambda c: c.seq)

    @_sqlite_errors
    async def announce(self, message: Announce, *, author: str) -> Announcement:
        """See :meth:`~agent_assist.marquee.backend.Backend.announce`."""
        announcement = self.store.announce(message, author=author)
        self._on_change(announcement)
        return announcement

    @_sqlite_errors
    async def edit(self, message: Edit) -> Announcement | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.edit`."""
        edited = self.store.edit(message)
        if edited is not None:
            self._on_change(edited)
        return edited

    @_sqlite_errors
    async def retract(self, announcement_id: str) -> Retracted | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.retract`."""
        seq = self.store.retract(announcement_id)
        if seq is None:
            return None
        retracted = Retracted(id=announcement_id, seq=seq)
        self._on_change(retracted)
        return retracted

    @_sqlite_errors
    async def ack(self, announcement_id: str, name: str) -> bool:
        """See :meth:`~agent_assist.marquee.backend.Backend.ack`."""
        return self.store.ack(announcement_id, name)

    @_sqlite_errors
    async def receipts(self, announcement_id: str) -> ReceiptList | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.receipts`."""
        return receipt_list(announcement_id, self.store.receipts(announcement_id))

    @_sqlite_errors
    async def publish(self, message: Message) -> None:
        """Report a live-only message to this node (the only one)."""
        self._on_change(message)

    @_sqlite_errors
    async def kb_changes(self, since: int) -> dict[str, Any]:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_changes`."""
        return self.store.knowledge.changes(since)

    @_sqlite_errors
    async def kb_submit(self, message: Submit, *, author: str, site: str) -> str:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_submit`."""
        return self.store.knowledge.submit(message, author=author, site=site)

    @_sqlite_errors
    async def kb_queue(self) -> list[dict[str, Any]]:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_queue`."""
        return self.store.knowledge.queue()

    @_sqlite_errors
    async def kb_review(self, message: Review, *, reviewer: str) -> Reviewed | None:
        """See :meth:`~agent_assist.marquee.backend.Backend.kb_review`."""
        return self.store.knowledge.review(message, reviewer=reviewer)

    # -- team stats (issue 15) ---------------------------------------------------------------

    @_sqlite_errors
    async def stats_add(self, message: CallStats, *, agent: Identity) -> bool:
        return self.store.stats.add(record(message, agent=agent, received_at=time.time()))

    @_sqlite_errors
    async def stats_read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        stats = self.store.stats
        return stats.calls(query.first, query.last), stats.ack_delays(*query.bounds())
