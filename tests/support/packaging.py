"""Shared by the packaging and release tests: required tools and a stand-in MSI built with wixl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def need(tool: str, package: str) -> str:
    """The tool's path, or a failed test saying which package installs it."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is needed: apt-get install {package} (scripts/bootstrap does)")
    return path


def build_stand_in_msi(base: Path, version: str) -> Path:
    """An MSI from the real .wxs, built with wixl from a staged stand-in of the frozen app."""
    need("wixl", "wixl")
    stage = base / "agent-assist"
    (stage / "_internal" / "vosk").mkdir(parents=True)
    (stage / "agent-assist.exe").write_bytes(b"MZ stand-in for the frozen app")
    (stage / "agent-assist-app.exe").write_bytes(b"MZ stand-in for the windowed app")
    (stage / "_internal" / "vosk" / "libvosk.dll").write_bytes(b"stand-in")
    out = base / "agent-assist.msi"
    built = subprocess.run(
        [str(ROOT / "packaging" / "windows" / "build-msi"), str(stage), version, str(out)],
        capture_output=True, text=True, check=False, timeout=240,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return out
