"""Is the customer hearing the agent? Call, hold and mute state, and the timers built on it.

Mute is reported by up to three sources: the softphone/CTI (``cti``), the
operating system's microphone mute (``os``) and the app's own toggle (``app``).
They can disagree: a softphone may silently unmute, a mute button may fail.
For safety the line counts as *muted only when every source that has spoken
says muted*; a disagreement is itself reported (``mute_mismatch``).

If no ``call`` event is ever seen (e.g. a bare transcript), the call is taken
to be active from the first event.

Timers (``talking_while_muted``, ``dead_air``) advance only with the ``t`` of
incoming events: the engine is sans-I/O and never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_assist.events import Call, Event, Level, Mute, Utterance
from agent_assist.risk.pack import Thresholds

__all__ = ["LineRules", "LineState"]

_MAX_WINDOW = 0.25  # s: a level event never stands for more audio than this


@dataclass
class LineState:
    """The call as far as the events have told: active, on hold, muted by which sources."""

    ended: bool = False
    on_hold: bool = False
    hold_since: float | None = None
    mute_by_source: dict[str, bool] = field(default_factory=dict)
    muted_since: float | None = None

    @property
    def active(self) -> bool:
        """The call is in progress (implicitly so when no call event was ever seen)."""
        return not self.ended

    @property
    def muted(self) -> bool:
        """Every source that reported says muted (and at least one did)."""
        return bool(self.mute_by_source) and all(self.mute_by_source.values())

    @property
    def live(self) -> bool:
        """The customer can hear the agent: active, not on hold, not muted."""
        return self.active and not self.on_hold and not self.muted

    def disagreement(self) -> str | None:
        """A sentence naming the sources that disagree about mute, if any do."""
        said_muted = sorted(s for s, m in self.mute_by_source.items() if m)
        said_live = sorted(s for s, m in self.mute_by_source.items() if not m)
        if said_muted and said_live:
            return f"{'/'.join(said_muted)} says muted, {'/'.join(said_live)} says live"
        return None

    def apply(self, event: Event) -> None:
        """Follow the line through a ``call`` or ``mute`` event; other events change nothing."""
        if isinstance(event, Call):
            if event.state in ("started", "resumed"):
                if event.state == "started":
                    self.mute_by_source.clear()
                    self.muted_since = None
                self.ended = False
                self.on_hold, self.hold_since = False, None
            elif event.state == "hold":
                self.on_hold, self.hold_since = True, event.t
            else:
                self.ended, self.on_hold, self.hold_since = True, False, None
        elif isinstance(event, Mute):
            was = self.muted
            self.mute_by_source[event.source] = event.muted
            if self.muted and not was:
                self.muted_since = event.t
            elif not self.muted:
                self.muted_since = None


@dataclass
class LineRules:
    """``talking_while_muted``, ``dead_air`` and ``mute_mismatch`` from the line state."""

    thresholds: Thresholds
    _muted_talk: float = 0.0
    _muted_talk_period: float | None = None
    _last_agent_level: float | None = None
    _last_speech: float | None = None
    _fired: set[str] = field(default_factory=set)  # one dead-air flag per stretch
    _mismatch: str | None = None

    def feed(self, event: Event, line: LineState) -> list[tuple[str, str]]:
        """Return (kind, evidence) pairs this event raises."""
        out: list[tuple[str, str]] = []
        if isinstance(event, Call | Mute):
            self._fired -= {"mute", "hold"} if not (line.muted or line.on_hold) else set()
            self._last_speech = event.t  # a change of line state restarts the silence timer
            mismatch = line.disagreement()
            if mismatch and mismatch != self._mismatch and line.active:
                out.append(("mute_mismatch", mismatch))
            self._mismatch = mismatch
        if not line.active:
            return out
        if self._last_speech is None:
            self._last_speech = event.t
        if isinstance(event, Level):
            out += self._level(event, line)
        elif isinstance(event, Utterance):
            self._heard(event.t)
        return out + self._dead_air(event.t, line)

    def _heard(self, t: float) -> None:
        self._last_speech = t
        self._fired.discard("silence")

    def _level(self, event: Level, line: LineState) -> list[tuple[str, str]]:
        if event.speech:
            self._heard(event.t)
        if event.channel != "agent":
            return []
        previous, self._last_agent_level = self._last_agent_level, event.t
        if not (line.muted and not line.on_hold):
            return []
        if self._muted_talk_period != line.muted_since:  # a new mute period
            self._muted_talk_period, self._muted_talk = line.muted_since, 0.0
        if not event.speech or previous is None:
            return []
        before = self._muted_talk
        self._muted_talk += min(_MAX_WINDOW, max(0.0, event.t - previous))
        limit = self.thresholds.talking_while_muted_s
        if before < limit <= self._muted_talk + 1e-9:
            return [("talking_while_muted", f"you have talked for {limit:g} s while muted")]
        return []

    def _dead_air(self, t: float, line: LineState) -> list[tuple[str, str]]:
        th = self.thresholds
        if line.on_hold:
            key, since, limit, what = (
                "hold",
                line.hold_since,
                th.dead_air_hold_s,
                "customer on hold",
            )
        elif line.muted:
            key, since, limit, what = (
                "mute",
                line.muted_since,
                th.dead_air_mute_s,
                "customer on mute",
            )
        else:
            key, since, limit, what = (
                "silence",
                self._last_speech,
                th.dead_air_silence_s,
                "no one has spoken",
            )
        if since is None or key in self._fired or t - since < limit:
            return []
        self._fired.add(key)  # once per stretch: re-armed when the stretch ends
        return [("dead_air", f"{what} for {t - since:.0f} s")]
