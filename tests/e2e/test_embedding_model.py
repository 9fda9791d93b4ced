"""The sentence model is made, not kept in git: scripts/build-embedding-model rebuilds it byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kb_cache.embedder import MODEL_FILE

SCRIPT = Path(__file__).parents[2] / "scripts" / "build-embedding-model"


def build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_model_rebuilds_to_the_checksum_the_app_verifies() -> None:
    checked = build("--check")
    assert checked.returncode == 0, checked.stderr
    assert "matches MODEL_SHA256" in checked.stdout


def test_ensure_leaves_a_right_model_alone() -> None:
    before = MODEL_FILE.stat().st_mtime_ns
    ensured = build("--ensure")
    assert ensured.returncode == 0, ensured.stderr
    assert ensured.stdout == ""
    assert MODEL_FILE.stat().st_mtime_ns == before


def test_the_model_is_not_in_git() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(MODEL_FILE)],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert tracked.returncode != 0
