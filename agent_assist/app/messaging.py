"""Sending from Qt slots without waiting, and the agent's shared flag summaries.

A Qt slot (or a single-shot timer) must never wait for the network: every send
here is fire-and-forget through :meth:`MarqueeClient.send_soon`, and a failure
comes back through a callback (by default one line on stderr).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol

from agent_assist.events import Flag
from agent_assist.marquee.protocol import FlagSummary, Message

__all__ = ["Sender", "report", "share_flag"]


class Sender(Protocol):
    """What the app needs of a marquee client to send (:class:`MarqueeClient`)."""

    def wait_connected(self, timeout: float) -> bool: ...

    def send_soon(
        self,
        message: Message,
        *,
        on_failure: Callable[[str], None],
        on_sent: Callable[[], None] | None = None,
        wait: float = 0.0,
    ) -> None: ...


def report(message: str) -> None:
    """Tell the user about a problem nothing on screen shows: one line on stderr."""
    print(f"agent-assist: {message}", file=sys.stderr)


def share_flag(
    event: object,
    client: Sender,
    *,
    on_shared: Callable[[Flag], None],
    on_failure: Callable[[str], None] = report,
    silenced: Callable[[Flag], bool] = lambda flag: False,
) -> None:
    """Send a flag's summary (kind, severity, time: never the words); ``on_shared(flag)`` once
    sent (on the client's thread). Praise, anything while offline and what ``silenced`` says
    the agent snoozed (a flag raised before the session heard of the snooze) are not sent."""
    if not isinstance(event, Flag) or event.severity == "praise" or not client.wait_connected(0):
        return
    if silenced(event):
        return  # what the agent snoozed is neither shown nor shared
    summary = FlagSummary(kind=event.kind, severity=event.severity, at=time.time())
    client.send_soon(summary, on_sent=lambda: on_shared(event), on_failure=on_failure)
