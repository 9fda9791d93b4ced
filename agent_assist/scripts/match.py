"""Recognising script steps in what the agent said, with the tolerance real speech needs.

Recognisers drop and substitute words, so a step is heard when, in one final
utterance of the agent:

* **phrase**: one of its example phrasings matches as the rule packs match
  (:class:`~agent_assist.risk.phrases.PhraseSet`: alternatives, ``*``, fillers);
* **approximate**: an example is there with a word dropped, substituted or
  added (one for 4 to 8 literal words, two from 9; shorter examples must match
  whole, or "my name is" would be everyone's greeting);
* **similar**: the utterance means the same as an example: the cosine of their
  embeddings (the injected ``embed``, e.g. the knowledge cache's sentence
  model) reaches the pack's ``similarity``; without ``embed`` this is skipped,
  and a step that meaning cannot judge (a greeting that must carry the agent's
  name: "have a great day" reads much like it) says ``by_meaning = false``;
* **exact** (compliance wording): the exact form is there with at most one word
  in seven wrong, and *every* key word was heard, with confidence. Meaning is
  never enough for an exact step.

Words the recogniser was unsure of (confidence under ``MIN_CONF``) never count
as heard: a step wrongly ticked is worse than one left open.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from agent_assist.events import Utterance
from agent_assist.risk.phrases import Phrase, PhraseSet, normalize
from agent_assist.scripts.pack import ScriptPack, Step

__all__ = ["MIN_CONF", "Embed", "Heard", "How", "Recogniser", "heard_words"]

Embed: TypeAlias = Callable[[str], Sequence[float]]
How: TypeAlias = Literal["phrase", "approximate", "similar", "exact"]
MIN_CONF = 0.5
_UNSURE = "<unsure>"
_VARIANTS = 64  # expansions of one example phrasing tried approximately
_EMBEDDED = 2  # expansions of one example phrasing embedded for similarity
_MIN_SIMILAR_WORDS = 3  # utterances shorter than this are never judged by meaning


@dataclass(frozen=True, slots=True)
class Heard:
    """A step recognised in an utterance, and how."""

    step: str
    how: How
    score: float = 1.0  # cosine for "similar"


def heard_words(utterance: Utterance) -> list[str]:
    """The utterance's normalised words; words heard with low confidence are masked."""
    if not utterance.words:
        return normalize(utterance.text)
    out: list[str] = []
    for word in utterance.words:
        parts = normalize(word.word)
        out.extend(parts if word.conf >= MIN_CONF else [_UNSURE] * len(parts))
    return out


def _expand(phrase: Phrase, limit: int) -> list[tuple[str, ...]]:
    """Word sequences ``phrase`` stands for (``*`` kept as a wildcard), at most ``limit``."""
    choices = [sorted(slot, key=len, reverse=True) for slot in phrase.slots]
    out: list[tuple[str, ...]] = []
    for combination in itertools.islice(itertools.product(*choices), limit):
        words = tuple(w for alternative in combination for w in alternative)
        if words and words not in out:
            out.append(words)
    return out


def _allowed_errors(pattern: Sequence[str]) -> int:
    literal = sum(w != "*" for w in pattern)
    return 0 if literal < 4 else 1 if literal < 9 else 2


def _distance(pattern: Sequence[str], words: Sequence[str], fillers: frozenset[str]) -> int:
    """Fewest word edits that make ``pattern`` appear somewhere in ``words`` (``*`` = any word;
    a filler word inside the match is free)."""
    previous = [0] * (len(words) + 1)  # the match may start anywhere
    for i, expected in enumerate(pattern, start=1):
        current = [i] + [0] * len(words)
        for j, word in enumerate(words, start=1):
            same = expected == "*" or (word == expected and word != _UNSURE)
            current[j] = min(
                previous[j - 1] + (0 if same else 1),  # matched or substituted
                previous[j] + 1,  # the pattern's word was dropped
                current[j - 1] + (0 if word in fillers else 1),  # a word was added
            )
        previous = current
    return min(previous)


class _StepMatcher:
    def __init__(self, step: Step, fillers: Sequence[tuple[str, ...]]) -> None:
        self.step = step
        self.phrases = PhraseSet(step.phrases, fillers=fillers)
        variants = [_expand(p, _VARIANTS) for p in self.phrases.phrases]
        # shortest first: a short example is the cheapest proof and the least likely to drift
        self.variants = sorted((v for vs in variants for v in vs if _allowed_errors(v)), key=len)
        self.examples = (
            [" ".join(w for w in v if w != "*") for vs in variants for v in vs[:_EMBEDDED]]
            if step.by_meaning
            else []
        )
        self.exact = tuple(normalize(step.exact)) if step.exact else ()

    def literal(self, words: list[str], fillers: frozenset[str]) -> How | None:
        if self.exact:
            allowed = max(1, len(self.exact) // 7)
            heard = set(words)
            if all(k in heard for k in self.step.key_words) and (
                _distance(self.exact, words, fillers) <= allowed
            ):
                return "exact"
            return None
        if self.phrases.find(words):
            return "phrase"
        heard = set(words)
        for variant in self.variants:
            allowed = _allowed_errors(variant)
            present = sum(w in heard for w in variant if w != "*")
            if present < sum(w != "*" for w in variant) - allowed:
                continue  # cheap test first: too many of its words are not there at all
            if _distance(variant, words, fillers) <= allowed:
                return "approximate"
        return None


class Recogniser:
    """Recognises a pack's steps; ``embed`` (keyword-only) adds recognition by meaning.

    The examples' embeddings are computed on first need and kept. If ``embed``
    fails, recognition by meaning is switched off and :attr:`embed_error` says why.
    """

    def __init__(self, pack: ScriptPack, *, embed: Embed | None = None) -> None:
        self.pack = pack
        self._fillers = frozenset(f[0] for f in pack.fillers if len(f) == 1)
        self._matchers = {
            step_id: _StepMatcher(step, pack.fillers) for step_id, step in pack.steps.items()
        }
        self._embed = embed
        self._examples: dict[str, list[tuple[float, ...]]] | None = None
        self.embed_error: str | None = None

    def prepare(self) -> None:
        """Embed the examples now (loading the model), not at the first utterance."""
        self._example_vectors()

    def recognise(self, words: list[str], text: str, steps: Iterable[str]) -> list[Heard]:
        """The steps among ``steps`` heard in one utterance (``words`` from :func:`heard_words`)."""
        found: list[Heard] = []
        by_meaning: list[str] = []
        for step_id in steps:
            matcher = self._matchers[step_id]
            how = matcher.literal(words, self._fillers)
            if how is not None:
                found.append(Heard(step_id, how))
            elif not matcher.exact and matcher.examples:
                by_meaning.append(step_id)
        if by_meaning and self._embed is not None and len(words) >= _MIN_SIMILAR_WORDS:
            found += self._similar(text, by_meaning)
        return found

    def _similar(self, text: str, steps: list[str]) -> list[Heard]:
        examples = self._example_vectors()
        vector = self._vector(text) if examples else None
        if vector is None or examples is None:
            return []
        found = []
        for step_id in steps:
            best = max((_cosine(vector, e) for e in examples[step_id]), default=0.0)
            if best >= self.pack.similarity:
                found.append(Heard(step_id, "similar", round(best, 3)))
        return found

    def _example_vectors(self) -> dict[str, list[tuple[float, ...]]] | None:
        if self._examples is None and self._embed is not None:
            examples: dict[str, list[tuple[float, ...]]] = {}
            for step_id, matcher in self._matchers.items():
                examples[step_id] = []
                for text in matcher.examples:
                    vector = self._vector(text)
                    if vector is None:
                        return None
                    examples[step_id].append(vector)
            self._examples = examples
        return self._examples

    def _vector(self, text: str) -> tuple[float, ...] | None:
        if self._embed is None:
            return None
        try:
            vector = [float(x) for x in self._embed(text)]
        except Exception as exc:  # an adapter's failure must not stop the call: phrases go on
            self.embed_error = f"recognising script steps by meaning is off ({exc})"
            self._embed = None
            return None
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return tuple(x / norm for x in vector)  # unit length: the cosine is a dot product


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False))
