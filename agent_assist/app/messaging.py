"""Sending through the marquee client from Qt slots, and the agent's shared flag summaries."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from agent_assist.errors import AgentAssistError


def send_quietly(client: Any, message: Any, *, wait: float = 0.0) -> None:
    """Send through a marquee client from a Qt slot; failures are reported, never raised.

    Returns None on purpose: a Qt slot (or single-shot functor) that returns a
    value trips a reference-count bug in PySide6 that crashes at exit.
    """
    if wait and not client.wait_connected(wait):
        print("agent-assist: the marquee server is not reachable", file=sys.stderr)
        return
    quietly(lambda: client.send(message))


def quietly(action: Callable[[], object]) -> bool:
    try:
        action()
    except AgentAssistError as exc:
        print(f"agent-assist: {exc}", file=sys.stderr)
        return False
    return True


def share_flag(event: object, client: Any, window: Any) -> None:
    """Send a flag's summary (kind, severity, time: never the words) and show the agent it was sent."""
    from agent_assist.events import Flag
    from agent_assist.marquee.protocol import FlagSummary

    if not isinstance(event, Flag) or event.severity == "praise" or not client.wait_connected(0):
        return
    if window.coaching.snoozes.silences(event):
        return  # what the agent snoozed is neither shown nor shared
    summary = FlagSummary(kind=event.kind, severity=event.severity, at=time.time())
    if quietly(lambda: client.send(summary)):
        window.show_shared(event)
