"""Phrase patterns matched on recognised words, with the tolerance real speech needs.

Text and patterns go through the same :func:`normalize`: lower case, no
punctuation, contractions expanded ("that's" -> "that is", "can't" -> "can not"),
so a pack author writes one form and every spelling matches.

Pattern syntax (see the built-in pack): words; ``{a|b c|}`` alternatives (an
empty one makes the slot optional); ``*`` any one word; ``^``/``$`` anchors.
Between the words of a phrase up to two *filler* words ("um", "really",
"you know") may stand, so "that's not really my department" matches
"not my department". Patterns are compiled to slots and matched by
backtracking, indexed by their possible first words, so a pack of hundreds of
phrases checks an utterance in well under a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent_assist.errors import PhraseSyntaxError

__all__ = ["Match", "Phrase", "PhraseSet", "PhraseSyntaxError", "normalize"]

_CONTRACTIONS = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not",
    "ain't": "is not", "let's": "let us", "y'all": "you all",
}  # fmt: skip
_SUFFIXES = (("n't", " not"), ("'ll", " will"), ("'re", " are"), ("'ve", " have"),
             ("'m", " am"), ("'d", " would"), ("'s", " is"))  # fmt: skip
_WORD = re.compile(r"[\w\[\]]+(?:'\w+)?")  # Unicode letters: packs exist for every language
_MAX_FILLERS = 2


def normalize(text: str) -> list[str]:
    """Words of ``text``: lower case, punctuation dropped, contractions expanded."""
    words: list[str] = []
    for raw in _WORD.findall(text.lower().replace("’", "'")):
        if raw in _CONTRACTIONS:
            words.extend(_CONTRACTIONS[raw].split())
            continue
        for suffix, full in _SUFFIXES:
            if raw.endswith(suffix) and len(raw) > len(suffix):
                words.extend((raw[: -len(suffix)] + full).split())
                break
        else:
            words.append(raw.replace("'", ""))
    return words


Slot = tuple[tuple[str, ...], ...]  # alternatives, each a word sequence ("*" = any word)


@dataclass(frozen=True, slots=True)
class Phrase:
    """One compiled pattern. ``source`` is the text it was written as."""

    source: str
    slots: tuple[Slot, ...]
    anchored_start: bool
    anchored_end: bool

    @classmethod
    def compile(cls, source: str) -> Phrase:
        """Compile one pattern (syntax in the module docstring); raises PhraseSyntaxError."""
        text = source.strip()
        start, end = text.startswith("^"), text.endswith("$")
        text = text.removeprefix("^").removesuffix("$")
        slots: list[Slot] = []
        for part in re.findall(r"\{[^{}]*\}|[^\s{}]+|[{}]", text):
            if part in ("{", "}"):
                raise PhraseSyntaxError(f"unbalanced braces in {source!r}")
            if part.startswith("{"):
                alternatives = tuple(
                    tuple(w for w in _pattern_words(alt)) for alt in part[1:-1].split("|")
                )
                slots.append(alternatives)
            else:
                slots.extend(((w,),) for w in _pattern_words(part))
        if not slots or all(() in slot for slot in slots):
            raise PhraseSyntaxError(f"{source!r} can match nothing at all")
        return cls(source, tuple(slots), start, end)

    def first_words(self) -> set[str] | None:
        """Words a match can start with, or None if it may start with any word."""
        firsts: set[str] = set()
        for slot in self.slots:
            for alternative in slot:
                if alternative:
                    if alternative[0] == "*":
                        return None
                    firsts.add(alternative[0])
            if () not in slot:
                return firsts
        return firsts


def _pattern_words(text: str) -> list[str]:
    return [w for w in (["*"] if text.strip() == "*" else normalize(text))] if text.strip() else []


@dataclass(frozen=True, slots=True)
class Match:
    """A phrase found in a word list: words[start:end] (end exclusive)."""

    phrase: Phrase
    start: int
    end: int


class PhraseSet:
    """A set of phrases matched together; ``fillers`` may stand between a phrase's words."""

    def __init__(self, patterns: Iterable[str], *, fillers: Sequence[tuple[str, ...]] = ()) -> None:
        self.phrases = [Phrase.compile(p) for p in patterns]
        self._fillers = sorted(set(fillers), key=len, reverse=True)
        self._by_first: dict[str, list[Phrase]] = {}
        self._anywhere: list[Phrase] = []
        for phrase in self.phrases:
            firsts = phrase.first_words()
            if firsts is None:
                self._anywhere.append(phrase)
            for word in firsts or ():
                self._by_first.setdefault(word, []).append(phrase)

    def find(self, words: Sequence[str], *, open_end: bool = False) -> list[Match]:
        """Every phrase occurrence in ``words`` (leftmost, longest per phrase and start).

        ``open_end``: more words may follow (a partial result), so a phrase
        anchored with ``$`` cannot match yet ("whatever" may become "whatever
        works for you").
        """
        found: list[Match] = []
        for i, word in enumerate(words):
            for phrase in (*self._by_first.get(word, ()), *self._anywhere):
                if (phrase.anchored_start and i != 0) or (phrase.anchored_end and open_end):
                    continue
                end = self._match(phrase, 0, words, i, first=True)
                if end is not None:
                    found.append(Match(phrase, i, end))
        return found

    def _match(
        self, phrase: Phrase, slot: int, words: Sequence[str], pos: int, *, first: bool
    ) -> int | None:
        if slot == len(phrase.slots):
            if phrase.anchored_end and self._skip_fillers(words, pos) != len(words):
                return None
            return pos
        for alternative in sorted(phrase.slots[slot], key=len, reverse=True):
            if not alternative:
                end = self._match(phrase, slot + 1, words, pos, first=first)
            else:
                end = self._words(phrase, slot, alternative, words, pos, first=first)
            if end is not None:
                return end
        return None

    def _words(
        self,
        phrase: Phrase,
        slot: int,
        alternative: tuple[str, ...],
        words: Sequence[str],
        pos: int,
        *,
        first: bool,
    ) -> int | None:
        # try the word right here, then (not before a phrase's first word) after fillers
        for start in [pos] if first else self._filler_skips(words, pos):
            at = start
            for k, expected in enumerate(alternative):
                if k:
                    at = next(
                        (p for p in self._filler_skips(words, at) if _eq(words, p, expected)), -1
                    )
                    if at < 0:
                        break
                elif not _eq(words, at, expected):
                    break
                at += 1
            else:
                end = self._match(phrase, slot + 1, words, at, first=False)
                if end is not None:
                    return end
        return None

    def _filler_skips(self, words: Sequence[str], pos: int) -> list[int]:
        """Positions reachable from ``pos`` by skipping 0..2 fillers."""
        out, at = [pos], pos
        for _ in range(_MAX_FILLERS):
            step = next((len(f) for f in self._fillers if tuple(words[at : at + len(f)]) == f), 0)
            if not step:
                break
            at += step
            out.append(at)
        return out

    def _skip_fillers(self, words: Sequence[str], pos: int) -> int:
        return self._filler_skips(words, pos)[-1]


def _eq(words: Sequence[str], pos: int, expected: str) -> bool:
    return pos < len(words) and (expected == "*" or words[pos] == expected)
