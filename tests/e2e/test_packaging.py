"""The release build (packaging/build-release), the frozen app, the .deb and the MSI definition.

The ``release`` tests build once per session (about a minute on two cores) into
dist/ with a throwaway signing key, then check what a user or IT would get.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent_assist import __version__
from agent_assist.release import parse_utc, verify_release
from agent_assist.signing import generate_key, load_public_key
from tests.support.packaging import build_stand_in_msi, need

ROOT = Path(__file__).resolve().parents[2]


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
def test_the_frozen_app_imports_word_and_pdf_documents_and_searches_them_by_meaning(
    built: Release, tmp_path: Path
) -> None:
    import docx

    from tests.support.pdf import write_pdf

    folder = tmp_path / "procedures"
    folder.mkdir()
    document = docx.Document()
    document.add_heading("Replace a damaged card", level=1)
    document.add_paragraph("The chip no longer works or the card is cracked: order a new one.")
    document.save(str(folder / "damaged.docx"))
    write_pdf(folder / "late.pdf", [["Card not arrived", "Reorder after ten working days."]])
    db = tmp_path / "kb.db"
    imported = run(built.app / "agent-assist", "kb", "import", folder, "--db", db)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 articles" in imported.stderr  # the summary goes to stderr
    found = run(
        built.app / "agent-assist",
        "kb",
        "search",
        "my card got snapped in half",
        "--db",
        db,
        "--json",
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["id"] == "damaged"


@release
@slow_build
def test_the_frozen_app_bundles_vosk_the_embedding_model_and_qt_plugins(built: Release) -> None:
    internal = built.app / "_internal"
    assert (internal / "vosk" / "libvosk.so").is_file()
    assert (internal / "kb_cache" / "data" / "minilm-l6-v2-int8.onnx").stat().st_size > 20_000_000
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
    assert os.readlink(link) == "/opt/agent-assist/agent-assist"  # absolute: across top dirs
    done = run(app, "--version")
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


@release
@slow_build
def test_the_signed_manifest_expires_and_is_not_a_test_release(built: Release) -> None:
    document = json.loads((built.folder / f"agent-assist-{__version__}.manifest.json").read_text())
    assert "test" not in document
    days = (parse_utc(document["expires"]) - parse_utc(document["created"])) / 86400
    assert 179.9 < days < 180.1


@release
@slow_build
def test_the_frozen_app_trusts_the_key_the_build_embedded(built: Release) -> None:
    embedded = built.app / "_internal" / "agent_assist" / "release.pub"
    assert load_public_key(embedded) == load_public_key(built.public_key)
    manifest = built.folder / f"agent-assist-{__version__}.manifest.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ASSIST_")}
    done = run(built.app / "agent-assist", "verify", manifest, env=env)  # no --key
    assert done.returncode == 0, done.stderr
    assert f"signed by key {load_public_key(built.public_key).id_hex}" in done.stdout


def _elf_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    found.append(path)
    return found


@release
@slow_build
def test_the_bundle_has_no_build_machine_runpath_and_stripped_libraries(built: Release) -> None:
    need("patchelf", "patchelf")
    foreign = []
    for path in _elf_files(built.app):
        rpath = run("patchelf", "--print-rpath", path).stdout.strip()
        foreign += [f"{path}: {e}" for e in rpath.split(":") if e and not e.startswith("$ORIGIN")]
    assert foreign == []
    assert (built.app / "_internal" / "libpython3.11.so.1.0").stat().st_size < 10_000_000


@release
@slow_build
def test_the_deb_carries_none_of_the_build_machines_gtk_or_glib(deb_root: Path) -> None:
    carried = [
        p.name
        for p in (deb_root / "opt" / "agent-assist").rglob("*")
        if re.match(r"lib(gtk|gdk|glib|gobject|gio|cairo|pango|atk|harfbuzz)", p.name)
    ]
    assert carried == []
    assert not list((deb_root / "opt").rglob("libqgtk3.so"))


@release
@slow_build
def test_the_deb_depends_on_what_qt_and_audio_need(built: Release) -> None:
    fields = run("dpkg-deb", "-f", built.artifact("*.deb"), "Depends", "Recommends").stdout
    depends = fields.split("Recommends:")[0]
    names = {d.split()[0] for d in depends.removeprefix("Depends:").split(",")}
    assert {"libxcb1", "libgl1", "libegl1", "libxcb-cursor0", "libportaudio2", "libc6"} <= names
    recommends = fields.split("Recommends:")[1]
    assert "libxcb" not in recommends  # what the window needs is a Depends


@release
@slow_build
def test_the_deb_has_a_changelog_a_man_page_and_a_shared_models_folder(deb_root: Path) -> None:
    doc = deb_root / "usr" / "share" / "doc" / "agent-assist"
    assert gzip.decompress((doc / "changelog.gz").read_bytes()).startswith(
        f"agent-assist ({__version__}) ".encode()
    )
    assert "Copyright: 2025" in (doc / "copyright").read_text()
    page = gzip.decompress((deb_root / "usr/share/man/man1/agent-assist.1.gz").read_bytes())
    assert b".SH NAME" in page
    assert b"update check" in page  # every command, from --help
    assert (deb_root / "var" / "lib" / "agent-assist" / "models").is_dir()
    link = deb_root / "usr" / "bin" / "agent-assist"
    assert os.readlink(link) == "/opt/agent-assist/agent-assist"


@release
@slow_build
def test_lintian_finds_no_errors_in_the_deb(built: Release) -> None:
    lintian = need("lintian", "lintian")
    done = run(lintian, "--tag-display-limit", "0", built.artifact("*.deb"), timeout=600)
    tags = [line for line in done.stdout.splitlines() if line[:2] in ("E:", "W:")]
    errors = [line for line in tags if line.startswith("E:")]
    assert errors == [], "\n".join(tags)  # a new error: fix it, or override it with a reason
    overrides = (ROOT / "packaging" / "linux" / "lintian-overrides").read_text().splitlines()
    for number, line in enumerate(overrides):
        if line.startswith("agent-assist:"):
            assert overrides[number - 1].startswith("#") or overrides[number - 1].startswith(
                "agent-assist:"
            ), f"override without a reason: {line}"


@release
@slow_build
def test_the_installed_app_opens_its_window_on_x11_with_the_systems_libraries(
    deb_root: Path, tmp_path: Path
) -> None:
    xvfb = need("xvfb-run", "xvfb")
    app = deb_root / "opt" / "agent-assist" / "agent-assist"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_ASSIST_", "QT_"))}
    env.update(
        HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"), XDG_STATE_HOME=str(tmp_path / "state"),
        AGENT_ASSIST_KB=str(tmp_path / "kb.db"),
    )  # fmt: skip
    imported = run(app, "kb", "import", "demo", "--db", tmp_path / "kb.db", "--no-embed", env=env)
    assert imported.returncode == 0, imported.stderr
    shot = tmp_path / "window.png"
    done = run(
        xvfb, "-a", "-s", "-screen 0 1280x800x24", app, "demo", "--speed", "8",
        "--quit-after", "4", "--screenshot", shot, env=env, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_build_release_refuses_to_sign_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ASSIST_")}
    done = run(ROOT / "packaging" / "build-release", env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("build-release: no signing key: set AGENT_ASSIST_SIGNING_KEY")
    assert "--test-key" in done.stderr


def test_build_release_will_not_label_a_real_key_a_test(tmp_path: Path) -> None:
    key = tmp_path / "release.key"
    key.write_bytes(generate_key().to_pem())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ASSIST_")}
    env["AGENT_ASSIST_SIGNING_KEY"] = str(key)
    done = run(ROOT / "packaging" / "build-release", "--test-key", env=env, timeout=60)
    assert done.returncode == 1
    assert "exclude each other" in done.stderr


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
    assert files == {"agent-assist.exe", "agent-assist-app.exe", "libvosk.dll"}
    directories = {row[0]: row for row in _msi_table(msi, "Directory")}
    assert directories["INSTALLDIR"][1:] == ["ProgramFiles64Folder", "Agent Assist"]


def test_the_start_menu_opens_the_windowed_executable(msi: Path) -> None:
    (shortcut,) = _msi_table(msi, "Shortcut")
    assert shortcut[4] == "[INSTALLDIR]agent-assist-app.exe"  # no console window beside it


def test_the_msi_replaces_same_or_older_versions_and_refuses_downgrades(
    msi: Path, tmp_path: Path
) -> None:
    upgrades = {row[-1]: row for row in _msi_table(msi, "Upgrade")}
    code, _, maximum, _, attributes, *_ = upgrades["WIX_UPGRADE_DETECTED"]
    assert code == "{7A0C6E3B-5E2F-4B7C-9D51-2C4A3F0B8E61}"  # the stable UpgradeCode
    assert maximum == "0.3.1"
    assert int(attributes) & 512  # inclusive: a rebuild or 0.3.1rc1 -> 0.3.1 replaces it
    downgrade = upgrades["WIX_DOWNGRADE_DETECTED"]
    assert (downgrade[1], int(downgrade[4]) & 2) == ("0.3.1", 2)  # newer installed: detect only
    conditions = _msi_table(msi, "LaunchCondition")
    assert conditions[0][0] == "NOT WIX_DOWNGRADE_DETECTED"
    properties = dict(row[:2] for row in _msi_table(msi, "Property"))
    assert properties["ProductVersion"] == "0.3.1"  # MSI versions are numbers only
    rebuilt = dict(row[:2] for row in _msi_table(build_stand_in_msi(tmp_path, "0.3.1"), "Property"))
    assert rebuilt["ProductCode"] != properties["ProductCode"]  # a new product every build...
    assert rebuilt["UpgradeCode"] == properties["UpgradeCode"]  # ...of the same upgrade family


def test_the_silent_install_properties_are_secure(msi: Path) -> None:
    properties = dict(row[:2] for row in _msi_table(msi, "Property"))
    secure = set(properties["SecureCustomProperties"].split(";"))
    assert {"SERVER_URL", "SERVER_PIN", "CA_FILE", "MODEL_PATH", "LOCKED"} <= secure
    assert {"WIX_UPGRADE_DETECTED", "WIX_DOWNGRADE_DETECTED"} <= secure


def test_the_msi_records_the_silent_install_properties_where_the_app_reads_them(
    msi: Path,
) -> None:
    from agent_assist.winpolicy import MSI_KEY, MSI_VALUES

    values = {row[3]: row[4] for row in _msi_table(msi, "Registry") if row[2] == MSI_KEY}
    assert values == {
        **{name: f"[{prop}]" for name, prop in _MSI_PROPERTIES.items()},
        "Locked": "[LOCKED]",
    }
    assert set(values) == {*MSI_VALUES, "Locked"}


_MSI_PROPERTIES = {
    "ServerUrl": "SERVER_URL",
    "ServerPin": "SERVER_PIN",
    "CaFile": "CA_FILE",
    "ModelPath": "MODEL_PATH",
}


def test_what_msiexec_records_becomes_the_site_policy(msi: Path, tmp_path: Path) -> None:
    # msiexec /i ... SERVER_URL=... CA_FILE=... LOCKED="server.*" (SERVER_PIN, MODEL_PATH not given)
    from agent_assist.policy import current_settings
    from agent_assist.winpolicy import MSI_KEY

    given = {
        "SERVER_URL": "wss://marquee.example:8765/",
        "CA_FILE": r"C:\certs\site-ca.pem",
        "LOCKED": "server.*",
    }
    recorded = {
        row[3]: re.sub(r"\[(\w+)\]", lambda m: given.get(m.group(1), ""), row[4])
        for row in _msi_table(msi, "Registry")
        if row[2] == MSI_KEY
    }

    class Registry:
        def values(self, key: str) -> dict[str, object] | None:
            return recorded if key == MSI_KEY else None

    settings = current_settings(user=tmp_path / "none.toml", registry=Registry())
    assert settings.problems == ()
    assert settings.get("server.url") == "wss://marquee.example:8765/"
    assert settings.get("server.ca_file") == r"C:\certs\site-ca.pem"
    assert settings.get("server.pin_sha256") == ""
    assert settings.locked("server.url")
    assert not settings.locked("models.path")


def test_the_spec_builds_a_windowed_executable_on_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The spec run with stand-ins for PyInstaller's build steps, as on Windows."""
    import types

    made: list[dict[str, object]] = []

    class Step:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.kwargs = kwargs
            self.scripts = self.binaries = self.datas = self.pure = []
            if "console" in kwargs:
                made.append(kwargs)

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = lambda package: []  # type: ignore[attr-defined]
    hooks.collect_submodules = lambda package: []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", "win32")
    spec = ROOT / "packaging" / "agent-assist.spec"
    names = {"Analysis": Step, "PYZ": Step, "EXE": Step, "COLLECT": Step}
    exec(compile(spec.read_text(), str(spec), "exec"), {**names, "SPECPATH": str(spec.parent)})
    assert [(m["name"], m["console"]) for m in made] == [
        ("agent-assist", True),
        ("agent-assist-app", False),
    ]
