"""The risk engine for one call: events in, coaching flags out (sans-I/O).

``feed(event)`` returns the ``flag`` events the event raises, stamped with the
event's ``t``. Time advances only through the events' ``t``.

* Only the agent is coached: customer speech feeds timers (dead air,
  monologue), never word rules.
* Word cues act on *partial* results, so a hot mic is flagged while the
  sentence is still being spoken; a phrase raises each kind at most once
  (its partials and final count as one). Praise waits for the final.
* A kind is not raised again within its cool-down, and the agent can snooze a
  kind for the rest of the call (never its critical flags: see
  :mod:`agent_assist.risk.snooze`). Flags only happen during an active call.
* Evidence is scrubbed of personal data before it leaves the engine.
"""

from __future__ import annotations

from agent_assist.events import Call, Channel, Event, Flag, Utterance
from agent_assist.privacy import scrub
from agent_assist.risk.line import LineRules, LineState
from agent_assist.risk.pack import KINDS, RulePack, load_pack
from agent_assist.risk.snooze import Snoozes
from agent_assist.risk.voice import VoiceRules
from agent_assist.risk.words import WordRules

__all__ = ["RiskEngine"]

_PRAISE = ("ownership", "empathy")


class RiskEngine:
    """Coaching flags for one agent's call. Reusable across calls (``call started`` resets)."""

    def __init__(self, *, pack: RulePack | None = None) -> None:
        self._pack = pack if pack is not None else load_pack()
        self._snoozes = Snoozes()
        self._reset()

    @property
    def pack(self) -> RulePack:
        """The rule pack in use."""
        return self._pack

    def snooze(self, kind: str) -> None:
        """Stop raising ``kind`` (except critical flags) until the next call starts."""
        if kind not in KINDS:
            raise ValueError(f"unknown flag kind {kind!r}")
        self._snoozes.add(kind)

    def _reset(self) -> None:
        self._line = LineState()
        self._line_rules = LineRules(self._pack.thresholds)
        self._voice = VoiceRules(self._pack.thresholds)
        self._words = WordRules(self._pack)
        self._last_flag: dict[str, float] = {}
        self._in_phrase: set[str] = set()  # kinds already raised by the agent's current phrase

    def feed(self, event: Event) -> list[Flag]:
        """Return the flags ``event`` raises (possibly none)."""
        if isinstance(event, Call) and event.state == "started":
            self._snoozes.clear()  # a new call: snoozes and cool-downs start afresh
            self._reset()
        self._line.apply(event)
        found: list[tuple[str, str, Channel]] = [
            (kind, evidence, "agent") for kind, evidence in self._line_rules.feed(event, self._line)
        ]
        if not self._line.active:
            return self._flags(event.t, found)
        found += [(kind, evidence, "agent") for kind, evidence in self._voice.feed(event)]
        if isinstance(event, Utterance) and event.channel == "agent":
            found += self._word_flags(event)
        return self._flags(event.t, found)

    def _word_flags(self, utterance: Utterance) -> list[tuple[str, str, Channel]]:
        live, out = self._line.live, []
        for cue in self._words.cues(utterance):
            if cue.lexicon == "venting":
                kind = "hot_mic" if live else "vent_while_muted"
            elif cue.lexicon == "profanity":
                kind = "profanity" if live else "vent_while_muted"
            elif not live or (cue.lexicon in _PRAISE and not utterance.final):
                continue  # the customer cannot hear it; praise waits for the final
            else:
                kind = cue.lexicon
            if kind not in self._in_phrase:
                self._in_phrase.add(kind)
                out.append((kind, cue.evidence, utterance.channel))
        if utterance.final:
            self._in_phrase.clear()
        return out

    def _flags(self, t: float, found: list[tuple[str, str, Channel]]) -> list[Flag]:
        flags = []
        for kind, evidence, channel in found:
            rule = self._pack.kinds[kind]
            last = self._last_flag.get(kind)
            if self._snoozes.silences_kind(kind, rule.severity) or (
                last is not None and t - last < rule.cooldown
            ):
                continue
            self._last_flag[kind] = t
            flags.append(
                Flag(
                    t=t,
                    kind=kind,
                    severity=rule.severity,  # type: ignore[arg-type]
                    channel=channel,
                    evidence=scrub(evidence),
                    tip=rule.tip,
                )
            )
        return flags
