"""Phrase patterns on recognised words: one spelling in the pack matches every form spoken."""

from __future__ import annotations

import pytest

from agent_assist.risk.phrases import PhraseSet, PhraseSyntaxError, normalize

FILLERS = [("um",), ("really",), ("you", "know")]


def found(patterns: list[str], text: str) -> list[str]:
    return [
        " ".join(normalize(text)[m.start : m.end])
        for m in PhraseSet(patterns, fillers=FILLERS).find(normalize(text))
    ]


def test_normalize_lowercases_strips_punctuation_and_expands_contractions() -> None:
    assert normalize("That's NOT my problem, I can't—won't!") == [
        "that", "is", "not", "my", "problem", "i", "can", "not", "will", "not",
    ]  # fmt: skip
    assert normalize("you’ll") == ["you", "will"]


def test_letters_of_every_language_are_words() -> None:
    assert normalize("¿Está bien? 바보 짜증, Über!") == ["está", "bien", "바보", "짜증", "über"]


def test_contractions_in_patterns_and_speech_meet_in_the_middle() -> None:
    assert found(["that's not my problem"], "that is not my problem") == ["that is not my problem"]
    assert found(["that is not my problem"], "that's not my problem") == ["that is not my problem"]


def test_alternatives_and_optional_slots() -> None:
    patterns = ["not {my|our} {department|job}", "i {really|} hate this"]
    assert found(patterns, "it's not our job") == ["not our job"]
    assert found(patterns, "i hate this") == ["i hate this"]
    assert found(patterns, "it's not their job") == []


def test_fillers_may_stand_between_words_but_not_change_them() -> None:
    assert found(["not my department"], "that's not um really my department") == [
        "not um really my department"
    ]
    assert found(["not my department"], "not you know my department") == [
        "not you know my department"
    ]
    assert found(["not my department"], "not in my department") == []


def test_wildcard_matches_exactly_one_word() -> None:
    assert found(["what part of * do you not understand"], "what part of no do you not understand")
    assert not found(["what part of * do you not understand"], "what part of do you not understand")


def test_anchors_pin_a_phrase_to_the_whole_utterance() -> None:
    assert found(["^whatever$"], "whatever")
    assert not found(["^whatever$"], "whatever works for you")
    assert not found(["^whatever$"], "do whatever")


def test_whole_words_only() -> None:
    assert not found(["ass"], "please assess the class")
    assert not found(["hell"], "hello there")


@pytest.mark.parametrize("bad", ["{unclosed", "closed}", "{|}", ""])
def test_patterns_that_cannot_work_are_rejected(bad: str) -> None:
    with pytest.raises(PhraseSyntaxError):
        PhraseSet([bad])
