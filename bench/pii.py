"""PII recall, measured: personal data as it is written and as a recogniser spells it.

    .venv/bin/python bench/pii.py                  # the table (Faker, seed 2026: never tuned on)
    .venv/bin/python bench/pii.py --seed 7         # the development seed the rules were tuned on
    .venv/bin/python bench/pii.py --write-sample tests/data/pii_sample.jsonl

Personal data comes from Faker (a maintained generator) in its ``en_US``,
``en_IN`` and ``en_PH`` locales: card numbers (Luhn-valid, and with one digit
misheard), phone numbers in each locale's formats, e-mail addresses, SSNs,
dates of birth, bank account numbers and national ids (Aadhaar, PAN, SSS,
UMID). Each is put in a sentence an agent or customer would say, once as
written (chat, notes) and once spoken the way Vosk writes it ("four one one
one", "double five", "oh", "plus sixty three", "dot", "at"). Negatives are
numbers that are not personal data (amounts, dates, times, order and article
numbers, last four digits, quantities) and must stay readable.

A positive counts as caught when no digit of it (and, for e-mail, no part of the
user name) survives scrubbing; a negative counts as scrubbed when ``scrub``
changes its text at all. Targets (issue 18): recall >= 0.99, <= 2 % of
negatives scrubbed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_assist.privacy import luhn_valid, scrub
from tests.support.pii import Case, caught

LOCALES = ("en_US", "en_IN", "en_PH")
_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
    "twenty-first",
    "twenty-second",
    "twenty-third",
    "twenty-fourth",
    "twenty-fifth",
    "twenty-sixth",
    "twenty-seventh",
    "twenty-eighth",
    "twenty-ninth",
    "thirtieth",
    "thirty-first",
]


def _case(kind: str, locale: str, form: str, frame: str, said: str) -> Case:
    head = frame.split("{}")[0]
    text = frame.format(said)
    return Case(kind, locale, form, text, len(head), len(head) + len(said))


# -- speaking numbers and text the way a recogniser writes them -----------------------


def _two_digits(n: int) -> str:
    if n < 10:
        return _DIGIT_WORDS[n]
    if n < 20:
        return _TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return _TENS[tens] + ("" if unit == 0 else " " + _DIGIT_WORDS[unit])


def speak_digits(digits: str, rng: random.Random) -> str:
    """Digits as people read them out: one by one, "oh", "double"/"triple", or in pairs."""
    words: list[str] = []
    i = 0
    while i < len(digits):
        d = digits[i]
        run = len(digits[i:]) - len(digits[i:].lstrip(d))
        style = rng.random()
        if run >= 3 and style < 0.3:
            words.append("triple " + _DIGIT_WORDS[int(d)])
            i += 3
        elif run >= 2 and style < 0.5:
            words.append("double " + _DIGIT_WORDS[int(d)])
            i += 2
        elif i + 1 < len(digits) and d != "0" and style > 0.85:
            words.append(_two_digits(int(digits[i : i + 2])))
            i += 2
        else:
            words.append("oh" if d == "0" and rng.random() < 0.4 else _DIGIT_WORDS[int(d)])
            i += 1
    return " ".join(words)


def speak_number_text(text: str, rng: random.Random) -> str:
    """A written number with separators ("+1-780-563-6083x7783") spoken, groups kept apart."""
    out: list[str] = []
    for piece in re.findall(r"\+|x\d+|\d+|[A-Za-z]+", text):
        if piece == "+":
            out.append("plus")
        elif piece.startswith("x") and piece[1:].isdigit():
            out.append("extension " + speak_digits(piece[1:], rng))
        elif piece.isdigit():
            out.append(speak_digits(piece, rng))
        else:
            out.append(" ".join(piece.lower()))  # letters are spelled
    return " ".join(out)


def speak_email(address: str, rng: random.Random) -> str:
    user, host = address.split("@")
    spoken_user = re.sub(r"\d+", lambda m: " " + speak_digits(m.group(), rng) + " ", user)
    spoken_user = spoken_user.replace(".", " dot ").replace("_", " underscore ")
    spoken_user = spoken_user.replace("-", " dash ")
    return " ".join(f"{spoken_user} at {host.replace('.', ' dot ')}".split())


def speak_year(year: int) -> str:
    if 2000 <= year < 2010:
        return "two thousand" + ("" if year == 2000 else " and " + _DIGIT_WORDS[year - 2000])
    hi, lo = divmod(year, 100)
    return (
        _two_digits(hi)
        + " "
        + ("hundred" if lo == 0 else ("oh " if lo < 10 else "") + _two_digits(lo))
    )


# -- the sets -------------------------------------------------------------------------


def _mishear(digits: str, rng: random.Random) -> str:
    """One digit changed so the Luhn check fails (what a recogniser's one mistake does)."""
    while True:
        i = rng.randrange(len(digits))
        wrong = digits[:i] + str((int(digits[i]) + rng.randrange(1, 10)) % 10) + digits[i + 1 :]
        if not luhn_valid(wrong):
            return wrong


def _grouped(digits: str) -> str:
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _phones(fake: object, locale: str) -> str:
    if locale == "en_PH":
        return str(fake.mobile_number() if random.random() < 0.6 else fake.landline_number())  # type: ignore[attr-defined]
    return str(fake.phone_number())  # type: ignore[attr-defined]


def positives(locale: str, rng: random.Random, n: int) -> Iterator[Case]:
    """``n`` cases per kind for one locale, each written and spoken."""
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(rng.randrange(2**31))
    random.seed(rng.randrange(2**31))  # _phones' mobile/landline choice
    makers: dict[str, Callable[[], tuple[str, str, str]]] = {}

    def card() -> tuple[str, str, str]:
        digits = str(fake.credit_card_number())
        if rng.random() < 0.3:
            digits = _mishear(digits, rng)
        written = _grouped(digits) if rng.random() < 0.5 else digits
        frame = rng.choice(["my card number is {}", "the card is {} thanks", "it's {}"])
        return frame, written, digits

    def phone() -> tuple[str, str, str]:
        written = _phones(fake, locale)
        frame = rng.choice(
            ["you can reach me on {}", "my number is {}", "call me back at {} please", "it's {}"]
        )
        return frame, written, written

    def email() -> tuple[str, str, str]:
        address = str(fake.free_email() if rng.random() < 0.5 else fake.email())
        frame = rng.choice(["my email is {}", "send it to {} please", "it's {}"])
        return frame, address, address

    def dob() -> tuple[str, str, str]:
        born = fake.date_of_birth(minimum_age=18, maximum_age=90)
        written = rng.choice(
            [born.isoformat(), born.strftime("%m/%d/%Y"), born.strftime("%B %d, %Y"),
             born.strftime("%d %B %Y")]
        )  # fmt: skip
        frame = rng.choice(
            ["my date of birth is {}", "I was born on {}", "DOB {}", "birthday {} right"]
        )
        return frame, written, born.isoformat()

    def account() -> tuple[str, str, str]:
        if rng.random() < 0.5:
            value = str(fake.bban())
        else:
            value = "".join(str(rng.randrange(10)) for _ in range(rng.randint(8, 12)))
        frame = rng.choice(["my account number is {}", "account {} please", "the acct is {}"])
        return frame, value, value

    makers.update(card=card, phone=phone, email=email, dob=dob, account=account)
    if locale == "en_US":

        def ssn() -> tuple[str, str, str]:
            value = str(fake.ssn())
            return rng.choice(["my social is {}", "ssn {}", "it's {}"]), value, value

        makers["ssn"] = ssn
    elif locale == "en_IN":

        def national_id() -> tuple[str, str, str]:
            value = str(fake.aadhaar_id() if rng.random() < 0.5 else fake.pan())
            return rng.choice(["my aadhaar is {}", "pan number {}", "id {}"]), value, value

        makers["national_id"] = national_id
    else:

        def national_id() -> tuple[str, str, str]:
            value = str(fake.sss() if rng.random() < 0.5 else fake.umid())
            return rng.choice(["my sss number is {}", "umid {}", "id {}"]), value, value

        makers["national_id"] = national_id
    for kind, make in makers.items():
        for _ in range(n):
            frame, written, secret = make()
            yield _case(kind, locale, "written", frame, written)
            spoken_frame = frame.lower().replace("ssn", "s s n").replace("dob", "d o b")
            yield _case(kind, locale, "spoken", spoken_frame, _speak(kind, written, secret, rng))


def _speak(kind: str, written: str, secret: str, rng: random.Random) -> str:
    if kind == "email":
        said = speak_email(written, rng)
    elif kind == "dob":
        year, month, day = (int(p) for p in secret.split("-"))
        said = rng.choice(
            [f"{_MONTHS[month - 1]} {_ORDINALS[day - 1]} {speak_year(year)}",
             f"the {_ORDINALS[day - 1]} of {_MONTHS[month - 1]} {speak_year(year)}"]
        )  # fmt: skip
    else:
        said = speak_number_text(written, rng)
    return said


def negatives(locale: str, rng: random.Random, n: int) -> Iterator[Case]:
    """Numbers that are not personal data, written and spoken."""
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(rng.randrange(2**31))
    for _ in range(n):
        amount = rng.choice([rng.randrange(1, 100), rng.randrange(100, 5000)])
        cents = rng.randrange(100)
        day = fake.date_between(start_date="-2y", end_date="+1y")
        hour, minute = rng.randrange(1, 13), rng.choice([0, 15, 30, 45])
        order = rng.randrange(10000, 999999)
        article = f"KB{rng.randrange(10**7):07d}"
        last4 = f"{rng.randrange(10**4):04d}"
        written = [
            ("amount", f"the fee is ${amount}.{cents:02d}"),
            ("amount", f"you were charged {amount * 10:,} rupees"),
            ("date", f"your statement date is {day.strftime('%m/%d/%Y')}"),
            ("date", f"the payment is due on {day.strftime('%B %d')}"),
            ("time", f"we open at {hour}:{minute:02d}"),
            ("order", f"your order {order} shipped"),
            ("article", f"see article {article}"),
            ("last4", f"the card ending in {last4}"),
            ("quantity", f"it takes {rng.randrange(2, 15)} business days"),
            ("reference", f"your ticket number is {rng.randrange(10**6, 10**7)}"),
            ("reference", f"case {rng.randrange(10**8, 10**9)} is open"),
            ("amount", f"I paid ${amount * 3:,}.{cents:02d} on {day.strftime('%d/%m/%Y')}"),
            ("percent", f"the rate is {rng.randrange(1, 30)}.{rng.randrange(10)}%"),
            (
                "version",
                f"update the app to {rng.randrange(1, 9)}.{rng.randrange(20)}.{rng.randrange(9)}",
            ),
            ("time", f"between {hour}:{minute:02d} and {hour + 1}:{minute:02d}"),
        ]
        spoken = [
            ("amount", f"the fee is {_spoken_amount(amount)} dollars"),
            ("date", f"it was posted on {_MONTHS[day.month - 1]} {_ORDINALS[day.day - 1]}"),
            (
                "time",
                f"we open at {_two_digits(hour)} {_two_digits(minute) if minute else 'o clock'}",
            ),
            ("order", f"your order number is {speak_digits(str(order), rng)}"),
            ("last4", f"the card ending in {speak_digits(last4, rng)}"),
            ("year", f"since {speak_year(day.year)}"),
            (
                "reference",
                f"your reference number is {speak_digits(str(rng.randrange(10**6, 10**7)), rng)}",
            ),
            (
                "amount",
                f"that is {_spoken_amount(min(amount * 3, 9999))} rupees and {_two_digits(cents)} paise",
            ),
            (
                "quantity",
                f"{_two_digits(rng.randrange(2, 30))} days or {_two_digits(rng.randrange(2, 12))} weeks",
            ),
            (
                "date",
                f"on the {_ORDINALS[day.day - 1]} of {_MONTHS[day.month - 1]} {speak_year(day.year)}",
            ),
        ]
        for kind, text in written:
            yield Case(kind, locale, "written", text)
        for kind, text in spoken:
            yield Case(kind, locale, "spoken", text)


def _spoken_amount(n: int) -> str:
    if n < 100:
        return _two_digits(n)
    hundreds, rest = divmod(n, 100)
    if hundreds >= 10:
        thousands, hundreds = divmod(hundreds, 10)
        head = f"{_DIGIT_WORDS[thousands]} thousand" + (
            f" {_DIGIT_WORDS[hundreds]} hundred" if hundreds else ""
        )
    else:
        head = f"{_DIGIT_WORDS[hundreds]} hundred"
    return head + (f" and {_two_digits(rest)}" if rest else "")


# -- judging --------------------------------------------------------------------------


def build(seed: int, n: int) -> tuple[list[Case], list[Case]]:
    rng = random.Random(seed)
    pos = [c for loc in LOCALES for c in positives(loc, rng, n)]
    neg = [c for loc in LOCALES for c in negatives(loc, rng, n)]
    return pos, neg


def report(pos: list[Case], neg: list[Case]) -> None:
    table: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for case in pos:
        cell = table[(case.kind, case.locale, case.form)]
        cell[0] += caught(case)
        cell[1] += 1
    print(f"{'kind':12} {'locale':6} {'written':>9} {'spoken':>9}")
    for kind, locale in sorted({(k, loc) for k, loc, _ in table}):
        w, s = table[(kind, locale, "written")], table[(kind, locale, "spoken")]
        print(f"{kind:12} {locale:6} {w[0] / w[1]:9.3f} {s[0] / s[1]:9.3f}")
    total = sum(caught(c) for c in pos)
    print(f"recall: {total}/{len(pos)} = {total / len(pos):.4f}  (target >= 0.99)")
    scrubbed = [c for c in neg if scrub(c.text) != c.text]
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in neg:
        by_kind[case.kind][0] += scrub(case.text) != case.text
        by_kind[case.kind][1] += 1
    print(
        "negatives scrubbed: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(by_kind.items()))
    )
    print(
        f"negatives scrubbed: {len(scrubbed)}/{len(neg)} = {len(scrubbed) / len(neg):.4f}  (target <= 0.02)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seed", type=int, default=2026, help="2026 is held out; 7 is for development"
    )
    parser.add_argument("-n", type=int, default=200, help="cases per kind, locale and form")
    parser.add_argument("--misses", type=int, default=0, help="print this many missed cases")
    parser.add_argument(
        "--write-sample", type=Path, help="write a small fixed sample (JSON Lines) for the tests"
    )
    args = parser.parse_args()
    logging.getLogger("faker").setLevel(logging.ERROR)  # en_PH bban() warns on every call
    if args.write_sample:
        pos, neg = build(args.seed, 6)
        with args.write_sample.open("w", encoding="utf-8") as out:
            for case in pos + neg:
                out.write(json.dumps(asdict(case), ensure_ascii=False) + "\n")
        print(f"wrote {len(pos)} positives and {len(neg)} negatives to {args.write_sample}")
        return 0
    pos, neg = build(args.seed, args.n)
    report(pos, neg)
    missed = [c for c in pos if not caught(c)][: args.misses]
    wrongly = [c for c in neg if scrub(c.text) != c.text][: args.misses]
    for case in missed:
        print(
            f"MISSED {case.kind}/{case.locale}/{case.form}: {case.text!r} -> {scrub(case.text)!r}"
        )
    for case in wrongly:
        print(
            f"SCRUBBED {case.kind}/{case.locale}/{case.form}: {case.text!r} -> {scrub(case.text)!r}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
