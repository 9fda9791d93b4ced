"""The event vocabulary: small immutable records that flow between the pieces.

Every event has ``type`` (its wire name) and ``t``, seconds since the call
started on a monotonic clock. The wire form is one JSON object per line
(JSON Lines) with ``type`` and ``t`` first, then the fields in the order they
are declared here; optional fields that are ``None`` are left out.

Contract:

* ``decode(encode(e)) == e`` for every event ``e`` (exact round trip; floats are
  written with Python's shortest repr, so they come back bit for bit).
* :func:`decode` validates types and enumerations and raises
  :class:`~agent_assist.errors.EventFormatError` with a clear message. Fields it
  does not know are ignored, so newer producers can talk to older consumers.

Besides the types of ARCHITECTURE.md §2 there are two operational events:
``error`` (something failed, e.g. a headset was unplugged; the pipeline goes on)
and ``status`` (a channel's listening state changed, e.g. capture resumed).

Call scripts and the after-call summary (ARCHITECTURE.md §9) add ``script`` (a
script step was said, fell due or was missed), ``article`` (the agent opened or
used a knowledge article) and ``summary`` (the call in numbers and a wrap-up
note, at ``call ended``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias, Union

from agent_assist.errors import EventFormatError
from agent_assist.limits import MAX_LINE, LimitError, loads
from agent_assist.records import record_from_dict, record_to_dict

__all__ = [
    "Adherence",
    "Article",
    "ArticleRef",
    "ArticleUse",
    "Call",
    "Channel",
    "Commitment",
    "ErrorEvent",
    "Event",
    "Flag",
    "KindCount",
    "Level",
    "Marquee",
    "Mute",
    "Reason",
    "Script",
    "Status",
    "Suggestion",
    "Summary",
    "Talk",
    "Utterance",
    "Word",
    "decode",
    "decode_lines",
    "encode",
    "from_dict",
    "to_dict",
]

Channel: TypeAlias = Literal["agent", "customer"]
CallState: TypeAlias = Literal["started", "ended", "hold", "resumed"]
MuteSource: TypeAlias = Literal["cti", "os", "app"]
Severity: TypeAlias = Literal["info", "warning", "critical", "praise"]
Priority: TypeAlias = Literal["info", "warning", "urgent"]
ListenState: TypeAlias = Literal["listening", "reopening", "stopped"]
StepState: TypeAlias = Literal["done", "due", "missed"]
ArticleAction: TypeAlias = Literal["opened", "used", "helpful", "not_helpful"]


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; ``start``/``end`` in call seconds, ``conf`` in [0, 1]."""

    word: str
    start: float
    end: float
    conf: float


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """A knowledge article proposed to the agent; ``score`` in [0, 1], higher is better."""

    id: str
    title: str
    score: float
    snippet: str | None = None
    department: str | None = None
    authority: str | None = None
    script: str | None = None  # the call script this article names, if any


@dataclass(frozen=True, slots=True)
class _Event:
    TYPE: ClassVar[str] = ""
    t: float


@dataclass(frozen=True, slots=True)
class Call(_Event):
    """The call's state changed."""

    TYPE: ClassVar[str] = "call"
    state: CallState


@dataclass(frozen=True, slots=True)
class Mute(_Event):
    """The agent's microphone was muted or unmuted, as reported by ``source``."""

    TYPE: ClassVar[str] = "mute"
    muted: bool
    source: MuteSource


@dataclass(frozen=True, slots=True)
class Level(_Event):
    """Loudness of a channel over the last ~0.1 s (dBFS, <= 0) and whether it is speech."""

    TYPE: ClassVar[str] = "level"
    channel: Channel
    dbfs: float
    speech: bool


@dataclass(frozen=True, slots=True)
class Utterance(_Event):
    """Recognised speech. Partials (``final=False``) may repeat and grow; the final replaces them.

    ``start``/``end`` bound the speech in call seconds; ``words`` is optional.
    """

    TYPE: ClassVar[str] = "utterance"
    channel: Channel
    final: bool
    text: str
    start: float
    end: float
    words: tuple[Word, ...] | None = None


@dataclass(frozen=True, slots=True)
class Flag(_Event):
    """A coaching flag for the agent (kinds in ARCHITECTURE.md §3)."""

    TYPE: ClassVar[str] = "flag"
    kind: str
    severity: Severity
    channel: Channel
    evidence: str
    tip: str


@dataclass(frozen=True, slots=True)
class Suggestion(_Event):
    """Knowledge articles proposed for the conversation so far, best first."""

    TYPE: ClassVar[str] = "suggestion"
    articles: tuple[ArticleRef, ...]


@dataclass(frozen=True, slots=True)
class Marquee(_Event):
    """A supervisor's announcement reached this desktop."""

    TYPE: ClassVar[str] = "marquee"
    id: str
    text: str
    priority: Priority


@dataclass(frozen=True, slots=True)
class ErrorEvent(_Event):
    """Something failed but the pipeline goes on (e.g. ``code="device_lost"``)."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    channel: Channel | None = None


@dataclass(frozen=True, slots=True)
class Status(_Event):
    """A channel's listening state changed; ``detail`` says why, for people."""

    TYPE: ClassVar[str] = "status"
    channel: Channel
    state: ListenState
    detail: str = ""


# -- call scripts and the after-call summary (ARCHITECTURE.md §9) ---------------------


@dataclass(frozen=True, slots=True)
class Script(_Event):
    """A step of the call script: ``done`` (said; ``evidence`` is what was said), ``due`` (its
    moment came and it is still open; ``evidence`` says which moment) or ``missed`` (required
    and not said by the end of the call). ``script`` names the script, ``label`` the step."""

    TYPE: ClassVar[str] = "script"
    step: str
    state: StepState
    evidence: str
    script: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Article(_Event):
    """The agent opened, used or rated a knowledge article during the call."""

    TYPE: ClassVar[str] = "article"
    id: str
    action: ArticleAction
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Talk:
    """Seconds of speech per channel."""

    agent: float
    customer: float


@dataclass(frozen=True, slots=True)
class Reason:
    """Why the customer called: their opening request and the article it matched, if any."""

    text: str
    article: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleUse:
    """A knowledge article of the call: suggested to the agent, opened, used."""

    id: str
    title: str
    suggested: bool
    opened: bool
    used: bool


@dataclass(frozen=True, slots=True)
class Commitment:
    """Something the agent took ownership of (``t``: call seconds; ``text``: their words)."""

    t: float
    text: str


@dataclass(frozen=True, slots=True)
class Adherence:
    """The call script: required steps done of those required, and the required steps missed."""

    script: str
    done: int
    required: int
    missed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KindCount:
    """How often one flag kind was raised in a call (in a ``summary``)."""

    kind: str
    count: int


@dataclass(frozen=True, slots=True)
class Summary(_Event):
    """The call at ``call ended``: seconds (``duration``, ``talk``, ``hold``, ``mute``,
    ``dead_air``), the ``reason``, knowledge ``articles``, the agent's ``commitments``,
    script adherence, flags by kind, and a plain-text wrap-up ``note`` for the CRM."""

    TYPE: ClassVar[str] = "summary"
    duration: float
    talk: Talk
    hold: float
    mute: float
    dead_air: float
    articles: tuple[ArticleUse, ...]
    commitments: tuple[Commitment, ...]
    flags: tuple[KindCount, ...]
    note: str
    reason: Reason | None = None
    script: Adherence | None = None


Event: TypeAlias = Union[  # noqa: UP007 - a runtime alias, read by isinstance checks
    Call,
    Mute,
    Level,
    Utterance,
    Flag,
    Suggestion,
    Marquee,
    ErrorEvent,
    Status,
    Script,
    Article,
    Summary,
]

_EVENT_TYPES: dict[str, type[_Event]] = {
    cls.TYPE: cls
    for cls in (
        Call, Mute, Level, Utterance, Flag, Suggestion, Marquee, ErrorEvent, Status, Script,
        Article, Summary,
    )
}  # fmt: skip


# -- dict form ----------------------------------------------------------------


def to_dict(event: Event) -> dict[str, object]:
    """Return the JSON-ready dict of ``event``: ``type`` and ``t`` first."""
    return {"type": event.TYPE, **record_to_dict(event)}


def from_dict(data: Mapping[str, object]) -> Event:
    """Build an event from its dict form, validating every field."""
    kind = data.get("type")
    if not isinstance(kind, str):
        raise EventFormatError("event has no 'type'")
    cls = _EVENT_TYPES.get(kind)
    if cls is None:
        known = ", ".join(sorted(_EVENT_TYPES))
        raise EventFormatError(f"unknown event type {kind!r} (known: {known})")
    event: Event = record_from_dict(cls, data, where=kind, strict=False, error=EventFormatError)
    return event


# -- JSON Lines ---------------------------------------------------------------


def encode(event: Event) -> str:
    """Return the one-line JSON form of ``event`` (no trailing newline)."""
    return json.dumps(to_dict(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode(line: str | bytes) -> Event:
    """Parse one JSON line into an event; raises EventFormatError on bad input (also for a
    line over ``MAX_LINE`` bytes or nested deeper than ``MAX_DEPTH``: see agent_assist.limits)."""
    try:
        data = loads(line, max_bytes=MAX_LINE)
    except json.JSONDecodeError as exc:
        raise EventFormatError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except UnicodeDecodeError:
        raise EventFormatError("not valid UTF-8") from None
    except LimitError as exc:
        raise EventFormatError(f"the line is {exc}") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits, NaN
        raise EventFormatError(f"not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise EventFormatError("an event must be a JSON object")
    return from_dict(data)


def decode_lines(lines: Iterable[str]) -> Iterator[Event | EventFormatError]:
    """Decode JSON Lines, yielding an event, or the error for a bad line, per non-blank line.

    Errors carry their 1-based line number so a caller can report and skip them.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield decode(line)
        except EventFormatError as exc:
            yield EventFormatError(str(exc), line=number)
