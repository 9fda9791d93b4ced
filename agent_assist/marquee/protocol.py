"""The marquee protocol, sans-I/O: versioned JSON messages, strictly validated.

One JSON object per WebSocket text frame (at most ``MAX_FRAME`` bytes), with a
``type``. Unknown types and unknown fields are rejected, text is plain text
(no control characters, no markup) of at most ``MAX_TEXT`` characters, and
times are seconds since the Unix epoch. Every message a peer may send is a
frozen dataclass here; :func:`decode` returns one or raises
:class:`ProtocolError` with a message safe to send back.

Bounds (checked by :func:`decode` before anything else sees a value): a frame
nests at most ``MAX_DEPTH`` levels; every whole number is in 0..``MAX_SEQ`` and
every time in 0..``MAX_TIME``; every string is plain text in the sense of
:func:`agent_assist.limits.text_problem` — no unpaired surrogates, control,
bidi-override or zero-width characters or BOM — and one line (only a
submission's ``body`` may have line breaks and tabs). Audience names are
non-empty, at most ``MAX_NAME`` characters, without surrounding spaces or commas.
:func:`validate` is "would the server refuse this?" for a message built in code.

Client -> server: ``hello`` (resume after a gap: the last ``seq`` seen and the
``epoch`` it belongs to; the app's ``version`` and update ``channel``), ``announce`` (with an optional idempotency ``key``:
a repeat returns the announcement already stored), ``edit``, ``retract``
(supervisors and admins), ``ack`` (read receipt), ``receipts`` (ask who has
seen an announcement), ``directory`` (supervisors and admins: whom may I address?). Server -> client: ``welcome`` (again mid-connection when
the server's state was reset: a new ``epoch``), ``announcement``, ``announced``
(the answer to a keyed ``announce``), ``retracted``, ``synced`` (catch-up done),
``receipt_list``, ``directory_list`` (the sites, teams and agents inside the
asker's scope, each agent marked online or not; split over several frames with
``more`` set on all but the last), ``error``. Authentication is the bearer token of the
WebSocket handshake, not a message.

Opt-in agent flag feed: an agent's app sends ``flag_summary`` (kind, severity,
time: never the words that raised it) and supervisors receive ``flag_notice``
with the agent's name added. Knowledge review: agents ``submit`` a resolution
(answered with ``submitted``); supervisors ``review`` it, and every supervisor
hears ``reviewed``. Knowledge itself is served over HTTP (``/kb/changes``):
a snapshot can be larger than a frame.

Team stats (opt-in per site, counts only): an agent's app sends ``call_stats``
once per call, the after-call summary's numbers and nothing else: ids, a date,
seconds and counts; flag kinds must be known kinds. The server aggregates them
(read over HTTP, ``/stats``).
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias, Union

from agent_assist.errors import MarqueeError
from agent_assist.limits import LimitError, loads, text_problem
from agent_assist.records import record_from_dict, record_to_dict

__all__ = [
    "MARKUP",
    "MAX_DEPTH",
    "MAX_FRAME",
    "MAX_NAME",
    "MAX_SEQ",
    "MAX_TEXT",
    "MAX_TIME",
    "PROTOCOL_VERSION",
    "Ack",
    "Announce",
    "Announced",
    "Announcement",
    "Audience",
    "CallStats",
    "Directory",
    "DirectoryList",
    "Edit",
    "ErrorMessage",
    "FlagCount",
    "FlagNotice",
    "FlagSummary",
    "Hello",
    "Member",
    "Message",
    "ProtocolError",
    "ReceiptList",
    "Receipts",
    "Retract",
    "Retracted",
    "Review",
    "Reviewed",
    "Seen",
    "Submit",
    "Submitted",
    "Synced",
    "Welcome",
    "decode",
    "encode",
    "name_problem",
    "validate",
]

PROTOCOL_VERSION = 1
MAX_FRAME = 16 * 1024
MAX_TEXT = 500
Priority: TypeAlias = Literal["info", "warning", "urgent"]
Role: TypeAlias = Literal["agent", "supervisor", "admin"]
Severity: TypeAlias = Literal["info", "warning", "critical", "praise"]
Decision: TypeAlias = Literal["approve", "reject"]
Phase: TypeAlias = Literal["pending", "active", "retired"]
MAX_BODY = 10_000  # characters in a submitted resolution's steps
MAX_DEPTH = 8  # nesting of arrays/objects in one frame
MAX_SEQ = 2**53 - 1  # every whole number (seq, version): exact in any JSON reader
MAX_TIME = 4_102_444_800.0  # every time: seconds since the epoch, before 2100-01-01 UTC
MAX_NAME = 64  # characters in a site, team or agent name
_MULTILINE = frozenset({"body"})  # fields that may hold line breaks and tabs
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ARTICLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # as kb_cache.article requires
MARKUP = re.compile(r"<\s*[A-Za-z!/?]")  # what counts as markup in text (refused)
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_VERSION = re.compile(r"^\d{1,6}(?:\.\d{1,6}){0,3}(?:(?:a|b|rc)\d{1,4})?$")
_CHANNEL = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_CALL_S = 86_400.0  # no call lasts longer than a day
MAX_COUNT = 10_000


class ProtocolError(MarqueeError):
    """A message that breaks the protocol; ``code`` is the machine-readable reason."""

    def __init__(self, message: str, *, code: str = "bad_message") -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who an announcement is for: everyone, or any of these sites, teams or agent names."""

    all: bool = False
    sites: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()

    def includes(self, *, site: str | None, team: str | None, name: str | None) -> bool:
        """True when an agent of this site, team or name is in the audience."""
        return (
            self.all
            or (site is not None and site in self.sites)
            or (team is not None and team in self.teams)
            or (name is not None and name in self.agents)
        )


@dataclass(frozen=True, slots=True)
class _Message:
    TYPE: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Hello(_Message):
    """First message of a (re)connection; ``last_seq``: the newest change already seen."""

    TYPE: ClassVar[str] = "hello"
    v: int
    last_seq: int = 0
    client: str = ""
    version: str = ""  # the app's version, e.g. "0.2.0" (fleet versions for IT)
    channel: str = ""  # its update channel: stable | pilot
    epoch: str = ""  # the server state ``last_seq`` belongs to ("" = unknown: take it as is)


@dataclass(frozen=True, slots=True)
class Welcome(_Message):
    """Server -> client after ``hello``: who the token is, and the newest change ``seq``."""

    TYPE: ClassVar[str] = "welcome"
    v: int
    role: Role
    name: str
    site: str = ""
    team: str = ""
    seq: int = 0  # the newest change on the server
    epoch: str = ""  # changes when the server's state is reset: seqs start again


@dataclass(frozen=True, slots=True)
class Announce(_Message):
    """Supervisor -> server: a new announcement (times in epoch s; expiry after start)."""

    TYPE: ClassVar[str] = "announce"
    text: str
    priority: Priority = "info"
    audience: Audience = Audience(all=True)
    starts_at: float | None = None
    expires_at: float | None = None
    key: str | None = None  # idempotency key: a repeat is answered with the stored announcement


@dataclass(frozen=True, slots=True)
class Announced(_Message):
    """Server -> the sender of a keyed ``announce``: it is stored as ``id`` (once, however often sent)."""

    TYPE: ClassVar[str] = "announced"
    key: str
    id: str
    seq: int


@dataclass(frozen=True, slots=True)
class Edit(_Message):
    """Supervisor -> server: new text, priority or expiry for an active one (None: unchanged)."""

    TYPE: ClassVar[str] = "edit"
    id: str
    text: str | None = None
    priority: Priority | None = None
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class Retract(_Message):
    """Supervisor -> server: withdraw announcement ``id`` for everyone."""

    TYPE: ClassVar[str] = "retract"
    id: str


@dataclass(frozen=True, slots=True)
class Ack(_Message):
    """Client -> server: the read receipt for announcement ``id``."""

    TYPE: ClassVar[str] = "ack"
    id: str


@dataclass(frozen=True, slots=True)
class Receipts(_Message):
    """Supervisor -> server: who has seen announcement ``id`` (answered by receipt_list)?"""

    TYPE: ClassVar[str] = "receipts"
    id: str


@dataclass(frozen=True, slots=True)
class Announcement(_Message):
    """An active announcement, as delivered (again, with a new ``seq``, after an edit)."""

    TYPE: ClassVar[str] = "announcement"
    id: str
    seq: int
    text: str
    priority: Priority
    audience: Audience
    author: str
    created_at: float
    starts_at: float | None = None
    expires_at: float | None = None
    edited_at: float | None = None

    def phase(self, now: float) -> Phase:
        """Where ``now`` (Unix epoch, s) falls in the announcement's window.

        "pending" before ``starts_at``, "retired" from ``expires_at`` on (an
        expiry wins over a start), "active" in between; a missing bound is open.
        """
        if self.expires_at is not None and self.expires_at <= now:
            return "retired"
        if self.starts_at is not None and self.starts_at > now:
            return "pending"
        return "active"

    def is_active(self, now: float) -> bool:
        """True when it should be on screen at ``now`` (Unix epoch, s)."""
        return self.phase(now) == "active"

    @property
    def needs_acknowledgement(self) -> bool:
        """Urgent ones are read when the agent acknowledges them; the rest once shown."""
        return self.priority == "urgent"


@dataclass(frozen=True, slots=True)
class Retracted(_Message):
    """Server -> client: announcement ``id`` is withdrawn, as change ``seq``."""

    TYPE: ClassVar[str] = "retracted"
    id: str
    seq: int


@dataclass(frozen=True, slots=True)
class Synced(_Message):
    """The catch-up after ``hello`` is complete: the client is up to date with ``seq``."""

    TYPE: ClassVar[str] = "synced"
    seq: int


@dataclass(frozen=True, slots=True)
class Seen(_Message):
    """One read receipt: who, and when (epoch s)."""

    name: str
    at: float


@dataclass(frozen=True, slots=True)
class ReceiptList(_Message):
    """Who has seen announcement ``id`` and who in its audience has not (yet)."""

    TYPE: ClassVar[str] = "receipt_list"
    id: str
    seen: tuple[Seen, ...]
    pending: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Directory(_Message):
    """Supervisor -> server: whom may I address? (answered by one or more directory_list)."""

    TYPE: ClassVar[str] = "directory"


@dataclass(frozen=True, slots=True)
class Member:
    """One agent a supervisor may address: name, site and team ("" when the token has none),
    and whether one of its desktops is connected to the answering node."""

    name: str
    site: str = ""
    team: str = ""
    online: bool = False


@dataclass(frozen=True, slots=True)
class DirectoryList(_Message):
    """Server -> supervisor: the sites, teams and agents inside its scope (all names distinct).

    A long directory comes in several frames; every frame but the last has ``more``
    set, and the asker joins their lists. An admin's sites and teams are those its
    agents belong to; a supervisor's are those of its token (teams: of its agents
    when the token names none).
    """

    TYPE: ClassVar[str] = "directory_list"
    sites: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    agents: tuple[Member, ...] = ()
    more: bool = False


@dataclass(frozen=True, slots=True)
class ErrorMessage(_Message):
    """Server -> client: a request refused; ``code`` says why, ``ref`` names what."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class FlagSummary(_Message):
    """Agent -> server (only where the site policy opts in): that a flag was raised, not why."""

    TYPE: ClassVar[str] = "flag_summary"
    kind: str
    severity: Severity
    at: float


@dataclass(frozen=True, slots=True)
class FlagNotice(_Message):
    """Server -> supervisors: an agent's flag summary, with who raised it."""

    TYPE: ClassVar[str] = "flag_notice"
    agent: str
    site: str
    team: str
    kind: str
    severity: Severity
    at: float


@dataclass(frozen=True, slots=True)
class Submit(_Message):
    """Agent -> server: a front-line resolution for the review queue (already PII-scrubbed).

    With ``article_id`` it proposes no new article but ``triggers`` as new customer
    phrasings of that existing article (learned from the agent's feedback);
    ``title`` is then the article's title, for the reviewer.
    """

    TYPE: ClassVar[str] = "submit"
    ref: str  # the client's own id for the submission, echoed in ``submitted``
    title: str
    body: str
    tags: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    article_id: str | None = None


@dataclass(frozen=True, slots=True)
class Submitted(_Message):
    """Server -> agent: submission ``ref`` is in the review queue as ``id``."""

    TYPE: ClassVar[str] = "submitted"
    ref: str
    id: str  # the review queue's id


@dataclass(frozen=True, slots=True)
class Review(_Message):
    """Supervisor -> server: approve (publishing it as an article) or reject a submission."""

    TYPE: ClassVar[str] = "review"
    id: str
    decision: Decision
    reason: str | None = None
    article_id: str | None = None  # default: made from the title
    department: str | None = None
    authority: str | None = None


@dataclass(frozen=True, slots=True)
class Reviewed(_Message):
    """Server -> supervisors: a submission approved (as ``article_id``) or rejected."""

    TYPE: ClassVar[str] = "reviewed"
    id: str
    decision: Decision
    reviewer: str
    article_id: str | None = None
    version: int | None = None  # the knowledge version that carries the article


@dataclass(frozen=True, slots=True)
class FlagCount:
    """How often one flag ``kind`` (a known kind) was raised in a call: ``count`` in 1..MAX_COUNT."""

    kind: str
    count: int


@dataclass(frozen=True, slots=True)
class CallStats(_Message):
    """Agent -> server, where the site shares team stats: one call's numbers, never words.

    ``call`` is the app's id for the call (a resend is stored once), ``day`` the
    agent's local date; seconds and counts come from the after-call summary.
    """

    TYPE: ClassVar[str] = "call_stats"
    call: str
    day: str
    duration: float
    talk_agent: float = 0.0
    talk_customer: float = 0.0
    hold: float = 0.0
    mute: float = 0.0
    dead_air: float = 0.0
    script_done: int = 0
    script_required: int = 0
    flags: tuple[FlagCount, ...] = ()
    articles_suggested: int = 0
    articles_opened: int = 0
    articles_used: int = 0


Message: TypeAlias = Union[  # noqa: UP007 - a runtime alias
    Hello,
    Welcome,
    Announce,
    Announced,
    Edit,
    Retract,
    Ack,
    Receipts,
    Announcement,
    Retracted,
    Synced,
    ReceiptList,
    Directory,
    DirectoryList,
    ErrorMessage,
    FlagSummary,
    FlagNotice,
    Submit,
    Submitted,
    Review,
    Reviewed,
    CallStats,
]
_TYPES: dict[str, type[_Message]] = {cls.TYPE: cls for cls in typing.get_args(Message)}


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a site, team or agent name (None if it can)."""
    if not name.strip():
        return "is empty"
    if name != name.strip():
        return "has spaces around it"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if "," in name:
        return "contains a comma"
    return text_problem(name)


def _check_text(text: str, where: str, *, limit: int = MAX_TEXT) -> None:
    if not text.strip():
        raise ProtocolError(f"{where} is empty")
    if len(text) > limit:
        raise ProtocolError(f"{where} is longer than {limit} characters")
    if MARKUP.search(text):
        raise ProtocolError(f"{where} must be plain text, not markup")


def _check_values(value: Any, where: str, key: str = "") -> None:
    """Plain text everywhere, whole numbers in 0..MAX_SEQ, times in 0..MAX_TIME."""
    if isinstance(value, str):
        problem = (
            text_problem(value.replace("\t", " "), lines=True)
            if key in _MULTILINE
            else text_problem(value)
        )
        if problem is not None:
            raise ProtocolError(f"{where} {problem}")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int | float):
        limit = MAX_SEQ if isinstance(value, int) else MAX_TIME
        if value < 0:
            raise ProtocolError(f"{where} must not be negative")
        if not value <= limit:  # also NaN
            raise ProtocolError(f"{where} is too large (at most {limit:.0f})")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{where}[{index}]", key)
    elif isinstance(value, dict):
        for name, item in value.items():
            problem = text_problem(name)
            if problem is not None:
                raise ProtocolError(f"{where} has a field name that {problem}")
            _check_values(item, f"{where}.{name}", name)


def _check_semantics(message: _Message) -> None:
    for name in ("id", "key"):
        value = getattr(message, name, None)
        if isinstance(value, str) and not _ID.match(value):
            raise ProtocolError(f"{message.TYPE}.{name} is not a valid id")
    if isinstance(message, Announce | Edit) and message.text is not None:
        _check_text(message.text, f"{message.TYPE}.text")
    if isinstance(message, Announce | Announcement):
        a = message.audience
        if not (a.all or a.sites or a.teams or a.agents):
            raise ProtocolError(f"{message.TYPE}.audience names nobody")
        for field, names in (("sites", a.sites), ("teams", a.teams), ("agents", a.agents)):
            for item in names:
                problem = name_problem(item)
                if problem is not None:
                    raise ProtocolError(f"{message.TYPE}.audience.{field}: {item!r} {problem}")
        if (
            message.starts_at is not None
            and message.expires_at is not None
            and message.expires_at <= message.starts_at
        ):
            raise ProtocolError(f"{message.TYPE}.expires_at must be after starts_at")
    if isinstance(message, DirectoryList):
        _check_directory(message)
    if isinstance(message, FlagSummary | FlagNotice) and not _KIND.match(message.kind):
        raise ProtocolError(f"{message.TYPE}.kind is not a flag kind")
    if isinstance(message, Submit):
        _check_text(message.title, "submit.title", limit=200)
        _check_text(message.body, "submit.body", limit=MAX_BODY)
        for item in (*message.tags, *message.triggers):
            _check_text(item, "submit tags and triggers", limit=200)
        if len(message.tags) + len(message.triggers) > 50:
            raise ProtocolError("submit has more than 50 tags and triggers")
        if message.article_id is not None:
            if not _ARTICLE_ID.match(message.article_id):
                raise ProtocolError("submit.article_id is not an article id")
            if not message.triggers:
                raise ProtocolError("a phrasing submission (with article_id) needs its triggers")
    if isinstance(message, Review):
        if message.article_id is not None and not _ARTICLE_ID.match(message.article_id):
            raise ProtocolError("review.article_id must be letters, digits, '.', '_' or '-'")
        for name in ("reason", "department", "authority"):
            value = getattr(message, name)
            if value is not None:
                _check_text(value, f"review.{name}", limit=200)
    if isinstance(message, Hello):
        if message.version and not _VERSION.match(message.version):
            raise ProtocolError("hello.version is not a version like 1.2.3")
        if message.channel and not _CHANNEL.match(message.channel):
            raise ProtocolError("hello.channel is not a channel name")
        if len(message.client) > 100:
            raise ProtocolError("hello.client is not a short plain name")
    if isinstance(message, CallStats):
        _check_stats(message)


def _check_directory(message: DirectoryList) -> None:
    """Every name a valid audience name, none twice; an agent's site and team may be blank."""
    for field, names in (("sites", message.sites), ("teams", message.teams)):
        if len(set(names)) != len(names):
            raise ProtocolError(f"directory_list.{field} names one twice")
        for item in names:
            if (problem := name_problem(item)) is not None:
                raise ProtocolError(f"directory_list.{field}: {item!r} {problem}")
    places = [(m.name, m.site, m.team) for m in message.agents]
    if len(set(places)) != len(places):
        raise ProtocolError("directory_list.agents lists one agent twice")
    for member in message.agents:
        for field, value in (("name", member.name), ("site", member.site), ("team", member.team)):
            if (value or field == "name") and (problem := name_problem(value)) is not None:
                raise ProtocolError(f"directory_list.agents: {field} {value!r} {problem}")


def _check_stats(message: CallStats) -> None:
    """Numbers in range, a real date, known flag kinds: nothing else can ride along."""
    import datetime

    from agent_assist.risk.pack import KINDS

    if not _ID.match(message.call):
        raise ProtocolError("call_stats.call is not a valid id")
    if not _DAY.match(message.day):
        raise ProtocolError("call_stats.day must be a date (YYYY-MM-DD)")
    try:
        datetime.date.fromisoformat(message.day)
    except ValueError:
        raise ProtocolError("call_stats.day must be a date (YYYY-MM-DD)") from None
    for name in ("duration", "talk_agent", "talk_customer", "hold", "mute", "dead_air"):
        if not 0.0 <= getattr(message, name) <= MAX_CALL_S:
            raise ProtocolError(f"call_stats.{name} must be 0 to {MAX_CALL_S:g} seconds")
    counts = ("script_done", "script_required", "articles_suggested", "articles_opened",
              "articles_used")  # fmt: skip
    for name in counts:
        if not 0 <= getattr(message, name) <= MAX_COUNT:
            raise ProtocolError(f"call_stats.{name} must be 0 to {MAX_COUNT}")
    if message.script_done > message.script_required:
        raise ProtocolError("call_stats.script_done cannot exceed script_required")
    kinds = [f.kind for f in message.flags]
    if len(set(kinds)) != len(kinds):
        raise ProtocolError("call_stats.flags names a kind twice")
    for flag in message.flags:
        if flag.kind not in KINDS:
            raise ProtocolError(f"call_stats.flags: {flag.kind!r} is not a flag kind")
        if not 1 <= flag.count <= MAX_COUNT:
            raise ProtocolError(f"call_stats.flags: a count must be 1 to {MAX_COUNT}")


def encode(message: Message) -> str:
    """The one-line JSON text frame for ``message``."""
    return json.dumps(
        {"type": message.TYPE, **record_to_dict(message)}, ensure_ascii=False, separators=(",", ":")
    )


def decode(frame: str | bytes) -> Message:
    """Parse and validate one frame; raises ProtocolError (never anything else) on bad input."""
    if isinstance(frame, bytes):
        raise ProtocolError("send JSON text frames, not binary")
    if len(frame.encode("utf-8", "surrogatepass")) > MAX_FRAME:
        raise ProtocolError(f"frame larger than {MAX_FRAME} bytes", code="too_big")
    try:
        data = loads(frame, max_bytes=MAX_FRAME, max_depth=MAX_DEPTH)
    except LimitError as exc:
        raise ProtocolError(f"frame {exc}") from None
    except ValueError as exc:
        raise ProtocolError(f"not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ProtocolError("a message must be a JSON object")
    kind = data.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        shown = kind if isinstance(kind, str) and text_problem(kind) is None else "?"
        raise ProtocolError(f"unknown message type {shown[:40]!r}")
    _check_values(data, cls.TYPE)

    def error(message: str) -> ProtocolError:
        return ProtocolError(message)

    message: Message = record_from_dict(
        cls, data, where=cls.TYPE, strict=True, error=error, ignore=("type",)
    )
    _check_semantics(message)
    return message


def validate(message: Message, *, now: float | None = None) -> None:
    """Raise ProtocolError if the server would refuse ``message``; None if it would accept it.

    Everything :func:`decode` checks, and, given ``now`` (seconds since the epoch),
    that an ``announce`` or ``edit`` does not expire in the past.
    """
    decode(encode(message))
    if now is None:
        return
    expires = getattr(message, "expires_at", None)
    if isinstance(message, Announce | Edit) and expires is not None and expires <= now:
        raise ProtocolError(f"{message.TYPE}.expires_at is in the past")
