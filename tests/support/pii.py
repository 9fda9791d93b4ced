"""Judging PII recall: a sentence with its personal data marked, and whether scrubbing removed it.

Shared by ``bench/pii.py`` (the generated sets) and ``tests/unit/test_pii_sample.py``
(the fixed sample in ``tests/data/pii_sample.jsonl``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_assist.privacy import find_pii

__all__ = ["Case", "caught"]

_DIGIT_WORDS = {
    "zero",
    "oh",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
}
_PAIRS = {
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
    "ninety",
}  # fmt: skip
_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
}  # fmt: skip
_SPOKEN_JOINERS = {"dot", "underscore", "dash"}


@dataclass(frozen=True)
class Case:
    """One sentence; ``text[start:end]`` is the personal data in it (empty for a negative)."""

    kind: str
    locale: str
    form: str  # written | spoken
    text: str
    start: int = 0
    end: int = 0


def caught(case: Case) -> bool:
    """True if scrubbing left nothing of the personal data that could identify anyone.

    What is left is the part of ``text[start:end]`` that no match covers. It may keep
    at most two digits (written, or spoken as digit words) and, for an e-mail, no
    part of the user name; a date of birth keeps neither its month nor its year.
    """
    covered = [False] * len(case.text)
    for match in find_pii(case.text):
        for i in range(match.start, match.end):
            covered[i] = True
    left = "".join(ch if not covered[i] else " " for i, ch in enumerate(case.text))[
        case.start : case.end
    ]
    words = re.findall(r"[a-z]+|\d", left.lower())
    digits = sum(w.isdigit() or w in _DIGIT_WORDS for w in words)
    digits += sum(2 for w in words if w in _PAIRS)
    if case.kind == "email":
        user = case.text[case.start : case.end].lower().replace(" dot ", ".").split(" at ")[0]
        user = user.split("@")[0]
        names = [p for p in re.split(r"[^a-z]+", user) if len(p) > 2 and p not in _SPOKEN_JOINERS]
        return not any(re.search(rf"\b{p}\b", left.lower()) for p in names) and digits <= 2
    if case.kind == "dob":
        return not any(w in _MONTHS for w in words) and digits <= 2
    return digits <= 2
