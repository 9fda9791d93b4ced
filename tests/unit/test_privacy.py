"""PII scrubbing, written and spoken (speech recognisers spell numbers as words)."""

from __future__ import annotations

import pytest

from agent_assist.privacy import find_pii, luhn_valid, scrub

VISA = "4111111111111111"  # the well-known Luhn-valid test card


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"my card is {VISA} thanks", "my card is [card] thanks"),
        ("card 4111 1111 1111 1111.", "card [card]."),
        ("card 4111-1111-1111-1111", "card [card]"),
        (
            "it's four one one one one one one one one one one one one one one one ok",
            "it's [card] ok",
        ),
        ("four one double one one one one one triple one one one one one one", "[card]"),
        ("ssn 123-45-6789 please", "ssn [ssn] please"),
        ("my social is one two three four five six seven eight nine", "my social is [ssn]"),
        ("call me on (555) 123-4567", "call me on [phone]"),
        ("call 1 800 555 0199 now", "call [phone] now"),
        ("five five five oh one nine nine", "[phone]"),
        ("one eight hundred five five five oh one nine nine", "[phone]"),
        ("five five five dash twenty one forty three", "[phone]"),
        ("reach me at +44 20 7946 0958", "reach me at [phone]"),
        ("mail jane.doe+bank@example.co.uk today", "mail [email] today"),
        ("it's john dot smith at gmail dot com", "it's [email]"),
        ("jsmith at yahoo", "[email]"),
        ("j underscore smith seven at example dot org ok", "[email] ok"),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "oh i see what you mean",
        "i'll call you back in five minutes",
        "your balance is one hundred twenty dollars",
        "order 12345 shipped on the 3rd",
        "we are at the branch at nine",
        "look at this",
        "the fee is twenty five dollars",
        "it arrives in two to three days",
    ],
)
def test_ordinary_speech_is_left_alone(text: str) -> None:
    assert scrub(text) == text


def test_a_long_number_that_fails_luhn_is_still_scrubbed_as_a_number() -> None:
    # a recogniser that mishears one digit of a card must not leak the other fifteen
    assert scrub("four one one one one one one one one one one one one one one two") == "[number]"
    assert not luhn_valid("4111111111111112")


def test_luhn() -> None:
    assert luhn_valid(VISA)
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("12a4")


def test_matches_report_kind_and_span() -> None:
    text = "card 4111 1111 1111 1111 and ssn 123-45-6789"
    matches = find_pii(text)
    assert [(m.kind, text[m.start : m.end]) for m in matches] == [
        ("card", "4111 1111 1111 1111"),
        ("ssn", "123-45-6789"),
    ]


def test_two_numbers_separated_by_words_are_judged_separately() -> None:
    assert scrub("five five five one two three four and then one two three") == (
        "[phone] and then one two three"
    )
