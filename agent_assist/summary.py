"""The after-call summary, sans-I/O: the call in numbers and a wrap-up note, at ``call ended``.

:class:`Summarizer` watches everything that passes through a call session (the
input events and what the engines made of them) and, when the call ends,
returns one ``summary`` event:

* ``duration``: ``call started`` (or the first event) to ``call ended``, s;
* ``talk``: seconds each channel spoke (recognised phrases and speech levels);
* ``hold`` and ``mute``: seconds on hold, and muted (every mute source agreeing);
* ``dead_air``: seconds of silences of ``silence_s`` or more on a live line;
* ``reason``: the customer's opening request (their first final utterance of
  ``REQUEST_WORDS`` words or more) and the article suggested for it;
* ``articles``: every article suggested, opened or used;
* ``commitments``: what the agent took ownership of on a live line (the rule
  pack's ownership phrases and the promises in :data:`PROMISES`, with the
  rest of the sentence: "i will call you back tomorrow before noon");
* ``script``: script adherence, from the script engine (if any);
* ``flags``: flags raised, by kind;
* ``note``: a short plain-text wrap-up for the CRM (no coaching in it).

Every text is scrubbed of personal data. The summary is the agent's: whether it
is stored or shared is for the composition root and the site policy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from agent_assist.events import (
    Adherence,
    Article,
    ArticleRef,
    ArticleUse,
    Call,
    Commitment,
    Event,
    Flag,
    KindCount,
    Level,
    Mute,
    Reason,
    Script,
    Suggestion,
    Summary,
    Talk,
    Utterance,
)
from agent_assist.privacy import scrub
from agent_assist.risk.line import LineState
from agent_assist.risk.pack import RulePack
from agent_assist.risk.phrases import PhraseSet, normalize

__all__ = ["PROMISES", "REQUEST_WORDS", "Summarizer", "clock", "wrap_up_note"]

REQUEST_WORDS = 4
# promises to the customer beside the rule pack's ownership praise ("i will put you on hold"
# is not one: it is said and done at once)
PROMISES = (
    "{i|we} will {take care of|look into|get back to you|call you|ring you|email you|text you|"
    "send you|update you|let you know|follow up|sort out|check on|chase|make sure}",
    "{i|we} {am|are} going to {take care of|look into|call you|ring you|email you|send you|"
    "follow up|sort out|chase|check on|make sure}",
)
_LEVEL_WINDOW = 0.25  # s: a level event never stands for more audio than this
Span = tuple[float, float]


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour)."""
    whole = round(max(0.0, seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# a commitment is a promise about later: ownership said in the future tense or with a time
_PROMISE_MARKERS = frozenset(
    {"will", "i'll", "we'll", "shall", "going", "promise", "tomorrow", "tonight", "later", "back"}
)


@dataclass
class _Articles:
    titles: dict[str, str] = field(default_factory=dict)  # first seen first
    suggested: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)

    def note(self, article_id: str, title: str | None) -> None:
        if title or article_id not in self.titles:
            self.titles[article_id] = title or self.titles.get(article_id) or article_id

    def uses(self) -> tuple[ArticleUse, ...]:
        return tuple(
            ArticleUse(i, t, i in self.suggested, i in self.opened, i in self.used)
            for i, t in self.titles.items()
        )


class Summarizer:
    """Builds the ``summary`` of one call; reusable (``call started`` starts afresh).

    ``pack``: the rule pack whose ownership phrases are commitments;
    ``adherence``: the script engine's, or None without a script.
    """

    def __init__(
        self,
        *,
        pack: RulePack,
        adherence: Callable[[], Adherence | None] = lambda: None,
        silence_s: float = 5.0,
    ) -> None:
        self._promises = (pack.lexicons["ownership"], PhraseSet(PROMISES))
        self._adherence = adherence
        self._silence = silence_s
        self._reset(None)

    def _reset(self, start: float | None) -> None:
        self._start = start
        self._line = LineState()
        self._hold: list[Span] = []
        self._mute: list[Span] = []
        self._hold_since: float | None = None
        self._mute_since: float | None = None
        self._speech: dict[str, list[Span]] = {"agent": [], "customer": []}
        self._last_level: dict[str, float] = {}
        self._request: Utterance | None = None
        self._suggestions: list[tuple[float, ArticleRef]] = []  # (t, top article)
        self._articles = _Articles()
        self._commitments: list[Commitment] = []
        self._flags: Counter[str] = Counter()
        self._labels: dict[str, str] = {}  # script step id -> label

    def feed(self, event: Event | None, derived: Sequence[Event] = ()) -> list[Summary]:
        """Note ``event`` (an input; None for an answer) and ``derived`` (what the engines made
        of it); returns the summary when ``event`` ends the call."""
        if event is not None:
            self._input(event)
        for item in derived:
            self._derived(item)
        if isinstance(event, Call) and event.state == "ended":
            return [self._summary(event.t)]
        return []

    # -- noting --------------------------------------------------------------------------

    def _input(self, event: Event) -> None:
        if isinstance(event, Call) and event.state == "started":
            self._reset(event.t)
        if self._start is None:
            self._start = event.t
        if isinstance(event, Call | Mute):
            self._line_change(event)
        elif isinstance(event, Level):
            self._level(event)
        elif isinstance(event, Utterance) and event.final:
            self._utterance(event)
        elif isinstance(event, Article):
            self._articles.note(event.id, event.title)
            if event.action in ("opened", "used"):
                (self._articles.opened if event.action == "opened" else self._articles.used).add(
                    event.id
                )
        elif isinstance(event, Suggestion):
            self._derived(event)  # logged suggestions count as the session's own

    def _derived(self, event: Event) -> None:
        if isinstance(event, Flag):
            self._flags[event.kind] += 1
        elif isinstance(event, Script) and event.label:
            self._labels[event.step] = event.label
        elif isinstance(event, Suggestion) and event.articles:
            self._suggestions.append((event.t, event.articles[0]))
            for ref in event.articles:
                self._articles.note(ref.id, ref.title)
                self._articles.suggested.add(ref.id)

    def _line_change(self, event: Call | Mute) -> None:
        self._line.apply(event)
        on_hold = self._line.on_hold and self._line.active
        muted = self._line.muted and self._line.active
        self._hold_since = _track(self._hold, self._hold_since, on_hold, event.t)
        self._mute_since = _track(self._mute, self._mute_since, muted, event.t)

    def _level(self, event: Level) -> None:
        previous = self._last_level.get(event.channel)
        self._last_level[event.channel] = event.t
        if event.speech and previous is not None:
            width = min(_LEVEL_WINDOW, max(0.0, event.t - previous))
            _add(self._speech[event.channel], (event.t - width, event.t))

    def _utterance(self, utterance: Utterance) -> None:
        if utterance.end > utterance.start:
            _add(self._speech[utterance.channel], (utterance.start, utterance.end))
        words = normalize(utterance.text)
        if utterance.channel == "customer":
            if self._request is None and len(words) >= REQUEST_WORDS:
                self._request = utterance
            return
        matches = [m for p in self._promises for m in p.find(words)] if self._line.live else []
        if matches and _PROMISE_MARKERS & set(words):  # "let me check" is ownership, not a promise
            text = scrub(" ".join(words[min(m.start for m in matches) :]))
            self._commitments.append(Commitment(t=utterance.t, text=text))

    # -- the summary ---------------------------------------------------------------------

    def _summary(self, end: float) -> Summary:
        start = self._start if self._start is not None else end
        for spans, since in ((self._hold, self._hold_since), (self._mute, self._mute_since)):
            if since is not None:
                spans.append((since, end))
        talk = {c: _total(_merged(s), start, end) for c, s in self._speech.items()}
        quiet = _merged(self._hold + self._mute)
        dead_air = sum(
            length
            for gap in _gaps(_merged(self._speech["agent"] + self._speech["customer"]), start, end)
            for length in _pieces(gap, quiet)
            if length >= self._silence
        )
        adherence = self._adherence()
        summary = Summary(
            t=end,
            duration=_r(end - start),
            talk=Talk(agent=_r(talk["agent"]), customer=_r(talk["customer"])),
            hold=_r(_total(self._hold, start, end)),
            mute=_r(_total(self._mute, start, end)),
            dead_air=_r(dead_air),
            articles=self._articles.uses(),
            commitments=tuple(self._commitments),
            flags=tuple(
                KindCount(k, n)
                for k, n in sorted(self._flags.items(), key=lambda kv: (-kv[1], kv[0]))
            ),
            note="",
            reason=self._reason(),
            script=adherence,
        )
        return replace(summary, note=wrap_up_note(summary))

    def _reason(self) -> Reason | None:
        request = self._request
        if request is None:
            return None
        text = scrub(request.text)
        # the article on screen when the customer finished asking, else the first one after
        shown = [ref for t, ref in self._suggestions if request.start <= t <= request.t]
        later = [ref for t, ref in self._suggestions if t > request.t]
        ref = shown[-1] if shown else later[0] if later else None
        return Reason(text, ref.id, ref.title) if ref else Reason(text)


def wrap_up_note(summary: Summary) -> str:
    """A short plain-text note for the CRM: reason, follow-ups, knowledge, call times."""
    lines = []
    if summary.reason is not None:
        about = (
            f"{summary.reason.title} ({summary.reason.article}): " if summary.reason.title else ""
        )
        lines.append(f'Reason: {about}"{summary.reason.text}"')
    else:
        lines.append("Reason: not recorded")
    follow = [f'"{c.text}" (at {clock(c.t)})' for c in summary.commitments]
    lines.append("Follow-up: " + ("; ".join(follow) if follow else "none promised"))
    used = [a for a in summary.articles if a.opened or a.used]
    if used:
        lines.append(
            "Knowledge: "
            + "; ".join(
                f"{a.title} ({', '.join(w for w, b in (('opened', a.opened), ('used', a.used)) if b)})"
                for a in used
            )
        )
    times = [f"{clock(summary.duration)} long"]
    times += [
        f"{what} {clock(s)}"
        for what, s in (("on hold", summary.hold), ("muted", summary.mute))
        if s
    ]
    lines.append("Call: " + ", ".join(times))
    return "\n".join(lines)


# -- spans -----------------------------------------------------------------------------------


def _r(seconds: float) -> float:
    return round(max(0.0, seconds), 1)


def _track(spans: list[Span], since: float | None, now_in: bool, t: float) -> float | None:
    """Open or close a span as a state turns on or off at ``t``; returns when it began."""
    if now_in and since is None:
        return t
    if not now_in and since is not None:
        spans.append((since, t))
        return None
    return since


def _add(spans: list[Span], span: Span) -> None:
    """Append ``span``, merging it with the last one when they touch (events come in order)."""
    if spans and span[0] <= spans[-1][1] + 1e-6 and span[1] >= spans[-1][0]:
        spans[-1] = (min(spans[-1][0], span[0]), max(spans[-1][1], span[1]))
    else:
        spans.append(span)


def _merged(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for span in sorted(spans):
        _add(out, span)
    return out


def _total(spans: Iterable[Span], start: float, end: float) -> float:
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in spans)


def _gaps(spans: list[Span], start: float, end: float) -> list[Span]:
    """The stretches of [start, end] that ``spans`` (merged) leave uncovered."""
    out, at = [], start
    for a, b in spans:
        if a > at:
            out.append((at, min(a, end)))
        at = max(at, b)
    if at < end:
        out.append((at, end))
    return [g for g in out if g[1] > g[0]]


def _pieces(gap: Span, cut: list[Span]) -> list[float]:
    """Lengths of what is left of ``gap`` once the (merged) ``cut`` spans are removed."""
    return [b - a for a, b in _gaps([c for c in cut if c[1] > gap[0] and c[0] < gap[1]], *gap)]
