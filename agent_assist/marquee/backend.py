"""Where a marquee server node keeps its state and hears about changes.

A :class:`Backend` stores announcements, acks, tokens and knowledge, and
reports every change to the node through ``on_change`` — including changes
made through *other* nodes when the state is shared (Redis). The server never
fans out directly after a write: it fans out what the backend reports, so one
node and many nodes behave the same.

Contract of ``on_change``: called on the node's event loop with a
:class:`~agent_assist.marquee.scope.Routed` message, in ``seq`` order for
announcements and retractions (each change has the next ``seq`` of one global
sequence within one ``epoch``). ``on_resync`` is called after the backend may
have missed changes (e.g. its Redis subscription dropped) or its state was reset
(a new epoch); the node then catches up with :meth:`Backend.snapshot`.

:class:`LocalBackend` is the embedded single-node default: SQLite through
:class:`~agent_assist.marquee.store.MarqueeStore`.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

from agent_assist.errors import BackendUnavailableError
from agent_assist.marquee.protocol import (
    Announce,
    CallStats,
    Edit,
    ReceiptList,
    Review,
    Seen,
    Submit,
)
from agent_assist.marquee.scope import EVERYWHERE, Routed, Scope
from agent_assist.marquee.stats import AckDelay, StatsQuery, record
from agent_assist.marquee.store import MarqueeStore
from agent_assist.marquee.tokens import Identity

__all__ = ["Backend", "LocalBackend", "Snapshot"]

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The shared state's ``epoch`` and newest ``seq``, and the changes after a given seq
    (active announcements, expired ones left out, and retractions) in seq order."""

    epoch: str
    seq: int
    changes: list[Routed]


class Backend(Protocol):
    """Where a marquee server keeps its state: SQLite for one node, Redis for several.

    Every method may raise BackendUnavailableError when the state cannot be reached.
    """

    async def start(
        self, *, on_change: Callable[[Routed], None], on_resync: Callable[[], None]
    ) -> Snapshot:
        """Begin reporting changes; returns the current epoch and seq (no changes)."""

    async def close(self) -> None:
        """Stop reporting changes and release the connections."""

    async def identify(self, token: str) -> Identity | None:
        """The identity a bearer token stands for, or None when unknown or revoked."""

    async def snapshot(self, since: int) -> Snapshot:
        """The epoch, the newest seq and every change after ``since`` (see :class:`Snapshot`)."""

    async def announce(
        self, message: Announce, *, author: str, scope: Scope
    ) -> tuple[Routed, bool]:
        """Store (and report) a new announcement; a keyed repeat returns the stored one and False."""

    async def current(self, announcement_id: str) -> Routed | None:
        """The active announcement with its audience and scope, or None."""

    async def edit(self, message: Edit) -> Routed | None:
        """Apply (and report) an edit; the announcement with a new seq, or None when not active."""

    async def retract(self, announcement_id: str) -> Routed | None:
        """Retract (and report); the retraction with its seq, or None when not active."""

    async def ack(self, announcement_id: str, who: Identity) -> bool:
        """Record a read receipt; False (nothing stored) unless the announcement is for ``who``."""

    async def receipts(self, announcement_id: str, viewer: Scope) -> ReceiptList | None:
        """Who has seen it and who in its audience has not, inside ``viewer``; None when not
        active or not visible to ``viewer``."""

    async def agents(self) -> list[tuple[str, str, str]]:
        """(name, site, team) of every live agent token (the directory filters by scope)."""

    async def publish(self, routed: Routed) -> None:
        """Report a live-only message (flag notices, reviews, receipt updates) to every node."""

    def caught_up(self, seq: int) -> None:
        """The node has fanned out every change up to ``seq`` (after a recovery)."""

    async def revoked_since(self, since: float) -> list[tuple[str, float]]:
        """(token id, when) of tokens revoked after ``since``: their connections are closed."""

    async def warnings(self) -> list[str]:
        """What an operator must fix (e.g. shared state that is not persisted); [] if nothing."""

    async def kb_changes(self, since: int) -> dict[str, Any]:
        """The knowledge sync payload for a cache at version ``since``."""

    async def kb_submit(self, message: Submit, *, who: Identity) -> str:
        """Queue a submitted resolution (or phrasings) for review; returns its review-queue id."""

    async def kb_queue(self, viewer: Scope) -> list[dict[str, Any]]:
        """The submissions waiting for review from inside ``viewer``'s scope, oldest first."""

    async def kb_review(self, message: Review, *, reviewer: str, viewer: Scope) -> Routed | None:
        """Approve (publishing an article or phrasings) or reject a submission inside
        ``viewer``; None if it is not pending there."""

    async def stats_add(self, message: CallStats, *, agent: Identity) -> bool:
        """Store one call's numbers (team stats); False if that agent's call was stored already."""

    async def stats_read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        """The call records of the query's days and the urgent acknowledgements made then
        (unfiltered: :func:`agent_assist.marquee.stats.aggregate` applies the viewer's scope)."""


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
        self._on_change: Callable[[Routed], None] = lambda routed: None

    async def start(
        self, *, on_change: Callable[[Routed], None], on_resync: Callable[[], None]
    ) -> Snapshot:
        """Begin reporting changes (one node makes them all); returns the epoch and seq."""
        self._on_change = on_change
        return Snapshot(self.store.epoch, self.store.seq, [])

    async def close(self) -> None:
        """Nothing to release: the store belongs to whoever opened it."""
        pass

    def caught_up(self, seq: int) -> None:
        """Nothing to do: a single node never misses a change."""
        pass

    async def warnings(self) -> list[str]:
        """Nothing to warn about: SQLite commits to disk."""
        return []

    @_sqlite_errors
    async def identify(self, token: str) -> Identity | None:
        """See :meth:`Backend.identify`."""
        return self.store.identify(token)

    @_sqlite_errors
    async def agents(self) -> list[tuple[str, str, str]]:
        """See :meth:`Backend.agents`."""
        return [(a.name, a.site, a.team) for a in self.store.agents()]

    @_sqlite_errors
    async def revoked_since(self, since: float) -> list[tuple[str, float]]:
        """See :meth:`Backend.revoked_since`."""
        return self.store.revoked_since(since)

    @_sqlite_errors
    async def snapshot(self, since: int) -> Snapshot:
        """See :meth:`Backend.snapshot`."""
        self.store.db.execute("BEGIN")  # one read transaction: seq and changes agree
        try:
            return Snapshot(self.store.epoch, self.store.seq, self.store.changes_since(since))
        finally:
            self.store.db.execute("COMMIT")

    @_sqlite_errors
    async def announce(
        self, message: Announce, *, author: str, scope: Scope = EVERYWHERE
    ) -> tuple[Routed, bool]:
        """See :meth:`Backend.announce`."""
        routed, new = self.store.announce(message, author=author, scope=scope)
        if new:
            self._on_change(routed)
        return routed, new

    @_sqlite_errors
    async def current(self, announcement_id: str) -> Routed | None:
        """See :meth:`Backend.current`."""
        return self.store.get(announcement_id)

    @_sqlite_errors
    async def edit(self, message: Edit) -> Routed | None:
        """See :meth:`Backend.edit`."""
        edited = self.store.edit(message)
        if edited is not None:
            self._on_change(edited)
        return edited

    @_sqlite_errors
    async def retract(self, announcement_id: str) -> Routed | None:
        """See :meth:`Backend.retract`."""
        retracted = self.store.retract(announcement_id)
        if retracted is not None:
            self._on_change(retracted)
        return retracted

    @_sqlite_errors
    async def ack(self, announcement_id: str, who: Identity) -> bool:
        """See :meth:`Backend.ack`."""
        return self.store.ack(announcement_id, who)

    @_sqlite_errors
    async def receipts(self, announcement_id: str, viewer: Scope) -> ReceiptList | None:
        """See :meth:`Backend.receipts`."""
        return receipt_list(announcement_id, self.store.receipts(announcement_id, viewer=viewer))

    @_sqlite_errors
    async def publish(self, routed: Routed) -> None:
        """Report a live-only message to this node (the only one)."""
        self._on_change(routed)

    @_sqlite_errors
    async def kb_changes(self, since: int) -> dict[str, Any]:
        """See :meth:`Backend.kb_changes`."""
        return self.store.knowledge.changes(since)

    @_sqlite_errors
    async def kb_submit(self, message: Submit, *, who: Identity) -> str:
        """See :meth:`Backend.kb_submit`."""
        return self.store.knowledge.submit(message, author=who.name, site=who.site, team=who.team)

    @_sqlite_errors
    async def kb_queue(self, viewer: Scope) -> list[dict[str, Any]]:
        """See :meth:`Backend.kb_queue`."""
        return self.store.knowledge.queue(viewer=viewer)

    @_sqlite_errors
    async def kb_review(self, message: Review, *, reviewer: str, viewer: Scope) -> Routed | None:
        """See :meth:`Backend.kb_review`."""
        return self.store.knowledge.review(message, reviewer=reviewer, viewer=viewer)

    # -- team stats (issue 15) ---------------------------------------------------------------

    @_sqlite_errors
    async def stats_add(self, message: CallStats, *, agent: Identity) -> bool:
        """See :meth:`Backend.stats_add`."""
        return self.store.stats.add(record(message, agent=agent, received_at=time.time()))

    @_sqlite_errors
    async def stats_read(self, query: StatsQuery) -> tuple[list[dict[str, Any]], list[AckDelay]]:
        """See :meth:`Backend.stats_read`."""
        stats = self.store.stats
        return stats.calls(query.first, query.last), stats.ack_delays(*query.bounds())
