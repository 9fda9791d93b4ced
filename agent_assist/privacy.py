"""Scrub personal data from text before it is stored or sent (sans-I/O, stdlib only).

Speech recognisers spell numbers as words ("four one one one", "double five",
"oh", "plus sixty three"), so numbers are found in *spoken* as well as written
form: runs of digits (with the dashes, dots, brackets and extensions people
write in phone numbers), digit words, "double"/"triple", teens and tens ("twenty
one"), and "hundred" are read together into one digit string, then judged.
Quantities said with "thousand" or "million" ("four thousand nine hundred and
nineteen dollars") are read as the number they name, not as digits.

=========================  ===================================================
card                       13-19 digits passing the Luhn check
ssn                        9 digits (US Social Security number)
phone                      7, 10 or 11 digits (a leading 1 or a trunk 0), or
                           "+"/"plus"/"00" and 8-15 digits; 8 digits after a
                           word like "phone" or "call"; an extension goes too
account                    5+ digits (or letters and digits) after "account",
                           "acct", "iban"...; IBAN/BBAN-shaped codes anywhere
id                         national ids by shape (PAN) or after their name
                           ("aadhaar", "sss", "umid", "pan", "passport")
dob                        a date after "date of birth", "born on", "DOB"...
number                     any other run of 12 or more digits: an ASR that
                           drops one digit of a card must not leak the rest
email                      written (a@b.com) or spoken ("a dot b at gmail dot com")
=========================  ===================================================

A run right after a reference word ("order", "ticket", "case", "invoice",
"article"...) is a reference, not a phone number or an SSN, so it stays
readable (12+ digits are still scrubbed). Each match is replaced by ``[kind]``;
everything else is left exactly as it was. We prefer scrubbing a harmless
number to leaking a real one. ``bench/pii.py`` measures recall on generated
personal data in three locales, written and spoken, and how many harmless
numbers are scrubbed.
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
_EXTENSION = {"x", "ext", "extension"}
_MAGNITUDES = {"thousand": 1000, "million": 1000000}
_REFERENCE_WORDS = {
    "order", "ticket", "case", "reference", "ref", "invoice", "article", "tracking",
    "confirmation", "transaction", "claim", "incident", "kb", "item", "model", "flight",
}  # fmt: skip
_ACCOUNT_WORDS = {"account", "acct", "a/c", "iban", "bban", "routing", "ifsc"}
_ID_WORDS = {
    "id",
    "aadhaar",
    "aadhar",
    "pan",
    "sss",
    "umid",
    "passport",
    "tin",
    "gsis",
    "philhealth",
}
_SSN_WORDS = {"ssn", "social", "security", "n"}  # "s s n" is spelled: its last word is "n"
_CUE_FILLERS = {"number", "no", "#", "num", "id", "is", "it's", "was", "code", "my", "the"}
_PHONE_WORDS = {
    "phone", "mobile", "cell", "landline", "telephone", "tel", "call", "reach", "contact",
    "text", "whatsapp", "viber",
}  # fmt: skip
_DOB_CUES = (
    ("date", "of", "birth"), ("birth", "date"), ("birthdate",), ("birthday",), ("dob",),
    ("d", "o", "b"), ("d.o.b",), ("born", "on"), ("born", "in"), ("born",),
)  # fmt: skip
_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
}  # fmt: skip
_ORDINAL = re.compile(
    r"(\d{1,2}(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
    r"|nineteenth|twentieth|thirtieth|(twenty|thirty)-?(first|second|third|fourth|fifth|sixth"
    r"|seventh|eighth|ninth))"
)
_DATE_FILLERS = {"the", "of", "and", "is", "was", "on", "in", "it's", "its", ":", "-"}
_WRITTEN_DATE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}")
_TLDS = {
    "com", "net", "org", "edu", "gov", "io", "co", "uk", "in", "ph", "info", "biz",
    "me", "us", "ca", "au", "de", "fr", "mx", "br", "za", "ie", "nz", "sg",
}  # fmt: skip
_MAIL_HOSTS = {"gmail", "yahoo", "hotmail", "outlook", "icloud", "aol", "protonmail", "live"}
_MAIL_CUES = {"email", "e-mail", "mail", "address"}
_NOT_A_USER = {"is", "it's", "its", "my", "me", "to", "the", "at", "email", "e-mail", "mail"}
_WRITTEN_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "(591)341-7776", "206.269.0743x9150", "+1-780-563-6083", "8123-4567", "(02)"
_WRITTEN_DIGITS = re.compile(r"\+?\(?\d[\d().\-]*?(?:(?:x|ext\.?)(?P<ext>\d+))?")
_DECIMAL = re.compile(r"\d+\.\d+")
_IBAN = re.compile(r"[a-z]{2}\d{2}[a-z0-9]{11,30}|[a-z]{2,4}\d{10,30}")
_PAN = re.compile(r"[a-z]{5}\d{4}[a-z]")
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
        word, lead = raw.strip(_STRIP), len(raw) - len(raw.lstrip(_STRIP))
        if raw.startswith("(") and re.fullmatch(r"\(\d+\)[\d.\-]*\d", raw.rstrip(_STRIP)):
            word, lead = raw.rstrip(_STRIP), 0  # "(591)341-7776": the bracket belongs to it
        if not word:
            continue
        out.append(_Token(word.lower(), m.start() + lead, m.start() + lead + len(word)))
    return out


def _written_digits(word: str) -> tuple[str, bool] | None:
    """(digits, has an extension) of a written number token, or None if it is not one."""
    m = None if _DECIMAL.fullmatch(word) else _WRITTEN_DIGITS.fullmatch(word)
    if m is None:
        return None
    body = word[: m.start("ext")] if m.group("ext") else word
    return re.sub(r"\D", "", re.sub(r"(x|ext\.?)$", "", body)), m.group("ext") is not None


@dataclass
class _Run:
    digits: str
    plus: bool
    first: int  # token indexes, inclusive
    last: int
    cardinal: bool  # a quantity said with thousand/million, not a digit string


def _number_runs(tokens: list[_Token]) -> Iterator[_Run]:
    """Each numeric run: written digits, digit words and their joiners, read as one string."""
    i = 0
    while i < len(tokens):
        run = _read_run(tokens, i)
        if run is None:
            i += 1
            continue
        yield run
        i = run.last + 1


def _read_run(tokens: list[_Token], i: int) -> _Run | None:
    digits, plus, last, value, cardinal = "", False, -1, 0, False
    j = i
    if tokens[j].word == "plus" and j + 1 < len(tokens) and _starts_number(tokens[j + 1].word):
        plus, j = True, j + 1
    while j < len(tokens):
        word = tokens[j].word
        nxt = tokens[j + 1].word if j + 1 < len(tokens) else ""
        written = _written_digits(word)
        if written is not None:
            plus = plus or (word.startswith("+") and not digits)
            digits += written[0]
            last = j
            if written[1]:  # "...x730": the extension ends the number
                break
        elif (spoken := _spoken_digits(word, nxt)) is not None:
            digits += spoken[0]
            j += spoken[1]
        elif word == "hundred" and digits:
            digits += "00"
        elif word in _MAGNITUDES and digits:
            cardinal = True  # a quantity: "four thousand nine hundred and nineteen"
            value += int(_cardinal(digits)) * _MAGNITUDES[word]
            digits = ""
        elif word == "and" and cardinal and _starts_number(nxt):
            pass
        elif word in _JOINERS and digits and j + 1 < len(tokens) and _starts_number(nxt):
            pass  # "five five five dash one two ..." keeps the run together
        elif word in _EXTENSION and len(digits) >= 7 and _starts_number(nxt):
            ext = _read_run(tokens, j + 1)  # "... extension seven three oh": part of the number
            if ext is not None:
                last = ext.last
            break
        else:
            break
        last = max(last, j)
        j += 1
    if last < i or not (digits or cardinal):
        return None
    if cardinal:
        digits = str(value + int(_cardinal(digits) or 0))
    return _Run(digits, plus, i, last, cardinal)


def _spoken_digits(word: str, nxt: str) -> tuple[str, int] | None:
    """The digits a spoken ``word`` says (given the word after it) and how many more words it took.

    "seven" -> "7"; "fifteen" -> "15"; "forty" "two" -> "42" (one more word);
    "forty" "oh" -> "40"; "double" "five" -> "55" (one more word); else None.
    """
    if word in _UNITS:
        return _UNITS[word], 0
    if word in _TEENS:
        return _TEENS[word], 0
    if word in _TENS:
        if nxt in _UNITS and _UNITS[nxt] != "0" and nxt not in ("o", "oh"):
            return _TENS[word] + _UNITS[nxt], 1
        return _TENS[word] + "0", 0
    if word in _REPEAT and nxt in _UNITS:
        return _UNITS[nxt] * _REPEAT[word], 1
    return None


def _cardinal(digits: str) -> str:
    """The value of the digits read so far in a quantity ("nine" "00" "19" -> 919)."""
    return str(int(digits)) if digits else "0"


def _starts_number(word: str) -> bool:
    return (
        word in _UNITS
        or word in _TEENS
        or word in _TENS
        or word in _REPEAT
        or _written_digits(word) is not None
    )


def _classify(run: _Run, before: list[str]) -> str | None:
    """The kind of personal data a run is, given up to four words ``before`` it."""
    digits, n = run.digits, len(run.digits)
    if run.cardinal:
        return "number" if n >= 12 else None
    if 13 <= n <= 19 and luhn_valid(digits):
        return "card"
    cue, said_id = "", False
    for word in reversed(before):
        if word in _CUE_FILLERS:
            said_id = said_id or word == "id"
            continue
        cue = word
        break
    if cue in _ACCOUNT_WORDS and n >= 5:
        return "account"
    if (cue in _ID_WORDS or (said_id and cue not in _REFERENCE_WORDS)) and n >= 5:
        return "id"
    if cue in _REFERENCE_WORDS:
        return "number" if n >= 12 else None
    if cue in _SSN_WORDS and 8 <= n <= 10:
        return "ssn"
    if (run.plus or digits.startswith("00")) and 8 <= n <= 15:
        return "phone"
    if n == 9:
        return "ssn"
    if n in (7, 10) or (n == 11 and digits[0] in "10"):
        return "phone"
    if n == 8 and any(w in _PHONE_WORDS for w in before):
        return "phone"
    if n >= 11:  # a card or account with a digit lost or two digits heard as one ("eighty nine")
        return "number"
    return None


def _codes(tokens: list[_Token]) -> Iterator[PiiMatch]:
    """Account numbers and national ids written as letters and digits (IBAN, BBAN, PAN)."""
    for token in tokens:
        if _PAN.fullmatch(token.word):
            yield PiiMatch("id", token.start, token.end)
        elif _IBAN.fullmatch(token.word):
            yield PiiMatch("account", token.start, token.end)


def _spelled_codes(tokens: list[_Token]) -> Iterator[tuple[str, int, int]]:
    """A code spelled out after its name: "pan number a b c d e one two three four f"."""
    words = [t.word for t in tokens]
    for i, word in enumerate(words):
        if word not in _ID_WORDS and word not in _ACCOUNT_WORDS:
            continue
        j = i + 1
        while j < len(words) and words[j] in ("number", "no", "is", "it's", "num", "#"):
            j += 1
        begin, digits = j, 0
        while j < len(words) and (
            (len(words[j]) == 1 and words[j].isalpha()) or _starts_number(words[j])
            or words[j] in _JOINERS or words[j] == "hundred"
        ):  # fmt: skip
            digits += _digit_count(words[j])
            j += 1
        if digits >= 4 and j > begin:
            kind = "account" if word in _ACCOUNT_WORDS else "id"
            yield kind, begin, j - 1


def _digit_count(word: str) -> int:
    """How many digits a spoken or written number word stands for (roughly: "forty" is 2)."""
    if word in _UNITS:
        return 1
    if word in _TEENS or word in _TENS or word in _REPEAT:
        return 2
    return sum(ch.isdigit() for ch in word)


def _dates_of_birth(tokens: list[_Token]) -> Iterator[tuple[int, int]]:
    """Token spans of a date said or written after a cue like "date of birth" or "born on"."""
    words = [t.word for t in tokens]
    i = 0
    while i < len(words):
        cue = next((c for c in _DOB_CUES if tuple(words[i : i + len(c)]) == c), None)
        if cue is None:
            i += 1
            continue
        j = i + len(cue)
        begin, last, seen = j, -1, 0
        while j < len(words) and j - begin < 12:
            word = words[j]
            if (
                word in _MONTHS
                or _ORDINAL.fullmatch(word)
                or _WRITTEN_DATE.fullmatch(word)
                or _starts_number(word)
                or word in ("hundred", "thousand")
            ):
                last, seen = j, seen + 1
            elif word not in _DATE_FILLERS:
                break
            j += 1
        if seen:
            while words[begin] in _DATE_FILLERS:
                begin += 1
            yield begin, last
            i = last + 1
        else:
            i = j


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
        # the user name: word ((dot|underscore|dash) word)*, digits spoken apart
        begin = at - 1
        while begin > 0:
            if begin >= 2 and words[begin - 1] in ("dot", "underscore", "dash"):
                begin -= 2
            elif _digit_count(words[begin]):
                begin -= 1  # "smith four two at", "anna double six at": digits of the name
            else:
                break
        # after "my email is", every word up to "at" is the user name ("castro melissa at ...")
        cue = next(
            (k for k in range(begin - 1, max(-1, begin - 4), -1) if words[k] in _MAIL_CUES), None
        )
        if cue is not None:
            begin = cue + 1
            while begin < at - 1 and words[begin] in _NOT_A_USER:
                begin += 1
        yield begin, end


def find_pii(text: str) -> list[PiiMatch]:
    """Personal data in ``text``, in order of position, without overlaps."""
    found = [PiiMatch("email", m.start(), m.end()) for m in _WRITTEN_EMAIL.finditer(text)]
    tokens = _tokens(text)
    words = [t.word for t in tokens]
    for begin, end in _spoken_emails(tokens):
        found.append(PiiMatch("email", tokens[begin].start, tokens[end].end))
    for begin, end in _dates_of_birth(tokens):
        found.append(PiiMatch("dob", tokens[begin].start, tokens[end].end))
    found.extend(_codes(tokens))
    for code, begin, end in _spelled_codes(tokens):
        found.append(PiiMatch(code, tokens[begin].start, tokens[end].end))
    for run in _number_runs(tokens):
        kind = _classify(run, words[max(0, run.first - 4) : run.first])
        if kind is not None:
            start, end = tokens[run.first].start, tokens[run.last].end
            if start > 0 and text[start - 1] == "(":  # "(555) 123-4567": the bracket too
                start -= 1
            found.append(PiiMatch(kind, start, end))
    found.sort(key=lambda m: (m.start, -m.end))
    merged: list[PiiMatch] = []
    for match in found:
        if merged and match.start < merged[-1].end:
            if match.end > merged[-1].end:  # overlapping: one span covers both
                merged[-1] = PiiMatch(merged[-1].kind, merged[-1].start, match.end)
            continue
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
