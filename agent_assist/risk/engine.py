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
* With an ``embed`` function (the composition root passes the shipped
  sentence embedder), the semantic layer (:mod:`agent_assist.risk.semantic`)
  also judges each final agent utterance, and a partial that has stayed the
  same for ``semantic_stable_s`` of call time, by meaning. It only adds flags
  the rules missed, behind thresholds chosen for precision. Without an
  embedder the rules work alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_assist.events import Call, Channel, Event, Flag, Utterance
from agent_assist.privacy import scrub
from agent_assist.risk.line import LineRules, LineState
from agent_assist.risk.pack import KINDS, RulePack, load_pack
from agent_assist.risk.semantic import Embed, SemanticCue, SemanticLayer
from agent_assist.risk.snooze import Snoozes
from agent_assist.risk.voice import VoiceRules
from agent_assist.risk.words import WordRules

__all__ = ["RiskEngine"]

_PRAISE = ("ownership", "empathy")
_MIN_SEMANTIC_WORDS = 4  # shorter utterances carry too little meaning to judge
_EVIDENCE_WORDS = 20


@dataclass
class _Partial:
    utterance: Utterance
    since: float  # call time the partial last changed
    judged: bool = False


class RiskEngine:
    """Coaching flags for one agent's call. Reusable across calls (``call started`` resets).

    Args:
        pack: the rule pack (default: the built-in one).
        embed: text -> sentence vector, to turn the semantic layer on.
        embed_model: the name of the model ``embed`` uses (``Embedder.model_id``);
            required with ``embed``: heads trained for another model are refused.
    Raises:
        RulePackError: the pack's semantic heads were trained for another model.
    """

    def __init__(
        self,
        *,
        pack: RulePack | None = None,
        embed: Embed | None = None,
        embed_model: str | None = None,
    ) -> None:
        if embed is not None and not embed_model:
            raise ValueError("embed_model must name the embedding model embed uses")
        self._embed, self._embed_model = embed, embed_model or ""
        self._pack = pack if pack is not None else load_pack()
        self._semantic = self._semantic_for(self._pack)
        self._snoozes = Snoozes()
        self._reset()

    @property
    def pack(self) -> RulePack:
        """The rule pack in use."""
        return self._pack

    @property
    def semantic(self) -> bool:
        """The semantic layer is on (an embedder was given and the pack has heads or examples)."""
        return self._semantic is not None

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
        self._partial: _Partial | None = None  # the agent's latest partial, for the semantic layer
        self._judged: tuple[str, list[SemanticCue]] | None = None  # the last text judged by meaning

    def _semantic_for(self, pack: RulePack) -> SemanticLayer | None:
        if self._embed is None:
            return None
        layer = SemanticLayer(
            embed=self._embed,
            model=self._embed_model,
            heads=pack.heads,
            examples=pack.examples,
            example_min=pack.thresholds.semantic_example_min,
        )
        return None if layer.empty else layer

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
        elif self._partial is not None:
            found += self._stable_partial(event.t)
        return self._flags(event.t, found)

    def _word_flags(self, utterance: Utterance) -> list[tuple[str, str, Channel]]:
        cues = [(cue.lexicon, cue.evidence) for cue in self._words.cues(utterance)]
        out = self._cue_flags(cues, final=utterance.final)
        if self._semantic is not None:
            if utterance.final:
                self._partial = None
                out += self._cue_flags(self._semantic_cues(utterance), final=True)
            elif self._partial is None or self._partial.utterance.text != utterance.text:
                self._partial = _Partial(utterance, utterance.t)
            else:
                out += self._stable_partial(utterance.t)
        if utterance.final:
            self._in_phrase.clear()
        return out

    def _stable_partial(self, t: float) -> list[tuple[str, str, Channel]]:
        """Judge the agent's partial by meaning once it has not changed for a while."""
        partial = self._partial
        if (
            partial is None
            or partial.judged
            or t - partial.since < self._pack.thresholds.semantic_stable_s
        ):
            return []
        partial.judged = True
        return self._cue_flags(self._semantic_cues(partial.utterance), final=False)

    def _semantic_cues(self, utterance: Utterance) -> list[tuple[str, str]]:
        text = utterance.text
        words = text.split()
        if self._semantic is None or len(words) < _MIN_SEMANTIC_WORDS:
            return []
        if self._judged is not None and self._judged[0] == text:
            cues = self._judged[1]  # a final that repeats a partial already judged
        else:
            cues = self._semantic.judge(text)
            self._judged = (text, cues)
        if any(c.lexicon not in _PRAISE for c in cues) and self._words.quoting(utterance):
            cues = [c for c in cues if c.lexicon in _PRAISE]  # someone else's words
        evidence = " ".join(words[:_EVIDENCE_WORDS]) + (
            " ..." if len(words) > _EVIDENCE_WORDS else ""
        )
        return [(cue.lexicon, evidence) for cue in cues]

    def _cue_flags(
        self, cues: list[tuple[str, str]], *, final: bool
    ) -> list[tuple[str, str, Channel]]:
        live, out = self._line.live, list[tuple[str, str, Channel]]()
        for lexicon, evidence in cues:
            if lexicon == "venting":
                kind = "hot_mic" if live else "vent_while_muted"
            elif lexicon == "profanity":
                kind = "profanity" if live else "vent_while_muted"
            elif not live or (lexicon in _PRAISE and not final):
                continue  # the customer cannot hear it; praise waits for the final
            else:
                kind = lexicon
            if kind not in self._in_phrase:
                self._in_phrase.add(kind)
                out.append((kind, evidence, "agent"))
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
