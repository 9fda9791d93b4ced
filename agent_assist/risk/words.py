"""What the agent said: profanity, venting, rudeness, blame-shifting and praise cues.

Works on the recognised words of one utterance (partial or final). It only
finds *word cues*; which flag they become depends on the line (venting on a
live line is ``hot_mic``, while muted ``vent_while_muted``) and is decided by
the engine.

To prefer a missed flag over a false accusation:

* a phrase never runs across a sentence boundary (punctuation, quotation
  marks, or a pause of more than 0.7 s between timed words; see
  :mod:`agent_assist.risk.text`), and a phrase anchored to a sentence's end
  (``^whatever$``) is judged on the final text only;
* words the recogniser was unsure of (confidence below ``min_word_conf``) can
  never be part of a match;
* a cue inside a known harmless phrase ("I'm sorry you had a terrible
  experience", "no problem at all", "I have no clue what you mean", "Mr Dick")
  is dropped, and so is a profane word that is also a name when it is written
  with a capital in mid-sentence ("a customer named Dick");
* a cue after a quoting phrase ("you said the last agent told you...") or
  inside quotation marks (a title) is dropped, except profanity, which the
  customer hears either way;
* blame followed by ownership, a reason or an offer ("not my department,
  but I'll transfer you"; "you'd need to contact them, as they hold the
  account") is not blame.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_assist.events import Utterance
from agent_assist.risk.pack import RulePack
from agent_assist.risk.text import Sentence, sentences

__all__ = ["Cue", "WordRules"]

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

    def sentences_of(self, utterance: Utterance) -> list[Sentence]:
        """The utterance's sentences; low-confidence words are masked so they never match."""
        return sentences(utterance, min_conf=self.pack.thresholds.min_word_conf)

    def quoting(self, utterance: Utterance) -> bool:
        """The utterance quotes someone else (a quoting phrase, or quotation marks)."""
        return any(s.quoted or self.pack.quotes.find(s.words) for s in self.sentences_of(utterance))

    def cues(self, utterance: Utterance) -> list[Cue]:
        """At most one cue per lexicon, the first in the utterance."""
        parts = self.sentences_of(utterance)
        found: dict[str, Cue] = {}
        for index, sentence in enumerate(parts):
            for cue in self._sentence_cues(sentence, parts[index + 1 :]):
                found.setdefault(cue.lexicon, cue)
        return list(found.values())

    def _sentence_cues(self, sentence: Sentence, later: list[Sentence]) -> list[Cue]:
        pack, words = self.pack, sentence.words
        negatives = pack.negatives.find(words)
        quote_ends = [m.end for m in pack.quotes.find(words)]
        not_praise = pack.not_praise.find(words)

        def harmless(start: int, end: int, *, quotable: bool) -> bool:
            if any(n.start < end and start < n.end for n in negatives):
                return True
            if end - start == 1 and start in sentence.names and words[start] in pack.names:
                return True  # a name written as one ("Dick"), not the word
            return quotable and (sentence.quoted or any(q <= start for q in quote_ends))

        out: list[Cue] = []
        for name, phrase_set in pack.lexicons.items():
            single = pack.lexicon_words[name]
            spans = [(i, i + 1) for i, w in enumerate(words) if w in single]
            spans += [
                (m.start, m.end) for m in phrase_set.find(words, open_end=not sentence.closed)
            ]
            for start, end in sorted(spans):
                if name in _PRAISE:
                    if any(g.start < end and start < g.end for g in not_praise):
                        continue
                elif harmless(start, end, quotable=name != "profanity"):
                    continue
                if name == "blame_shifting" and self._owned_later(end, words, later):
                    continue
                out.append(Cue(name, " ".join(words[start:end])))
                break  # one cue per lexicon per sentence is enough
        return out

    def _owned_later(self, end: int, words: tuple[str, ...], later: list[Sentence]) -> bool:
        unless = self.pack.blame_unless
        if any(u.start >= end - 1 for u in unless.find(words)):
            return True
        return any(unless.find(s.words) for s in later)
