"""Scrub personal data from text before it is stored or sent (sans-I/O, stdlib only).

Speech recognisers spell numbers as words ("four one one one", "double five",
"oh"), so numbers are found in *spoken* as well as written form: runs of
digits, digit words, "double"/"triple", teens and tens ("twenty one"), and
"hundred"/"thousand" are read together into one digit string, then judged:

=========================  ==========================================
card                       13-19 digits passing the Luhn check
ssn                        9 digits (US Social Security number)
phone                      7, 10 or 11 (leading 1) digits, or "+" and 8-15
number                     any other run of 12 or more digits: an ASR that
                           drops one digit of a card must not leak the rest
email                      written (a@b.com) or spoken ("a dot b at gmail dot com")
=========================  ==========================================

Each is replaced by ``[card]``, ``[ssn]``, ``[phone]``, ``[number]`` or
``[email]``; everything else is left exactly as it was. We prefer scrubbing a
harmless number to leaking a real one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["PiiMatch", "find_pii", "luhn_valid", "scrub"]

_UNITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5",
    "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
_JOINERS = {"dash", "hyphen", "-"}  # read aloud between groups of digits
_TLDS = {
    "com", "net", "org", "edu", "gov", "io", "co", "uk", "in", "ph", "info", "biz",
    "me", "us", "ca", "au", "de", "fr", "mx", "br", "za", "ie", "nz", "sg",
}  # fmt: skip
_MAIL_HOSTS = {"gmail", "yahoo", "hotmail", "outlook", "icloud", "aol", "protonmail", "live"}
_WRITTEN_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_STRIP = "()[]{},.;:!?\"'"


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """Personal data found in a text: ``kind`` and the character span [start, end)."""

    kind: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """True if the digit string passes the Luhn checksum used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class _Token:
    word: str  # lowercased, surrounding punctuation removed
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in re.finditer(r"\S+", text):
        raw = m.group()
        word = raw.strip(_STRIP)
        if not word:
            continue
        lead = len(raw) - len(raw.lstrip(_STRIP))
        out.append(_Token(word.lower(), m.start() + lead, m.start() + lead + len(word)))
    return out


def _number_runs(tokens: list[_Token]) -> Iterator[tuple[str, bool, int, int]]:
    """Yield (digits, has_plus, first token index, last token index) for each numeric run."""
    i = 0
    while i < len(tokens):
        digits, plus, first, last = "", False, i, -1
        j = i
        while j < len(tokens):
            word = tokens[j].word
            nxt = tokens[j + 1].word if j + 1 < len(tokens) else ""
            if re.fullmatch(r"\+?[\d-]*\d[\d-]*", word):
                plus = plus or (word.startswith("+") and not digits)
                digits += re.sub(r"\D", "", word)
            elif word in _UNITS:
                digits += _UNITS[word]
            elif word in _TEENS:
                digits += _TEENS[word]
            elif word in _TENS:
                if nxt in _UNITS and _UNITS[nxt] != "0" and nxt not in ("o", "oh"):
                    digits += _TENS[word] + _UNITS[nxt]
                    j += 1
                else:
                    digits += _TENS[word] + "0"
            elif word in _REPEAT and nxt in _UNITS:
                digits += _UNITS[nxt] * _REPEAT[word]
                j += 1
            elif word in ("hundred", "thousand") and digits:
                digits += "00" if word == "hundred" else "000"
            elif word in _JOINERS and digits and j + 1 < len(tokens):
                pass  # "five five five dash one two ..." keeps the run together
            else:
                break
            last = j
            j += 1
        if last >= first and digits:
            yield digits, plus, first, last
            i = last + 1
        else:
            i += 1


def _classify(digits: str, plus: bool) -> str | None:
    n = len(digits)
    if 13 <= n <= 19 and luhn_valid(digits):
        return "card"
    if plus and 8 <= n <= 15:
        return "phone"
    if n == 9:
        return "ssn"
    if n in (7, 10) or (n == 11 and digits.startswith("1")):
        return "phone"
    if n >= 12:
        return "number"
    return None


def _spoken_emails(tokens: list[_Token]) -> Iterator[tuple[int, int]]:
    """Token spans like "john dot smith at gmail dot com" or "jsmith at yahoo"."""
    words = [t.word for t in tokens]
    for at, word in enumerate(words):
        if word != "at" or at == 0 or at + 1 >= len(words):
            continue
        # the host: name (dot name)* ending in a known TLD, or a well-known mail host
        end = at + 1
        while end + 2 < len(words) and words[end + 1] == "dot":
            end += 2
        has_tld = end > at + 1 and words[end] in _TLDS
        if not has_tld and words[at + 1] not in _MAIL_HOSTS:
            continue
        # the user name: word ((dot|underscore|dash) word)*, trailing digits spoken apart
        begin = at - 1
        while begin > 0:
            if begin >= 2 and words[begin - 1] in ("dot", "underscore", "dash"):
                begin -= 2
            elif words[begin] in _UNITS or words[begin].isdigit():
                begin -= 1
            else:
                break
        yield begin, end


def find_pii(text: str) -> list[PiiMatch]:
    """Personal data in ``text``, in order of position, without overlaps."""
    found = [PiiMatch("email", m.start(), m.end()) for m in _WRITTEN_EMAIL.finditer(text)]
    tokens = _tokens(text)
    for begin, end in _spoken_emails(tokens):
        found.append(PiiMatch("email", tokens[begin].start, tokens[end].end))
    for digits, plus, first, last in _number_runs(tokens):
        kind = _classify(digits, plus)
        if kind is not None:
            start, end = tokens[first].start, tokens[last].end
            if start > 0 and text[start - 1] == "(":  # "(555) 123-4567": take the brackets too
                start -= 1
                end += text[end : end + 1] == ")" and text.count("(", start, end) > text.count(
                    ")", start, end
                )
            found.append(PiiMatch(kind, start, end))
    found.sort(key=lambda m: (m.start, -m.end))
    merged: list[PiiMatch] = []
    for match in found:
        if merged and match.start < merged[-1].end:
            continue  # inside a match already taken (e.g. digits within an email)
        merged.append(match)
    return merged


def scrub(text: str) -> str:
    """``text`` with every piece of personal data replaced by ``[kind]``."""
    out, pos = [], 0
    for match in find_pii(text):
        out.append(text[pos : match.start])
        out.append(f"[{match.kind}]")
        pos = match.end
    out.append(text[pos:])
    return "".join(out)
