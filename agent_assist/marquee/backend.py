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
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

from agent_assist.errors import BackendUnavailableError
from agent_assist.marquee.protocol import (
    Announce,
    Edit,
    ReceiptList,
    Review,
    Seen,
    Submit,
)
from agent_assist.marquee.scope import EVERYWHERE, Routed, Scope
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
    async def start(
        self, *, on_change: Callable[[Routed], None], on_resync: Callable[[], None]
    ) -> Snapshot:
        """Begin reporting changes; returns the current epoch and seq (no changes)."""

    async def close(self) -> None: ...
    async def identify(self, token: str) -> Identity | None: ...
    async def snapshot(self, since: int) -> Snapshot: ...

    async def announce(
        self, message: Announce, *, author: str, scope: Scope
    ) -> tuple[Routed, bool]:
        """Store (and report) a new announcement; a keyed repeat returns the stored one and False."""

    async def current(self, announcement_id: str) -> Routed | None:
        """The active announcement with its audience and scope, or None."""

    async def edit(self, message: Edit) -> Routed | None: ...
    async def retract(self, announcement_id: str) -> Routed | None: ...

    async def ack(self, announcement_id: str, who: Identity) -> bool:
        """Record a read receipt; False (nothing stored) unless the announcement is for ``who``."""

    async def receipts(self, announcement_id: str, viewer: Scope) -> ReceiptList | None: ...

    async def publish(self, routed: Routed) -> None:
        """Report a live-only message (flag notices, reviews, receipt updates) to every node."""

    def caught_up(self, seq: int) -> None:
        """The node has fanned out every change up to ``seq`` (after a recovery)."""

    async def revoked_since(self, since: float) -> list[tuple[str, float]]:
        """(token id, when) of tokens revoked after ``since``: their connections are closed."""

    async def warnings(self) -> list[str]:
        """What an operator must fix (e.g. shared state that is not persisted); [] if nothing."""

    async def kb_changes(self, since: int) -> dict[str, Any]: ...
    async def kb_submit(self, message: Submit, *, who: Identity) -> str: ...
    async def kb_queue(self, viewer: Scope) -> list[dict[str, Any]]: ...
    async def kb_review(
        self, message: Review, *, reviewer: str, viewer: Scope
    ) -> Routed | None: ...


def receipt_list(
    announcement_id: str, data: tuple[list[tuple[str, float]], list[str]] | None
) -> ReceiptList | None:
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
        self._on_change = on_change
        return Snapshot(self.store.epoch, self.store.seq, [])

    async def close(self) -> None:
        pass

    def caught_up(self, seq: int) -> None:
        pass

    async def warnings(self) -> list[str]:
        return []

    @_sqlite_errors
    async def identify(self, token: str) -> Identity | None:
        return self.store.identify(token)

    @_sqlite_errors
    async def revoked_since(self, since: float) -> list[tuple[str, float]]:
        return self.store.revoked_since(since)

    @_sqlite_errors
    async def snapshot(self, since: int) -> Snapshot:
        self.store.db.execute("BEGIN")  # one read transaction: seq and changes agree
        try:
            return Snapshot(self.store.epoch, self.store.seq, self.store.changes_since(since))
        finally:
            self.store.db.execute("COMMIT")

    @_sqlite_errors
    async def announce(
        self, message: Announce, *, author: str, scope: Scope = EVERYWHERE
    ) -> tuple[Routed, bool]:
        routed, new = self.store.announce(message, author=author, scope=scope)
        if new:
            self._on_change(routed)
        return routed, new

    @_sqlite_errors
    async def current(self, announcement_id: str) -> Routed | None:
        return self.store.get(announcement_id)

    @_sqlite_errors
    async def edit(self, message: Edit) -> Routed | None:
        edited = self.store.edit(message)
        if edited is not None:
            self._on_change(edited)
        return edited

    @_sqlite_errors
    async def retract(self, announcement_id: str) -> Routed | None:
        retracted = self.store.retract(announcement_id)
        if retracted is not None:
            self._on_change(retracted)
        return retracted

    @_sqlite_errors
    async def ack(self, announcement_id: str, who: Identity) -> bool:
        return self.store.ack(announcement_id, who)

    @_sqlite_errors
    async def receipts(self, announcement_id: str, viewer: Scope) -> ReceiptList | None:
        return receipt_list(announcement_id, self.store.receipts(announcement_id, viewer=viewer))

    @_sqlite_errors
    async def publish(self, routed: Routed) -> None:
        self._on_change(routed)

    @_sqlite_errors
    async def kb_changes(self, since: int) -> dict[str, Any]:
        return self.store.knowledge.changes(since)

    @_sqlite_errors
    async def kb_submit(self, message: Submit, *, who: Identity) -> str:
        return self.store.knowledge.submit(message, author=who.name, site=who.site, team=who.team)

    @_sqlite_errors
    async def kb_queue(self, viewer: Scope) -> list[dict[str, Any]]:
        return self.store.knowledge.queue(viewer=viewer)

    @_sqlite_errors
    async def kb_review(self, message: Review, *, reviewer: str, viewer: Scope) -> Routed | None:
        return self.store.knowledge.review(message, reviewer=reviewer, viewer=viewer)
