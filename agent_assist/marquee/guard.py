"""What keeps one marquee server node up under load and abuse.

* :class:`Limits`: the server's bounds (messages per token, connections per
  token and in all), keyword-only configuration with the defaults we ship.
* :class:`Buckets`: token-bucket rate limits keyed by token id, shared by every
  connection of that token (eight connections do not get eight budgets).
* :func:`raise_open_file_limit`: take the open-file limit up to its hard
  maximum at start; the server then refuses connections beyond what it can
  hold with HTTP 503 instead of failing in ``accept()``.
* :class:`QuietLog`: a logging filter that lets each kind of message through a
  few times a minute and counts the rest, so a storm of one failure cannot fill
  the disk with tracebacks.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass

__all__ = ["Buckets", "Limits", "QuietLog", "raise_open_file_limit"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds of one node. Rates are per token (all its connections together).

    messages: what a token may send per ``per`` seconds (then "rate_limited";
        ``strikes`` of those close the connection with 1008).
    reads: supervisors' receipt requests per ``per`` seconds (a console opening
        with many active announcements asks for all their receipts at once).
    connections_per_token: open connections one token may hold (then HTTP 429).
    max_connections: connections in all (then HTTP 503); default: the open-file
        limit less ``reserve_fds`` for the database, Redis and logs.
    """

    messages: int = 20
    reads: int = 200
    per: float = 10.0
    strikes: int = 3
    connections_per_token: int = 10
    max_connections: int | None = None
    reserve_fds: int = 100


class Buckets:
    """Token buckets: ``capacity`` events per ``per`` seconds for each key, refilled evenly."""

    def __init__(self, *, capacity: int, per: float) -> None:
        self.capacity, self.rate = float(capacity), capacity / per
        self._state: dict[str, tuple[float, float]] = {}  # key -> (level, when)
        self._swept = 0.0

    def take(self, key: str, now: float) -> bool:
        """Spend one event for ``key`` at ``now`` (monotonic seconds); False if none is left."""
        level, when = self._state.get(key, (self.capacity, now))
        level = min(self.capacity, level + (now - when) * self.rate)
        allowed = level >= 1.0
        self._state[key] = (level - 1.0 if allowed else level, now)
        if now - self._swept > 60.0:
            self._sweep(now)
        return allowed

    def _sweep(self, now: float) -> None:
        """Forget keys whose bucket has filled up again (they are as good as new)."""
        self._swept = now
        full = self.capacity / self.rate
        for key in [k for k, (_, when) in self._state.items() if now - when >= full]:
            del self._state[key]

    def __len__(self) -> int:
        return len(self._state)


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        # a container may forbid it: keep what we have, the capacity follows
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class QuietLog(logging.Filter):
    """Let each kind of record (logger, level, message template) through ``burst`` times per
    ``per`` seconds; count the rest and say how many were dropped on the next one let through."""

    def __init__(self, *, burst: int = 5, per: float = 60.0) -> None:
        super().__init__()
        self._buckets = Buckets(capacity=burst, per=per)
        self.dropped: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Let ``record`` through unless its kind has used up its burst."""
        key = f"{record.name}\0{record.levelno}\0{record.msg}"[:300]
        if not self._buckets.take(key, time.monotonic()):
            self.dropped[key] += 1
            return False
        dropped = self.dropped.pop(key, 0)
        if dropped:
            record.msg = f"{record.msg} ({dropped} similar messages suppressed)"
        return True
