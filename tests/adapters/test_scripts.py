"""Call scripts (lane: unit): scripted calls (tests/data/scripts), the pack format, recognition.

Each scenario is an event log with the ``script`` events that must come out
(step, state, and the window their ``t`` must fall in) and those that must not.
Every scenario runs twice: on phrases alone, and with the real sentence model
recognising steps by meaning, which must never change what phrases decide.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent_assist.errors import ScriptPackError
from agent_assist.events import (
    ArticleRef,
    Call,
    ErrorEvent,
    Event,
    Script,
    Suggestion,
    Utterance,
    from_dict,
)
from agent_assist.risk.phrases import normalize
from agent_assist.scripts import ScriptEngine, ScriptPack, load_script_pack
from agent_assist.scripts.match import Embed, Recogniser
from agent_assist.scripts.pack import parse_script_pack
from agent_assist.session import CallSession, feed_and_answer
from agent_assist.suggest import SearchRequest, SearchResults

SCENARIOS = sorted((Path(__file__).parents[1] / "data" / "scripts").glob("*.json"))
UTTERANCES = Path(__file__).parents[1] / "data" / "risk_utterances.jsonl"


@pytest.fixture(scope="module")
def pack() -> ScriptPack:
    return load_script_pack("northwind")


@pytest.fixture(scope="module")
def embed() -> Embed:
    """The sentence model the app ships (kb_cache's embedder), one text at a time."""
    from kb_cache.cache import make_embedder

    embedder = make_embedder()
    assert embedder is not None
    return lambda text: embedder.embed([text])[0]


def agent(t: float, text: str) -> Utterance:
    return Utterance(t=t, channel="agent", final=True, text=text, start=t - 2, end=t - 0.2)


def customer(t: float, text: str) -> Utterance:
    return Utterance(t=t, channel="customer", final=True, text=text, start=t - 2, end=t - 0.2)


def run(engine: ScriptEngine, events: Sequence[Event]) -> list[Script]:
    return [out for event in events for out in engine.feed(event) if isinstance(out, Script)]


def check(scenario: dict[str, Any], got: list[Script]) -> None:
    seen = [(s.step, s.state, s.t) for s in got]
    for want in scenario["expected"]:
        hits = [
            s
            for s in got
            if (s.step, s.state) == (want["step"], want["state"])
            and want["t_min"] <= s.t <= want["t_max"]
        ]
        assert hits, f"expected {want} in {scenario['description']!r}; got {seen}"
        if want["step"] in scenario.get("scripts", {}):
            assert hits[0].script == scenario["scripts"][want["step"]]
    for never in scenario["absent"]:
        bad = [
            s
            for s in got
            if all(getattr(s, k) == v for k, v in never.items() if k in ("step", "state"))
            and s.t <= never.get("t_max", float("inf"))
        ]
        assert not bad, f"{never} in {scenario['description']!r}: {seen}"


# -- scenarios --------------------------------------------------------------------------------


def test_there_are_scenarios_for_every_state_and_every_moment() -> None:
    states, dues = set(), set()
    pack = load_script_pack("northwind")
    for path in SCENARIOS:
        for want in json.loads(path.read_text())["expected"]:
            states.add(want["state"])
            if want["state"] == "due":
                dues.add(pack.steps[want["step"]].due)
    assert states == {"done", "due", "missed"}
    assert dues == {"opening", "before_hold", "before_transfer", "closing"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_on_phrases(pack: ScriptPack, path: Path) -> None:
    scenario = json.loads(path.read_text())
    engine = ScriptEngine(pack, script=scenario.get("script"))
    check(scenario, run(engine, [from_dict(e) for e in scenario["events"]]))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_with_meaning(pack: ScriptPack, embed: Embed, path: Path) -> None:
    scenario = json.loads(path.read_text())
    engine = ScriptEngine(pack, embed=embed, script=scenario.get("script"))
    check(scenario, run(engine, [from_dict(e) for e in scenario["events"]]))


def test_a_step_is_reported_done_once_with_the_scrubbed_words_as_evidence(
    pack: ScriptPack,
) -> None:
    engine = ScriptEngine(pack)
    engine.feed(Call(t=0.0, state="started"))
    said = "can you confirm your full name and date of birth and card 4111 1111 1111 1111"
    first = run(engine, [agent(5.0, said)])
    assert [(s.step, s.state) for s in first] == [("identity", "done")]
    assert "4111" not in first[0].evidence
    assert first[0].script == "general"
    assert first[0].label == "Verify the customer's identity"
    assert run(engine, [agent(9.0, said)]) == []


def test_a_new_call_starts_with_every_step_open(pack: ScriptPack) -> None:
    engine = ScriptEngine(pack)
    run(
        engine,
        [Call(t=0.0, state="started"), agent(3.0, "is there anything else i can help you with")],
    )
    assert engine.states == {"closing": "done"}
    got = run(engine, [Call(t=0.0, state="started"), Call(t=5.0, state="ended")])
    assert {s.step for s in got if s.state == "missed"} == {
        "greeting",
        "identity",
        "recap",
        "closing",
    }


def test_the_agents_choice_beats_the_article(pack: ScriptPack) -> None:
    engine = ScriptEngine(pack)
    engine.feed(Call(t=0.0, state="started"))
    engine.choose("general", 1.0)
    engine.feed(Suggestion(t=2.0, articles=(ArticleRef("card-arrival", "Card", 0.9),)))
    assert engine.script.name == "general"
    with pytest.raises(ValueError, match="no script 'nope'"):
        engine.choose("nope", 3.0)


def test_an_article_the_agent_opens_can_change_the_script_again(pack: ScriptPack) -> None:
    from agent_assist.events import Article

    engine = ScriptEngine(pack)
    engine.feed(Call(t=0.0, state="started"))
    engine.feed(
        Suggestion(t=2.0, articles=(ArticleRef("pin-blocked", "PIN", 0.9, script="general"),))
    )
    assert engine.script.name == "general"
    engine.feed(Article(t=5.0, id="lost-or-stolen-card", action="opened"))
    assert engine.script.name == "card-replacement"


def test_switching_reports_the_steps_whose_moment_has_passed(pack: ScriptPack) -> None:
    engine = ScriptEngine(pack)
    run(engine, [Call(t=0.0, state="started"), customer(10.0, "okay thanks bye")])
    got = run(engine, [Suggestion(t=12.0, articles=(ArticleRef("card-arrival", "Card", 0.9),))])
    assert ("fee", "due") in {(s.step, s.state) for s in got}
    assert {s.script for s in got} == {"card-replacement"}


def test_adherence_counts_required_steps(pack: ScriptPack) -> None:
    engine = ScriptEngine(pack)
    run(
        engine,
        [
            Call(t=0.0, state="started"),
            agent(3.0, "thank you for calling northwind bank this is sam"),
        ],
    )
    assert (engine.adherence().done, engine.adherence().required) == (1, 4)
    run(engine, [Call(t=9.0, state="ended")])
    assert engine.adherence().missed == ("identity", "recap", "closing")


# -- the session ----------------------------------------------------------------------------


def test_in_a_session_the_suggesters_own_suggestion_chooses_the_script(pack: ScriptPack) -> None:
    session = CallSession(suggest=True, script=ScriptEngine(pack))

    def perform(request: SearchRequest) -> SearchResults:
        return SearchResults(request.id, request.t, (ArticleRef("card-arrival", "Card", 0.9),))

    out: list[Event] = []
    events: list[Event] = [
        Call(t=0.0, state="started"),
        customer(3.0, "my new card has not arrived yet"),
        Call(t=9.0, state="ended"),
    ]
    for event in events:
        out += feed_and_answer(session, event, perform)
    missed = {e.step for e in out if isinstance(e, Script) and e.state == "missed"}
    assert "fee" in missed
    assert {e.script for e in out if isinstance(e, Script)} == {"card-replacement"}


# -- recognition ----------------------------------------------------------------------------


def heard(recogniser: Recogniser, text: str) -> dict[str, str]:
    found = recogniser.recognise(normalize(text), text, list(recogniser.pack.steps))
    return {h.step: h.how for h in found}


@pytest.mark.parametrize(
    ("text", "step", "how"),
    [
        ("thank you for calling northwind bank this is sam", "greeting", "phrase"),
        ("thank you for calling northwind bank um my name is sam", "greeting", "phrase"),
        ("thank you for calling northwind bang my name is sam", "greeting", "approximate"),
        ("can you confirm your name and date of birth", "identity", "approximate"),
        ("is there anything else i could help you with", "closing", "approximate"),
        (
            "express delivery has a fee of five dollars which is charged to the account",
            "fee",
            "exact",
        ),
    ],
)
def test_steps_are_heard_through_a_word_dropped_or_substituted(
    pack: ScriptPack, text: str, step: str, how: str
) -> None:
    assert heard(Recogniser(pack), text) == {step: how}


@pytest.mark.parametrize(
    "text",
    [
        "your name is sam",  # short examples must match whole
        "my game is sam",
        "so to repeat",
        "express delivery has a fee of fifty dollars which is charged to your account",  # key word
        "express delivery has a fee of five dollars",  # too much of the exact form is missing
        "how can i help you today",
    ],
)
def test_near_misses_do_not_count(pack: ScriptPack, text: str) -> None:
    assert heard(Recogniser(pack), text) == {}


def test_on_four_hundred_agent_utterances_only_real_steps_are_ticked(
    pack: ScriptPack, embed: Embed
) -> None:
    """The labelled coaching utterances (rude, venting, praise, neutral) hold three script
    steps; phrases and meaning together must tick exactly those."""
    recogniser = Recogniser(pack, embed=embed)
    ticked = {}
    for line in UTTERANCES.read_text().splitlines():
        text = json.loads(line)["text"]
        for step in heard(recogniser, text):
            ticked[text] = step
    assert ticked == {
        "can you confirm the first line of your address": "identity",
        "can i take your date of birth please": "identity",
        "is there anything else i can help you with today": "closing",
    }


@pytest.mark.parametrize(
    "text",
    [
        # "do you need help with anything else" was the one example here: its cosine to the
        # nearest phrasing is 0.76 with the weight-only int8 model and 0.72 with the int8
        # products one, on either side of the pack's 0.75; these two are 0.82 and 0.86 with both
        "what else can i help you with",
        "is there something more i can help with",
    ],
)
def test_meaning_finds_a_paraphrase_no_phrase_covers(
    pack: ScriptPack, embed: Embed, text: str
) -> None:
    assert heard(Recogniser(pack), text) == {}
    assert heard(Recogniser(pack, embed=embed), text) == {"closing": "similar"}


def test_meaning_never_ticks_an_exact_step_or_one_that_opts_out(pack: ScriptPack) -> None:
    def same(text: str) -> list[float]:  # a fake model: every text means the same
        return [1.0, 0.0]

    got = heard(Recogniser(pack, embed=same), "we really value you as a customer")
    assert "fee" not in got
    assert "greeting" not in got
    assert set(got.values()) == {"similar"}


def test_a_failing_model_turns_meaning_off_once_and_phrases_go_on(pack: ScriptPack) -> None:
    def broken(text: str) -> list[float]:
        raise RuntimeError("onnxruntime is not installed")

    engine = ScriptEngine(pack, embed=broken)
    first = engine.feed(agent(3.0, "we value you as a customer very much"))
    assert [e.code for e in first if isinstance(e, ErrorEvent)] == ["script_similarity"]
    second = engine.feed(agent(6.0, "is there anything else i can help you with"))
    assert [(e.step, e.state) for e in second if isinstance(e, Script)] == [("closing", "done")]
    assert not [e for e in second if isinstance(e, ErrorEvent)]


# -- the pack format --------------------------------------------------------------------------

GOOD = """\
[pack]
name = "t"
default = "main"

[steps.hello]
label = "Say hello"
required = true
due = "opening"
phrases = ["hello there"]

[scripts.main]
steps = ["hello"]
"""


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (('due = "opening"', 'due = "whenever"'), 8, "due must be one of opening"),
        (('steps = ["hello"]', 'steps = ["hello", "bye"]'), 12, "unknown step 'bye'"),
        (('phrases = ["hello there"]', 'phrases = ["hello {there"]'), 9, "bad phrase"),
        (("required = true", 'required = "yes"'), 7, "required must be true or false"),
        (('label = "Say hello"', 'lable = "Say hello"'), 6, "unknown key 'lable'"),
        (('phrases = ["hello there"]', 'exact = "hello there"'), 9, "needs key_words"),
        (('default = "main"', 'default = "other"'), 3, "default must name one of the scripts"),
        (('name = "t"', 'name = "t'), 2, "not valid TOML"),
    ],
)
def test_a_bad_pack_is_one_error_with_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    path = tmp_path / "pack.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ScriptPackError, match=message) as caught:
        load_script_pack(path)
    assert caught.value.path == str(path)
    assert caught.value.line == line


def test_a_key_word_must_be_in_the_exact_form() -> None:
    text = GOOD.replace('phrases = ["hello there"]', 'exact = "hello there"\nkey_words = ["hi"]')
    with pytest.raises(ScriptPackError, match="key word 'hi' is not in the exact form"):
        parse_script_pack(text, path="p.toml")


def test_a_missing_pack_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScriptPackError, match="cannot read the script pack"):
        load_script_pack(tmp_path / "nope.toml")


def test_the_built_in_pack_has_the_steps_the_demo_bank_needs(pack: ScriptPack) -> None:
    assert {"greeting", "identity", "recap", "fee", "closing"} <= set(pack.steps)
    assert pack.steps["fee"].exact
    assert set(pack.steps["fee"].key_words) >= {"five", "dollars"}
    assert pack.script_for_article("CARD-ARRIVAL") == "card-replacement"
