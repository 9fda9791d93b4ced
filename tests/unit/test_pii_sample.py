"""PII recall on a fixed sample of generated personal data, written and spoken.

``tests/data/pii_sample.jsonl`` was written by ``bench/pii.py --seed 7
--write-sample`` (Faker, en_US / en_IN / en_PH): six cases per kind, locale and
form, and the harmless numbers that must stay readable. The full measurement
(thousands of cases, a held-out seed) is ``bench/pii.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_assist.privacy import scrub
from tests.support.pii import Case, caught

_SAMPLE = [
    Case(**json.loads(line))
    for line in (Path(__file__).parents[1] / "data" / "pii_sample.jsonl").read_text().splitlines()
]
_POSITIVES = [c for c in _SAMPLE if c.end > c.start]
_NEGATIVES = [c for c in _SAMPLE if c.end == c.start]


def _id(case: Case) -> str:
    return f"{case.kind}-{case.locale}-{case.form}"


def test_the_sample_covers_every_kind_locale_and_form() -> None:
    cells = {(c.kind, c.locale, c.form) for c in _POSITIVES}
    kinds = {c.kind for c in _POSITIVES}
    assert {"card", "phone", "email", "ssn", "dob", "account", "national_id"} <= kinds
    assert {(k, loc, f) for k, loc, f in cells if k == "phone"} == {
        ("phone", loc, f) for loc in ("en_US", "en_IN", "en_PH") for f in ("written", "spoken")
    }


@pytest.mark.parametrize("case", _POSITIVES, ids=_id)
def test_personal_data_is_scrubbed(case: Case) -> None:
    assert caught(case), f"{case.text!r} -> {scrub(case.text)!r}"


@pytest.mark.parametrize("case", _NEGATIVES, ids=_id)
def test_harmless_numbers_stay_readable(case: Case) -> None:
    assert scrub(case.text) == case.text


def test_the_judge_counts_a_leak_as_a_miss() -> None:
    leaked = Case("phone", "en_US", "written", "call 206.269.0743 now", 5, 17)
    assert caught(leaked)  # scrubbed
    partly = Case("phone", "en_US", "written", "call 206 269 0743 now", 5, 17)
    assert scrub(partly.text) == "call [phone] now"
    assert caught(partly)
    missed = Case("phone", "en_US", "written", "call two oh six now", 5, 15)
    assert scrub(missed.text) == missed.text
    assert not caught(missed)  # three digit words left: not caught
