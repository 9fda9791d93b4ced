"""Zero egress: nothing leaves the PC, and nothing is written, that the site did not allow.

Each command runs on a fresh profile under ``strace -f`` (tests/support/egress.py).
Every ``connect``/``send*`` must go to loopback (the demo's own server) or a
local socket, and every file written must be inside the app's own folders
(data, config, cache, log) or its temporary folder, which must be empty again
when the command ends. In particular nothing may appear under another vendor's
folder: onnxruntime 1.32 would create ``~/.cache/Microsoft/...`` and look up
``mobile.events.data.microsoft.com`` if its telemetry were on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import egress

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("agent-assist")


@pytest.fixture(autouse=True)
def _strace() -> None:
    if not egress.have_strace():
        pytest.fail("strace is needed for the zero-egress tests (scripts/bootstrap installs it)")


# -- the switch itself ---------------------------------------------------------------


@pytest.mark.parametrize("package", ["agent_assist", "audio", "kb_cache", "ui", "agent_assist.cli"])
def test_importing_any_package_switches_onnxruntime_telemetry_off(package: str) -> None:
    code = f"import {package}, os; print(os.environ['ORT_DISABLE_TELEMETRY'])"
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "0"}  # a user's own value does not win
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "1"


def test_child_processes_inherit_the_switches() -> None:
    code = (
        "import agent_assist, subprocess, sys;"
        "print(subprocess.run([sys.executable, '-c', 'import os; print(os.environ[\"HF_HUB_OFFLINE\"])'],"
        " capture_output=True, text=True).stdout.strip())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"


def test_the_embedder_refuses_to_run_when_onnxruntime_was_loaded_before_the_switch(
    tmp_path: Path,
) -> None:
    code = (
        "import onnxruntime\n"  # a host program that loaded it first, telemetry on
        "from agent_assist.errors import KnowledgeError\n"
        "from kb_cache.embedder import Embedder\n"
        "try:\n    Embedder().embed(['hello'])\n"
        "except KnowledgeError as exc:\n    print(exc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["HOME"] = str(tmp_path)  # whatever onnxruntime writes on import stays in the test's folder
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "telemetry" in done.stdout
    assert "keyword search still works" in done.stdout


# -- the harness sees what it must see -----------------------------------------------

# Real strace lines of onnxruntime 1.32 with its telemetry on (issue 18), and of a
# demo connecting to its own server and opening the settings file.
_RECORDED = """\
17270 connect(9, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16 <unfinished ...>
17334 sendto(9, "\\373\\177\\1\\0\\0\\1\\0\\0\\0\\0\\0\\0\\6mobile\\6events\\4data\\t"..., 50, MSG_NOSIGNAL, NULL, 0) = 50
27916 connect(12, {sa_family=AF_INET, sin_port=htons(36697), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS
27916 connect(13, {sa_family=AF_INET6, sin6_port=htons(8765), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
27916 connect(5, {sa_family=AF_UNIX, sun_path="/run/user/0/pulse/native"}, 110) = 0
27920 openat(AT_FDCWD, "/h/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 7
27916 openat(AT_FDCWD, "/h/.config/agent-assist/settings.toml", O_RDONLY|O_CLOEXEC) = 3
27916 mkdir("/h/.local/share/agent-assist", 0777) = 0
27916 openat(AT_FDCWD, "/opt/x/agent_assist/__pycache__/egress.cpython-311.pyc.1401", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3
"""


def test_the_harness_reports_a_dns_lookup_and_a_vendor_folder(tmp_path: Path) -> None:
    trace = egress.Trace(0, "", "")
    egress.parse_trace(_RECORDED, trace, cwd=tmp_path)
    assert {(c.address, c.port) for c in trace.outside_loopback()} == {("10.255.255.53", 53)}
    assert trace.written_outside(["/h/.local/share/agent-assist"]) == [
        "/h/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db"
    ]
    assert trace.outside_loopback(allowed=[("10.255.255.53", 53)]) == []


# -- the commands, traced ------------------------------------------------------------


@pytest.fixture
def profile(tmp_path: Path) -> dict[str, object]:
    """A fresh profile whose knowledge cache holds three small articles (no demo fill)."""
    home = tmp_path / "home"
    env = egress.app_environment(home)
    data = home / ".local" / "share" / "agent-assist"
    data.mkdir(parents=True)
    db = data / "knowledge.db"
    config = home / ".config" / "agent-assist"
    config.mkdir(parents=True)
    (config / "settings.toml").write_text(f'[knowledge]\ndb = "{db}"\n', encoding="utf-8")
    own = [
        data,
        config,
        home / ".cache" / "agent-assist",
        home / ".local" / "state" / "agent-assist",
    ]
    return {"home": home, "env": env, "db": db, "own": own, "tmp": home / "tmp"}


def _run(profile: dict[str, object], name: str, *args: str, timeout: float = 300) -> egress.Trace:
    home = profile["home"]
    assert isinstance(home, Path)
    env = profile["env"]
    assert isinstance(env, dict)
    return egress.traced(
        [str(EXE), *args], env=env, cwd=home, log=home.parent / f"{name}.strace", timeout=timeout
    )


def _assert_stays_home(trace: egress.Trace, profile: dict[str, object]) -> None:
    assert trace.returncode == 0, trace.stderr[-2000:]
    assert trace.outside_loopback() == []
    own = profile["own"]
    tmp = profile["tmp"]
    assert isinstance(own, list)
    assert isinstance(tmp, Path)
    assert trace.written_outside([*own, tmp]) == []
    assert sorted(p.name for p in tmp.iterdir()) == []  # temporary files are gone again
    home = profile["home"]
    assert isinstance(home, Path)
    assert not (home / ".cache" / "Microsoft").exists()


def _import_small_kb(profile: dict[str, object]) -> None:
    trace = _run(profile, "import", "kb", "import", str(ROOT / "tests/data/kb/articles.jsonl"),
                 "--db", str(profile["db"]))  # fmt: skip
    _assert_stays_home(trace, profile)


@pytest.mark.slow
def test_kb_import_and_search_stay_on_the_pc(profile: dict[str, object]) -> None:
    _import_small_kb(profile)  # embeds the articles' phrasings: onnxruntime runs
    trace = _run(profile, "search", "kb", "search", "my card has not arrived", "--db",
                 str(profile["db"]), "--json")  # fmt: skip
    _assert_stays_home(trace, profile)
    assert trace.stdout.strip()


@pytest.mark.slow
def test_analyze_with_suggestions_stays_on_the_pc(profile: dict[str, object]) -> None:
    _import_small_kb(profile)
    call = ROOT / "agent_assist" / "demo" / "call.jsonl"
    trace = _run(profile, "analyze", "analyze", "--suggest", "--db", str(profile["db"]), str(call))
    _assert_stays_home(trace, profile)
    assert '"type":"flag"' in trace.stdout


@pytest.mark.slow
def test_transcribe_stays_on_the_pc(profile: dict[str, object], phrase_wav: Path) -> None:
    trace = _run(profile, "transcribe", "transcribe", str(phrase_wav))
    _assert_stays_home(trace, profile)
    assert '"type":"utterance"' in trace.stdout


@pytest.mark.slow
def test_the_demo_app_talks_only_to_its_own_loopback_server(profile: dict[str, object]) -> None:
    _import_small_kb(profile)
    trace = _run(profile, "demo", "demo", "--quit-after", "10", "--speed", "4")
    _assert_stays_home(trace, profile)
    assert any(c.loopback for c in trace.connections)  # it did reach its own server


@pytest.mark.slow
def test_the_app_replaying_a_recording_stays_on_the_pc(
    profile: dict[str, object], phrase_wav: Path
) -> None:
    _import_small_kb(profile)
    trace = _run(profile, "demo-audio", "demo", "--audio", str(phrase_wav), "--quit-after", "10")
    _assert_stays_home(trace, profile)
