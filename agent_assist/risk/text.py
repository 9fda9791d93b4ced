"""An utterance as sentences of normalised words: where a phrase may match.

A phrase never runs across a sentence boundary. Boundaries are

* sentence punctuation in the text (``.``, ``!``, ``?``, ``;``, ``…``), except a
  full stop after a title ("Mr. Dick") or inside a number ("3.5");
* a pause longer than ``PAUSE_S`` between two timed words (recognisers write no
  punctuation, but a speaker who stops for 0.7 s has ended a thought);
* quotation marks, which also mark their contents as *quoted* (a title, or
  someone else's words, not the agent's own).

Each word keeps whether it was written with a capital in mid-sentence, which
is how a name ("a customer named Dick") is told from a swear word in text that
has case; recognisers write lower case, where context guards do that job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent_assist.events import Utterance, Word
from agent_assist.risk.phrases import normalize

__all__ = ["PAUSE_S", "UNSURE", "Sentence", "sentences"]

PAUSE_S = 0.7  # s of silence between two words of one utterance that ends a sentence
UNSURE = "<unsure>"  # stands for a word the recogniser was not sure of: it never matches

_TOKEN = re.compile(r"[\w\[\]]+(?:'\w+)?|[.!?;…]+|[\"“”«»]")
_TITLES = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "mt", "prof", "sr", "jr", "vs", "eg", "ie", "etc"}
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """Normalised words of one sentence; ``names`` are positions written Capitalised mid-sentence."""

    words: tuple[str, ...]
    names: frozenset[int] = frozenset()
    quoted: bool = False
    closed: bool = True  # ends with a boundary (False: the last sentence of a partial)


class _Builder:
    def __init__(self) -> None:
        self.out: list[Sentence] = []
        self.words: list[str] = []
        self.names: set[int] = set()
        self.quoted = False

    def add(self, raw: str, *, masked: bool = False) -> None:
        parts = normalize(raw)
        if (
            not masked
            and self.words
            and len(parts) == 1
            and raw[:1].isupper()
            and raw[1:].islower()
            and raw != "I"
        ):
            self.names.add(len(self.words))
        self.words.extend([UNSURE] * len(parts) if masked else parts)

    def end(self) -> None:
        if self.words:
            self.out.append(Sentence(tuple(self.words), frozenset(self.names), self.quoted))
        self.words, self.names = [], set()

    def scan(self, text: str, *, masked: bool = False) -> None:
        text = text.replace("’", "'")
        for match in _TOKEN.finditer(text):
            token = match.group()
            if token in '"“”«»':
                self.end()
                self.quoted = not self.quoted
            elif token[0] in ".!?;…":
                after = text[match.end() : match.end() + 1]
                title = token == "." and self.words and self.words[-1] in _TITLES
                if (after == "" or after.isspace() or after in '"“”«»') and not title:
                    self.end()
            else:
                self.add(token, masked=masked)


def sentences(utterance: Utterance, *, min_conf: float = 0.0) -> list[Sentence]:
    """The sentences of ``utterance`` (see the module docstring), in order.

    With timed ``words``, a word whose confidence is below ``min_conf`` becomes
    :data:`UNSURE`. The last sentence of a partial is not ``closed``: more
    words may still come, so a phrase anchored to a sentence end cannot match it.
    """
    builder = _Builder()
    if utterance.words:
        _scan_words(builder, utterance.words, min_conf)
    else:
        builder.scan(utterance.text)
    builder.end()
    out = builder.out
    if out and not utterance.final:
        last = out[-1]
        out[-1] = Sentence(last.words, last.names, last.quoted, closed=False)
    return out


def _scan_words(builder: _Builder, words: Sequence[Word], min_conf: float) -> None:
    previous_end: float | None = None
    for word in words:
        if previous_end is not None and word.start - previous_end > PAUSE_S:
            builder.end()
        builder.scan(word.word, masked=word.conf < min_conf)
        previous_end = word.end
