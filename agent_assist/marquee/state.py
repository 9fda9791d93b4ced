"""What one marquee client knows about announcements, sans-I/O: messages and time in.

One :class:`ClientState` serves the asyncio client, the command line and the
Qt views alike (as websockets' ``ClientProtocol`` serves both its sync and
asyncio layers); none of them keeps its own copy of these rules. Times are
seconds since the Unix epoch, always passed in.

* **De-duplication**: a change (``announcement`` or ``retracted``) at or below
  the newest ``seq`` already seen for its id is stale and ignored, so a resume
  or a late copy never shows anything twice or brings back an old text.
  ``last_seq`` is the newest change seen at all: the resume point for
  ``hello``, with the ``epoch`` it belongs to. A ``welcome`` of another epoch,
  or whose ``seq`` is behind it, means the server's state was reset: everything
  is taken again, except that a change the server resends exactly as it was
  already delivered (the same id and version: text, priority, times, edit; or
  the same retraction) is not delivered a second time.
* **The window**: :meth:`Announcement.phase` says whether an announcement is
  pending (before ``starts_at``), active, or retired (from ``expires_at`` on).
  :meth:`ClientState.receive` holds back one that has not started and
  :meth:`ClientState.due` releases it when it starts, once; an edit
  reschedules it and a retraction cancels it. :meth:`ClientState.active`
  lists what is on screen at a time, most important first.
* **Read receipts**: an urgent announcement is read when the agent
  acknowledges it (:meth:`ClientState.acknowledge`); info and warning count as
  seen once shown (:meth:`ClientState.shown`). Each receipt is due once per id,
  whatever edits follow.
"""

from __future__ import annotations

from agent_assist.marquee.protocol import Announcement, Message, Retracted, Welcome

__all__ = ["ClientState", "importance"]

_RANK = {"urgent": 0, "warning": 1, "info": 2}
_REMEMBER = 10_000  # versions remembered to recognise a resend after a reset


def importance(announcement: Announcement) -> tuple[int, float]:
    """Sort key: urgent before warning before info, then newest first."""
    return (_RANK.get(announcement.priority, len(_RANK)), -announcement.created_at)


class ClientState:
    """The announcements one client has been told about, and their read receipts.

    Args:
        last_seq: the resume point from an earlier run (0: take every active one).
        epoch: the server state ``last_seq`` belongs to ("" when not known).
    """

    def __init__(self, *, last_seq: int = 0, epoch: str = "") -> None:
        self.last_seq = last_seq
        self.epoch = epoch
        self._versions: dict[str, tuple[object, ...]] = {}  # id -> version delivered, newest last
        self._latest: dict[str, int] = {}  # id -> newest change seq seen (retractions too)
        self._known: dict[str, Announcement] = {}  # not retracted, not yet forgotten by expire()
        self._held: dict[str, Announcement] = {}  # not started when received, not yet due()
        self._receipted: set[str] = set()

    # -- changes from the server -------------------------------------------------------

    def receive(self, message: Message, now: float) -> list[Message]:
        """Apply one server message at ``now``; returns what to deliver now.

        Stale changes give nothing, an announcement that has not started is held
        (see :meth:`due`), everything else is delivered as it came.
        """
        if isinstance(message, Welcome):
            other = bool(message.epoch and self.epoch and message.epoch != self.epoch)
            if other or message.seq < self.last_seq:
                self.last_seq = 0  # the server's state was reset: take everything it has again
                self._latest.clear()
            self.epoch = message.epoch or self.epoch
        if not isinstance(message, Announcement | Retracted):
            return [message]
        if message.seq <= self._latest.get(message.id, 0):
            return []
        self._latest[message.id] = message.seq
        self.last_seq = max(self.last_seq, message.seq)
        if self._repeated(message):
            return []  # resent after a reset: the same announcement, not a new one
        self._held.pop(message.id, None)
        if isinstance(message, Retracted):
            self._known.pop(message.id, None)
            return [message]
        self._known[message.id] = message
        if message.phase(now) == "pending":
            self._held[message.id] = message
            return []
        return [message]

    def _repeated(self, message: Announcement | Retracted) -> bool:
        """True if exactly this version (or this retraction) was received before; remembers
        the newest ``_REMEMBER`` versions."""
        version: tuple[object, ...] = (
            ("retracted",)
            if isinstance(message, Retracted)
            else (
                message.text,
                message.priority,
                message.starts_at,
                message.expires_at,
                message.edited_at,
            )
        )
        if self._versions.get(message.id) == version:
            return True
        self._versions.pop(message.id, None)  # re-inserted: newest last
        self._versions[message.id] = version
        while len(self._versions) > _REMEMBER:
            del self._versions[next(iter(self._versions))]
        return False

    def due(self, now: float) -> list[Announcement]:
        """Held announcements that have started by ``now``, soonest first; each is returned once."""
        ready = sorted(
            (a for a in self._held.values() if a.phase(now) != "pending"),
            key=lambda a: (a.starts_at or 0.0, a.seq),
        )
        for announcement in ready:
            del self._held[announcement.id]
        return ready

    def next_start(self) -> float | None:
        """When the next held announcement starts (Unix epoch, s), or None when none is held."""
        return min((a.starts_at or 0.0 for a in self._held.values()), default=None)

    # -- what is known at a time --------------------------------------------------------

    def get(self, announcement_id: str) -> Announcement | None:
        """The newest version of an announcement that is neither retracted nor forgotten."""
        return self._known.get(announcement_id)

    def known(self) -> list[Announcement]:
        """Every announcement not retracted or forgotten, in the order they first arrived."""
        return list(self._known.values())

    def active(self, now: float) -> list[Announcement]:
        """Announcements on screen at ``now``, most important first."""
        return sorted((a for a in self._known.values() if a.is_active(now)), key=importance)

    def pending(self, now: float) -> list[Announcement]:
        """Announcements that have not started by ``now``, soonest first."""
        waiting = (a for a in self._known.values() if a.phase(now) == "pending")
        return sorted(waiting, key=lambda a: a.starts_at or 0.0)

    def expire(self, now: float) -> list[str]:
        """Forget announcements retired by ``now``; returns their ids (for views to drop)."""
        gone = [i for i, a in self._known.items() if a.phase(now) == "retired"]
        for announcement_id in gone:
            del self._known[announcement_id]
            self._held.pop(announcement_id, None)
        return gone

    # -- read receipts ----------------------------------------------------------------

    def shown(self, announcement: Announcement) -> bool:
        """Note that ``announcement`` is on screen; True when that is its read receipt.

        Info and warning count as seen once shown; urgent ones wait for
        :meth:`acknowledge`.
        """
        if announcement.needs_acknowledgement:
            return False
        return self._receipt(announcement.id)

    def acknowledge(self, announcement_id: str) -> bool:
        """The reader acknowledged it: True when its read receipt is due (the first time)."""
        return self._receipt(announcement_id)

    def receipted(self, announcement_id: str) -> bool:
        """True once the announcement's read receipt has been due."""
        return announcement_id in self._receipted

    def awaiting_acknowledgement(self, now: float) -> Announcement | None:
        """The most important active urgent announcement not yet acknowledged."""
        return next(
            (
                a
                for a in self.active(now)
                if a.needs_acknowledgement and a.id not in self._receipted
            ),
            None,
        )

    def _receipt(self, announcement_id: str) -> bool:
        if announcement_id in self._receipted:
            return False
        self._receipted.add(announcement_id)
        return True
