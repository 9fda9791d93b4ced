"""Fan-out on one marquee node: who gets which change, catch-up, and resynchronisation.

:class:`Fanout` keeps the node's connected clients and its place in the shared
state (``epoch``, ``seq``). It delivers what the backend reports to the clients
it is for (scope, audience: :mod:`agent_assist.marquee.scope`), once each and
in order (a per-client ``seq`` floor), holds changes for a client that is still
catching up, catches the node up after a gap, and after a reset (a new epoch)
welcomes every client again and resends what is for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast

from agent_assist.errors import AgentAssistError, BackendUnavailableError
from agent_assist.marquee.backend import Backend, Snapshot
from agent_assist.marquee.protocol import (
    PROTOCOL_VERSION,
    Announcement,
    FlagNotice,
    Receipts,
    Retracted,
    Reviewed,
    Synced,
    Welcome,
    encode,
)
from agent_assist.marquee.scope import Routed, Scope, delivers_to, reaches
from agent_assist.marquee.tokens import Identity

__all__ = ["Client", "Fanout"]

log = logging.getLogger("agent_assist.marquee")
_WRITE_BUFFER_LIMIT = 256 * 1024  # bytes queued for one client before we skip it


@dataclass(eq=False, slots=True)  # identity semantics: clients live in a set
class Client:
    """One connected client on this node: its connection, who it is, how far it has been sent
    (``floor``), and the live changes held for it while it catches up."""

    connection: ServerConnection
    identity: Identity
    strikes: int = 0
    floor: int = 0  # the newest change seq this client has been sent
    catching_up: bool = True
    held: list[Routed] = field(default_factory=list)  # live changes during catch-up
    # what the fan-out reads for every client of every broadcast, looked up once
    kind: tuple[str, str, str] = field(init=False)  # role, site, team: what decides delivery
    transport: Any = field(init=False)

    def __post_init__(self) -> None:
        self.kind = (self.identity.role, self.identity.site, self.identity.team)
        self.transport = self.connection.transport


class Fanout:
    """The clients of one node and what reaches them. ``metrics`` is the node's counter;
    ``spawn`` runs a background coroutine that the node cancels when it closes."""

    def __init__(
        self,
        backend: Backend,
        *,
        metrics: Counter[str],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.backend = backend
        self.metrics = metrics
        self._spawn = spawn
        self.clients: set[Client] = set()
        self.epoch = ""  # the shared state's epoch this node is in
        self.seq = 0  # the newest change this node has fanned out
        self._retired: set[str] = set()  # epochs this node has left behind
        self._recovering = False
        self._held: list[Routed] = []
        self.closing = False  # set when the node closes: no new recovery is started

    def welcome(self, client: Client, *, seq: int) -> str:
        """The ``welcome`` frame for ``client``: who it is, the newest ``seq``, this epoch."""
        ident = client.identity
        return encode(
            Welcome(
                v=PROTOCOL_VERSION,
                role=ident.role,
                name=ident.name,
                site=ident.site,
                team=ident.team,
                seq=seq,
                epoch=self.epoch,
            )
        )

    async def catch_up(self, client: Client, last_seq: int) -> None:
        """Welcome ``client`` and send it every change after ``last_seq`` that is for it, then
        ``synced`` and what arrived meanwhile; BackendUnavailableError if the state keeps
        being reset."""
        for _ in range(100):
            snapshot = await self.backend.snapshot(last_seq)
            if snapshot.epoch == self.epoch:
                break
            # the shared state was reset and this node has not caught up with that yet
            self.on_resync()
            last_seq = 0
            await asyncio.sleep(0.1)
        else:
            raise BackendUnavailableError("the shared state keeps changing")
        broadcast([client.connection], self.welcome(client, seq=snapshot.seq))
        # a client ahead of the server (its state was reset) must not skip the new changes;
        # the client sees Welcome.seq below its own and starts again from 0
        self.send_all(client, snapshot, floor=min(last_seq, snapshot.seq))
        # what arrived while the snapshot was read, without yielding in between
        client.catching_up = False
        held, client.held = client.held, []
        for routed in held:
            self.deliver(routed, only=client)

    def send_all(self, client: Client, snapshot: Snapshot, *, floor: int) -> None:
        """Send ``client`` every change of ``snapshot`` above ``floor`` that is for it, then synced."""
        client.floor = floor
        for routed in snapshot.changes:
            seq = routed.seq or 0
            if seq > client.floor and self.wants(client, routed):
                broadcast([client.connection], encode(routed.message))  # synchronous write
                client.floor = seq
        client.floor = max(client.floor, snapshot.seq)
        broadcast([client.connection], encode(Synced(seq=client.floor)))

    def wants(self, client: Client, routed: Routed) -> bool:
        """Is ``routed`` for ``client``? Agents: what is addressed to them; supervisors and
        admins: what reaches into their scope (and flag notices and reviews inside it)."""
        ident, message = client.identity, routed.message
        if isinstance(message, Announcement | Retracted):
            if routed.audience is None:
                return False
            if ident.can_broadcast:
                return reaches(routed.audience, routed.scope, ident.scope)
            return delivers_to(
                routed.audience, routed.scope, site=ident.site, team=ident.team, name=ident.name
            )
        if isinstance(message, FlagNotice | Reviewed):
            return ident.can_broadcast and ident.scope.covers(routed.scope)
        return False

    def on_change(self, routed: Routed) -> None:
        """What the backend reports: fan it out in seq order, or resync after a gap or a new
        epoch (the change is held and sent after the recovery)."""
        if self._recovering:
            self._held.append(routed)
            return
        if routed.epoch and routed.epoch != self.epoch:
            if routed.epoch in self._retired:
                return  # from before a reset this node has already handled
            self.metrics["epoch_changes_seen"] += 1
            self._held.append(routed)
            self.on_resync()
            return
        seq = routed.seq
        if seq is not None:
            if seq <= self.seq:
                return  # already fanned out (e.g. during a recovery)
            if seq > self.seq + 1:
                self.metrics["gaps"] += 1
                self._held.append(routed)
                self.on_resync()
                return
            self.seq = seq
        if isinstance(routed.message, Receipts):
            self._spawn(self._send_receipts(routed))
            return
        self.deliver(routed)

    def on_resync(self) -> None:
        """Start a recovery from the backend (unless one runs or the node is closing)."""
        if not self._recovering and not self.closing:
            self._recovering = True
            self._spawn(self._recover())

    async def _recover(self) -> None:
        """Catch this node up after a gap, or start again after a reset (a new epoch)."""
        try:
            while True:
                try:
                    snapshot = await self.backend.snapshot(self.seq)
                    if snapshot.epoch != self.epoch:
                        snapshot = await self.backend.snapshot(0)
                    break
                except AgentAssistError as exc:
                    log.warning("cannot catch up yet: %s", exc)
                    await asyncio.sleep(1.0)
            if snapshot.epoch != self.epoch:
                self._reset(snapshot)
            else:
                for routed in snapshot.changes:
                    self.deliver(routed)
                self.seq = max(self.seq, snapshot.seq)
            self.backend.caught_up(self.seq)
            self.metrics["recoveries"] += 1
        except asyncio.CancelledError:
            self._held = []  # the node is closing: nothing more to fan out
            raise
        finally:
            self._recovering = False
            held, self._held = self._held, []
            for routed in held:
                self.on_change(routed)

    def _reset(self, snapshot: Snapshot) -> None:
        """The shared state is new (e.g. Redis restarted without its data): seqs start
        again. Every client is welcomed again with the new epoch and sent what is for it."""
        log.warning(
            "the shared state was reset (epoch %s -> %s, seq %d -> %d); resending to %d clients",
            self.epoch or "-",
            snapshot.epoch,
            self.seq,
            snapshot.seq,
            len(self.clients),
        )
        self._retired.add(self.epoch)
        self.epoch, self.seq = snapshot.epoch, snapshot.seq
        self.metrics["resets"] += 1
        for client in list(self.clients):
            if client.catching_up:
                client.held = []  # its own catch-up compares epochs and starts again
                continue
            broadcast([client.connection], self.welcome(client, seq=snapshot.seq))
            self.send_all(client, snapshot, floor=0)

    def deliver(self, routed: Routed, *, only: Client | None = None) -> None:
        """Send ``routed`` to every client it is for, once (per-client seq floor), skipping
        clients whose write buffer is full.

        The hot path of a broadcast to many clients: ``broadcast`` pulls the clients from
        a generator, so the first frames leave while later clients are still being
        decided (no pass over every client before the first send), and the decision is
        worked out once per kind of identity, not once per client."""
        counts = [0, 0]  # sent, skipped
        broadcast(self._targets(routed, only, counts), encode(routed.message))
        self.metrics["frames_sent"] += counts[0]
        if counts[1]:
            self.metrics["skipped_slow_clients"] += counts[1]
        if isinstance(routed.message, Announcement):
            self.metrics["broadcasts"] += 1

    def _targets(
        self, routed: Routed, only: Client | None, counts: list[int]
    ) -> Iterator[ServerConnection]:
        seq = routed.seq or 0
        decided: dict[Any, bool] = {}
        by_name = routed.audience is not None and bool(routed.audience.agents)
        limit, sent, skipped = _WRITE_BUFFER_LIMIT, 0, 0
        # broadcast() pulls synchronously: no client connects or leaves meanwhile
        for client in [only] if only is not None else self.clients:
            key = (client.kind, client.identity.name) if by_name else client.kind
            wanted = decided.get(key)
            if wanted is None:
                wanted = decided[key] = self.wants(client, routed)
            if not wanted:
                continue
            if client.catching_up:
                client.held.append(routed)
                continue
            if seq:
                if seq <= client.floor:
                    continue
                client.floor = seq
            transport = client.transport
            if transport is not None and transport.get_write_buffer_size() > limit:
                skipped += 1
                continue
            sent += 1
            yield client.connection
        counts[0], counts[1] = sent, skipped

    def send_to(self, clients: list[Client], frame: str) -> None:
        """Write ``frame`` to ``clients``, skipping (and counting) those whose write buffer is
        full."""
        ready = []
        for client in clients:
            transport = client.connection.transport
            if transport is not None and transport.get_write_buffer_size() > _WRITE_BUFFER_LIMIT:
                self.metrics["skipped_slow_clients"] += 1
                continue
            ready.append(client.connection)
        broadcast(ready, frame)
        self.metrics["frames_sent"] += len(ready)

    async def _send_receipts(self, routed: Routed) -> None:
        """A receipts update (someone acknowledged): each supervisor who may see the
        announcement gets the receipt list as far as its own scope goes."""
        assert isinstance(routed.message, Receipts)
        assert routed.audience is not None
        viewers: dict[Scope, list[Client]] = {}
        for client in self.clients:
            scope = client.identity.scope
            if client.identity.can_broadcast and reaches(routed.audience, routed.scope, scope):
                viewers.setdefault(scope, []).append(client)
        for scope, clients in viewers.items():
            with contextlib.suppress(AgentAssistError):
                receipts = await self.backend.receipts(routed.message.id, scope)
                if receipts is not None:
                    self.send_to(clients, encode(receipts))
