"""Word rules on real language: sentence boundaries, guards, the profanity lexicon and praise forms.

Each precision bug found on real text (issue 14) has its own test here.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from agent_assist.events import Call, Flag, Mute, Utterance, Word
from agent_assist.risk.engine import RiskEngine
from agent_assist.risk.pack import RulePack, load_pack
from agent_assist.risk.text import sentences

NEGATIVE = {"hot_mic", "profanity", "rudeness", "blame_shifting", "vent_while_muted"}


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


@pytest.fixture
def engine(pack: RulePack) -> RiskEngine:
    e = RiskEngine(pack=pack)
    e.feed(Call(0.0, "started"))
    return e


def say(engine: RiskEngine, text: str, *, t: float = 2.0, final: bool = True) -> set[str]:
    return {f.kind for f in engine.feed(Utterance(t, "agent", final, text, t - 1.0, t))}


def timed(text_and_times: list[tuple[str, float, float]], t: float) -> Utterance:
    words = tuple(Word(w, s, e, 0.95) for w, s, e in text_and_times)
    return Utterance(t, "agent", True, " ".join(w.word for w in words), words[0].start, t, words)


# -- whole-sentence rules judge final text only ------------------------------------------------


def test_a_partial_whatever_is_not_judged_before_the_sentence_ends(engine: RiskEngine) -> None:
    assert say(engine, "Whatever", t=1.0, final=False) == set()
    assert say(engine, "Whatever works for you", t=1.5, final=False) == set()
    assert say(engine, "Whatever works for you.", t=2.0) == set()


def test_a_final_whatever_on_its_own_is_dismissive(engine: RiskEngine) -> None:
    assert say(engine, "Whatever.") == {"rudeness"}


def test_a_finished_sentence_inside_a_partial_can_be_judged(engine: RiskEngine) -> None:
    assert say(engine, "Whatever. I", final=False) == {"rudeness"}


# -- phrase matches stop at sentence boundaries ---------------------------------------------------


def test_a_phrase_never_runs_across_punctuation(engine: RiskEngine) -> None:
    assert say(engine, "Thank you. People often ask about that plan.") == set()
    assert say(engine, "thank you people", t=40.0) == {"rudeness"}  # the same words, one sentence


def test_a_long_pause_between_timed_words_ends_a_sentence(engine: RiskEngine) -> None:
    paused = timed(
        [("thank", 1.0, 1.2), ("you", 1.2, 1.4), ("people", 2.3, 2.6), ("ask", 2.6, 2.8)], 3.0
    )
    assert not {f.kind for f in engine.feed(paused)} & NEGATIVE
    running = timed(
        [("thank", 4.0, 4.2), ("you", 4.2, 4.4), ("people", 4.5, 4.8), ("ask", 4.8, 5.0)], 5.2
    )
    assert {f.kind for f in engine.feed(running)} == {"rudeness"}


def test_sentences_keep_titles_and_decimals_together() -> None:
    parts = sentences(Utterance(1.0, "agent", True, "Mr. Dick paid 3.5 pounds. Thanks", 0.0, 1.0))
    assert [p.words for p in parts] == [("mr", "dick", "paid", "3", "5", "pounds"), ("thanks",)]
    assert parts[0].names == frozenset({1})


# -- guards for idioms, names and quotations ---------------------------------------------------


def test_no_clue_what_you_mean_is_not_a_hot_mic(engine: RiskEngine) -> None:
    assert not say(engine, "I have no clue what you mean, could you say it again?") & NEGATIVE


def test_saying_a_customer_has_no_clue_still_is(engine: RiskEngine) -> None:
    assert say(engine, "this old guy has no clue what a browser is") == {"hot_mic"}


@pytest.mark.parametrize(
    "text",
    [
        "I spoke to a customer named Dick this morning.",
        "Can I speak to Dick about the order?",
        "thanks mr dick i have updated the address",
        "dick van dyke is on the account as a second holder",
    ],
)
def test_a_name_is_not_profanity(engine: RiskEngine, text: str) -> None:
    assert not say(engine, text) & NEGATIVE


def test_the_same_word_as_an_insult_is(engine: RiskEngine) -> None:
    assert "profanity" in say(engine, "what a dick")


def test_a_quoted_title_is_not_the_agent_being_rude(engine: RiskEngine) -> None:
    assert say(engine, 'The song "You Need to Calm Down" is on the playlist.') == set()
    assert say(engine, "you need to calm down", t=40.0) == {"rudeness"}


# -- a redirect with a reason or an offer is not blame --------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "you would need to contact them",
        "For the baggage you'd need to contact them, as they handle lost luggage.",
        "you'll have to call the airline because they hold the booking",
        "you need to contact the network, would you like their number?",
        "That's not our department. I can transfer you to them now.",
    ],
)
def test_a_redirect_with_a_reason_or_an_offer_is_not_blame(engine: RiskEngine, text: str) -> None:
    assert "blame_shifting" not in say(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "you'll have to call back tomorrow",
        "that's a tech support issue you'll have to ring them yourself",
    ],
)
def test_pushing_the_work_back_onto_the_customer_still_is(engine: RiskEngine, text: str) -> None:
    assert say(engine, text) == {"blame_shifting"}


# -- the profanity lexicon ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word", ["bitches", "bullshitting", "motherfucking", "dipshit", "shitty", "fuckwit", "sucks"]
)
def test_inflections_and_compounds_are_profanity(engine: RiskEngine, word: str) -> None:
    assert "profanity" in say(engine, f"oh {word} this again")


@pytest.mark.parametrize(
    "text",
    [
        "I'm calling from Scunthorpe",
        "we will assess the claim",
        "the cocktail bar on the booking",
        "a spicy curry with cumin",
        "the button on the left",
        "she graduated summa cum laude",
        "a finger prick test at the clinic",
        "we need to butter up the manager",
    ],
)
def test_words_that_contain_or_resemble_profanity_are_safe(engine: RiskEngine, text: str) -> None:
    assert not say(engine, text) & NEGATIVE


def test_strong_swearing_on_a_live_line_is_also_a_hot_mic(engine: RiskEngine) -> None:
    assert say(engine, "this fucking system") == {"profanity", "hot_mic"}


def test_mild_swearing_is_profanity_only(engine: RiskEngine) -> None:
    assert say(engine, "oh crap the page froze") == {"profanity"}


def test_a_slur_is_profanity_and_a_hot_mic_when_live(engine: RiskEngine) -> None:
    assert say(engine, "what a retard") >= {"profanity", "hot_mic"}


def test_a_slur_while_muted_is_still_flagged(engine: RiskEngine) -> None:
    engine.feed(Mute(1.0, True, "os"))
    assert say(engine, "what a retard") == {"vent_while_muted"}


def test_the_lexicon_records_its_source_licence_and_severities() -> None:
    text = resources.files("agent_assist.risk").joinpath("packs", "profanity_en.json").read_text()
    data = json.loads(text)
    assert "LDNOOBW" in data["about"]
    assert "CC BY 4.0" in data["licence"]
    assert set(data["terms"].values()) == {"mild", "strong", "slur"}
    assert data["terms"]["bitches"] == "strong"
    assert "sex" in data["left_out"]  # an ordinary word in calls, with the reason recorded


# -- praise that real agents earn --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "We're sorry for the inconvenience.",
        "We apologize for the delay with your order.",
        "Sorry to hear that.",
        "Sorry about the mix-up with the dates.",
        "Apologies for the wait.",
        "I apologise, the booking failed.",
        "I'm sorry, there are no tables left at 7 pm.",
        "Thank you for your patience.",
    ],
)
def test_apologies_in_the_forms_real_agents_use_earn_empathy(engine: RiskEngine, text: str) -> None:
    flags = [f for f in engine.feed(Utterance(2.0, "agent", True, text, 1.0, 2.0))]
    assert [f.kind for f in flags] == ["empathy"]
    assert flags[0].severity == "praise"
    assert flags[0].evidence
    assert flags[0].tip


@pytest.mark.parametrize(
    "text", ["sorry, what was that?", "I'm sorry, could you spell the surname?"]
)
def test_sorry_asking_to_repeat_is_not_empathy(engine: RiskEngine, text: str) -> None:
    assert say(engine, text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "I will call you back tomorrow morning with the result.",
        "We'll get back to you within two days.",
        "I'll look into the missing payment for you.",
        "Let me look into that.",
    ],
)
def test_commitments_earn_ownership(engine: RiskEngine, text: str) -> None:
    assert say(engine, text) == {"ownership"}


def kinds(flags: list[Flag]) -> list[str]:
    return [f.kind for f in flags]
