"""The CTI bridge protocol, sans-I/O: one JSON message in, events and one reply out.

A softphone or CTI adapter sends one JSON object per WebSocket text message::

    {"type": "call", "state": "started"}        started | ended | hold | resumed
    {"type": "mute", "muted": true}
    {"type": "hello", "client": "Softphone 4.2"}   optional, for the logs

Every message gets exactly one reply: ``{"ok": true, "t": 12.5}`` (the call time
the event was stamped with) or ``{"ok": false, "error": "..."}``. A bad message
never closes the connection. Unknown fields are ignored; ``call_id`` may be sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agent_assist.events import Call, Event, Mute

__all__ = ["MAX_MESSAGE_BYTES", "PROTOCOL_VERSION", "CtiReply", "handle_message"]

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 4096
_STATES = ("started", "ended", "hold", "resumed")


@dataclass(frozen=True, slots=True)
class CtiReply:
    """What one message produced: events for the session, and the reply to send back."""

    events: tuple[Event, ...]
    reply: str


def _error(message: str) -> CtiReply:
    return CtiReply((), json.dumps({"ok": False, "error": message}))


def handle_message(text: str | bytes, *, t: float) -> CtiReply:
    """Turn one message received at call time ``t`` (s) into events and a reply."""
    if isinstance(text, bytes):
        return _error("send JSON as text messages, not binary")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return _error(f"not valid JSON ({exc.msg})")
    if not isinstance(data, dict):
        return _error("a message must be a JSON object")
    kind = data.get("type")
    t = round(t, 3)
    if kind == "call":
        state = data.get("state")
        if state not in _STATES:
            return _error(f"call.state must be one of {', '.join(_STATES)}")
        event: Event = Call(t=t, state=state)
    elif kind == "mute":
        muted = data.get("muted")
        if not isinstance(muted, bool):
            return _error("mute.muted must be true or false")
        event = Mute(t=t, muted=muted, source="cti")
    elif kind == "hello":
        return CtiReply((), json.dumps({"ok": True, "t": t, "version": PROTOCOL_VERSION}))
    else:
        return _error("type must be 'call', 'mute' or 'hello'")
    return CtiReply((event,), json.dumps({"ok": True, "t": t}))
