"""``agent-assist analyze``: input events echoed, flags added, bad lines reported and skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).parents[1] / "data" / "scenarios"


def analyze(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", "analyze", *args],
        input=stdin, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def jsonl(scenario: str, tmp_path: Path) -> tuple[Path, dict[str, object]]:
    data = json.loads((SCENARIOS / scenario).read_text())
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in data["events"]))
    return path, data


@pytest.mark.parametrize(
    "scenario",
    [
        "03_seed_softphone_released_mute.json",  # mute from the CTI and the OS
        "06_hot_mic_app_mute_toggle.json",  # mute from the app toggle
        "11_dead_air_mute.json",
        "16_raised_voice_bad_line.json",
    ],
)
def test_analyze_echoes_the_input_and_adds_the_expected_flags(
    scenario: str, tmp_path: Path
) -> None:
    path, data = jsonl(scenario, tmp_path)
    out = analyze(str(path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    inputs = [line for line in lines if json.loads(line)["type"] != "flag"]
    assert inputs == path.read_text().splitlines()  # every input line, exactly as given, in order
    kinds = {json.loads(line)["kind"] for line in lines if json.loads(line)["type"] == "flag"}
    assert {e["kind"] for e in data["expected"]} <= kinds  # type: ignore[attr-defined]


def test_a_flag_follows_the_event_that_raised_it(tmp_path: Path) -> None:
    events = [
        '{"type":"call","t":0,"state":"started"}',
        '{"type":"utterance","t":2,"channel":"agent","final":false,"text":"sir calm down","start":1,"end":2}',
        '{"type":"call","t":5,"state":"ended"}',
    ]
    out = analyze("-", stdin="\n".join(events) + "\n")
    lines = out.stdout.splitlines()
    assert lines[:2] == events[:2]
    assert json.loads(lines[2])["kind"] == "rudeness"
    assert lines[3] == events[2]


def test_malformed_lines_are_reported_by_number_and_the_rest_is_analysed() -> None:
    text = '{"type":"call","t":0,"state":"started"}\nnot json\n{"type":"nope","t":1}\n' + (
        '{"type":"utterance","t":2,"channel":"agent","final":true,"text":"what an idiot","start":1,"end":2}\n'
    )
    out = analyze("-", stdin=text)
    assert out.returncode == 0
    assert "line 2: not valid JSON" in out.stderr
    assert "line 3: unknown event type 'nope'" in out.stderr
    assert '"kind":"hot_mic"' in out.stdout


def test_nothing_valid_at_all_is_a_failure() -> None:
    out = analyze("-", stdin="garbage\nmore garbage\n")
    assert out.returncode == 1
    assert "no valid events" in out.stderr


def test_a_bad_rule_pack_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "site.toml"
    rules.write_text("[kinds.rudeness]\nseverity = 'loud'\n")
    out = analyze("-", "--rules", str(rules), stdin='{"type":"call","t":0,"state":"started"}\n')
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        == f"agent-assist: {rules}:2: severity of rudeness must be one of info, warning, critical, praise"
    )


def test_a_missing_events_file_is_a_usage_error(tmp_path: Path) -> None:
    out = analyze(str(tmp_path / "nope.jsonl"))
    assert out.returncode == 2
    assert "cannot read" in out.stderr


MEANING_ONLY = [
    '{"type":"call","t":0,"state":"started"}',
    '{"type":"utterance","t":2,"channel":"agent","final":true,'
    '"text":"i swear these callers get dumber every day","start":1,"end":2}',
]


def test_analyze_also_judges_by_meaning_with_the_shipped_embedder() -> None:
    out = analyze("-", stdin="\n".join(MEANING_ONLY) + "\n")
    assert out.returncode == 0, out.stderr
    flags = [json.loads(line) for line in out.stdout.splitlines() if '"flag"' in line]
    assert [f["kind"] for f in flags] == ["hot_mic"]
    assert flags[0]["evidence"] == "i swear these callers get dumber every day"


def test_no_semantic_runs_the_rules_alone() -> None:
    out = analyze("--no-semantic", "-", stdin="\n".join(MEANING_ONLY) + "\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == MEANING_ONLY
