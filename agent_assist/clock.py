"""The call clock: seconds since the call started, on a monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["CallClock"]


class CallClock:
    """Converts monotonic time into call time (seconds since ``origin``).

    ``monotonic`` is injectable so tests can drive time by hand.
    """

    def __init__(
        self,
        *,
        origin: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self.origin = monotonic() if origin is None else origin

    def now(self) -> float:
        """Seconds since the call started."""
        return self._monotonic() - self.origin

    def at(self, monotonic_time: float) -> float:
        """Call time of an instant read from the same monotonic clock."""
        return monotonic_time - self.origin
