"""What the agent said: profanity, venting, rudeness, blame-shifting and praise cues.

Works on the recognised words of one utterance (partial or final). It only
finds *word cues*; which flag they become depends on the line (venting on a
live line is ``hot_mic``, while muted ``vent_while_muted``) and is decided by
the engine.

To prefer a missed flag over a false accusation:

* words the recogniser was unsure of (confidence below ``min_word_conf``) can
  never be part of a match;
* a cue inside a known harmless phrase ("I'm sorry you had a terrible
  experience", "no problem at all") is dropped;
* a cue after a quoting phrase ("you said the last agent told you...") is
  dropped, except profanity, which the customer hears either way;
* blame followed by ownership ("not my department, but I'll transfer you and
  stay on the line") is not blame.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_assist.events import Utterance
from agent_assist.risk.pack import RulePack
from agent_assist.risk.phrases import normalize

__all__ = ["Cue", "WordRules"]

_UNSURE = "<unsure>"
_PRAISE = ("ownership", "empathy")


@dataclass(frozen=True, slots=True)
class Cue:
    """A lexicon (profanity, venting, rudeness, blame_shifting, ownership, empathy) hit."""

    lexicon: str
    evidence: str


class WordRules:
    """Finds word cues in utterances using a rule pack."""

    def __init__(self, pack: RulePack) -> None:
        self.pack = pack

    def words_of(self, utterance: Utterance) -> list[str]:
        """Normalised words; low-confidence words are masked so they never match."""
        if not utterance.words:
            return normalize(utterance.text)
        out: list[str] = []
        floor = self.pack.thresholds.min_word_conf
        for word in utterance.words:
            parts = normalize(word.word)
            out.extend(parts if word.conf >= floor else [_UNSURE] * len(parts))
        return out

    def cues(self, utterance: Utterance) -> list[Cue]:
        """The lexicon hits in ``utterance``, leaving out negated, quoted and unsure words."""
        words = self.words_of(utterance)
        if not words:
            return []
        pack = self.pack
        negatives = pack.negatives.find(words)
        quote_ends = [m.end for m in pack.quotes.find(words)]

        def harmless(start: int, end: int, *, quotable: bool) -> bool:
            if any(n.start < end and start < n.end for n in negatives):
                return True
            return quotable and any(q <= start for q in quote_ends)

        out: list[Cue] = []
        for name, phrase_set in pack.lexicons.items():
            praise = name in _PRAISE  # guards protect against false accusations, not praise
            single = pack.lexicon_words[name]
            spans = [(i, i + 1) for i, w in enumerate(words) if w in single]
            spans += [(m.start, m.end) for m in phrase_set.find(words)]
            for start, end in sorted(spans):
                if not praise and harmless(start, end, quotable=name != "profanity"):
                    continue
                if name == "blame_shifting" and any(
                    u.start >= end - 1 for u in pack.blame_unless.find(words)
                ):
                    continue
                out.append(Cue(name, " ".join(words[start:end])))
                break  # one cue per lexicon per utterance is enough
        return out
