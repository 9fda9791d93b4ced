"""The command line as scripts use it: exit codes, clear errors, JSON Lines on stdout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent_assist import __version__
from agent_assist.events import Level, Utterance, decode
from tests.support import calls


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_version() -> None:
    out = cli("--version")
    assert (out.returncode, out.stdout.strip()) == (0, f"agent-assist {__version__}")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "transcribe"),
        (("devices",), "Loopback"),
        (("models",), "install"),
        (("models", "install"), "resume"),
        (("transcribe",), "stereo WAV"),
    ],
)
def test_every_command_explains_itself(args: tuple[str, ...], words: str) -> None:
    out = cli(*args, "--help")
    assert out.returncode == 0
    assert words in out.stdout


def test_a_command_group_without_an_action_prints_usage_and_exits_2() -> None:
    out = cli("marquee")  # plain `agent-assist` opens the desktop app instead (e2e/test_app.py)
    assert out.returncode == 2
    assert "usage: agent-assist marquee" in out.stderr


def test_no_command_at_all_opens_the_desktop_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import agent_assist.app
    from agent_assist.cli import main

    opened: list[object] = []
    monkeypatch.setattr(agent_assist.app, "run_app", lambda options: opened.append(options) or 0)
    assert main([]) == 0
    assert opened == [agent_assist.app.AppOptions()]


@pytest.mark.parametrize(
    "args",
    [
        ("transcribe",),
        ("transcribe", "a.wav", "--device", "default"),
        ("transcribe", "a.wav", "--far-end", "x"),
        ("transcribe", "--device", "x", "--far-end", "y", "--split-stereo"),
        ("transcribe", "a.wav", "--duration", "0"),
        ("transcribe", "--bogus"),
        ("models", "install"),
        ("models", "install", "x", "--from", "y"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: tuple[str, ...]) -> None:
    out = cli(*args)
    assert out.returncode == 2
    assert "error:" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_missing_audio_file_is_one_clear_line(tmp_path: Path) -> None:
    out = cli("transcribe", str(tmp_path / "missing.wav"))
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0
    assert "cannot open" in out.stderr
    assert "missing.wav" in out.stderr


def test_a_missing_model_says_how_to_install_one(phrase_wav: Path, tmp_path: Path) -> None:
    out = cli(
        "transcribe",
        str(phrase_wav),
        "--model",
        "vosk-model-small-en-us-0.15",
        "--models-dir",
        str(tmp_path),
    )
    assert out.returncode == 1
    assert "agent-assist models install vosk-model-small-en-us-0.15" in out.stderr
    assert "Traceback" not in out.stderr


def test_transcribe_a_stereo_call_writes_events_for_both_channels(
    call_wav: tuple[Path, list[calls.Turn]],
) -> None:
    out = cli("transcribe", str(call_wav[0]))
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    events = [decode(line) for line in out.stdout.splitlines()]
    for channel in ("agent", "customer"):
        utterances = [e for e in events if isinstance(e, Utterance) and e.channel == channel]
        assert any(not u.final for u in utterances)
        assert any(u.final for u in utterances)
        assert any(isinstance(e, Level) and e.channel == channel for e in events)


def test_ctrl_c_ends_cleanly_with_the_final_result_flushed(phrase_wav: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_assist", "transcribe", str(phrase_wav), "--realtime"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen_partial = False
    deadline = time.monotonic() + 240
    while not seen_partial and time.monotonic() < deadline:
        line = proc.stdout.readline()
        event = decode(line)
        seen_partial = isinstance(event, Utterance) and not event.final
    proc.send_signal(signal.SIGINT)  # mid-phrase: the first partial has just arrived
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    tail = [decode(line) for line in rest.splitlines()]
    assert any(isinstance(e, Utterance) and e.final for e in tail)


def test_a_broken_pipe_is_not_an_error(call_wav: tuple[Path, list[calls.Turn]]) -> None:
    out = subprocess.run(
        f"{sys.executable} -m agent_assist transcribe {call_wav[0]} | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert len(out.stdout.splitlines()) == 2
    assert "Traceback" not in out.stderr


def test_devices_json_is_one_object_per_line(pulse_server: None) -> None:
    out = cli("devices", "--json")
    assert out.returncode == 0
    devices = [json.loads(line) for line in out.stdout.splitlines()]
    assert devices
    assert {"id", "name", "channels", "default_rate", "is_default", "loopback"} <= set(devices[0])
    assert sum(d["is_default"] for d in devices) <= 1
