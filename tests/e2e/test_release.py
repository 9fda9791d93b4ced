"""Signed releases, update decisions, Authenticode and offline bundles (throwaway keys only)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agent_assist.bundle import create_bundle, open_bundle
from agent_assist.locations import MachinePaths
from agent_assist.release import (
    check_files,
    is_newer,
    manifest_for,
    sign_release,
    trusted_key,
    verify_release,
)
from agent_assist.signing import (
    PublicKey,
    SigningKey,
    VerificationError,
    generate_key,
    load_signing_key,
    sign_bytes,
    sign_file,
    verify_bytes,
    verify_file,
)
from audio.models import ModelStore
from tests.adapters.test_models import MODEL_FILES
from tests.support.packaging import build_stand_in_msi, need

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, env=env, timeout=240
    )


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "agent_assist", *args, env=env)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_ASSIST_")}
    return {**env, **extra}


@pytest.fixture
def key() -> SigningKey:
    return generate_key()


@pytest.fixture
def pubkey_file(tmp_path: Path, key: SigningKey) -> Path:
    path = tmp_path / "release.pub"
    path.write_text(key.public.to_text())
    return path


@pytest.fixture
def release(tmp_path: Path, key: SigningKey) -> Path:
    """A signed release folder with two artifacts; returns the manifest's path."""
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "agent-assist_0.2.0_amd64.deb").write_bytes(os.urandom(300_000))
    (folder / "agent-assist-0.2.0-linux-x86_64.tar.gz").write_bytes(os.urandom(200_000))
    return sign_release(folder, key, name="agent-assist", version="0.2.0")


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# -- release manifests ------------------------------------------------------------------


def test_a_signed_release_verifies_and_lists_every_artifact(release: Path, key: SigningKey) -> None:
    manifest = verify_release(release, key=key.public)
    assert manifest.name == "agent-assist"
    assert manifest.version == "0.2.0"
    assert sorted(a.name for a in manifest.artifacts) == [
        "agent-assist-0.2.0-linux-x86_64.tar.gz",
        "agent-assist_0.2.0_amd64.deb",
    ]
    deb = release.parent / "agent-assist_0.2.0_amd64.deb"
    listed = next(a for a in manifest.artifacts if a.name == deb.name)
    assert listed.size == deb.stat().st_size


def test_the_manifest_is_json_with_name_version_created_and_artifact_hashes(
    release: Path,
) -> None:
    document = json.loads(release.read_bytes())
    assert {"name", "version", "created", "artifacts"} <= set(document)
    for artifact in document["artifacts"]:
        assert set(artifact) == {"name", "size", "sha256"}
        assert len(artifact["sha256"]) == 64


def test_one_changed_byte_in_an_artifact_is_refused(release: Path, key: SigningKey) -> None:
    flip_byte(release.parent / "agent-assist_0.2.0_amd64.deb", 150_000)
    with pytest.raises(VerificationError, match=r"agent-assist_0\.2\.0_amd64\.deb: SHA-256"):
        verify_release(release, key=key.public)


def test_a_truncated_or_missing_artifact_is_refused(release: Path, key: SigningKey) -> None:
    tarball = release.parent / "agent-assist-0.2.0-linux-x86_64.tar.gz"
    tarball.write_bytes(tarball.read_bytes()[:-1])
    (release.parent / "agent-assist_0.2.0_amd64.deb").unlink()
    with pytest.raises(VerificationError) as error:
        verify_release(release, key=key.public)
    assert "2 of 2" in str(error.value)
    assert "199999 bytes, signed 200000" in str(error.value)
    assert "agent-assist_0.2.0_amd64.deb: missing" in str(error.value)


def test_a_release_signed_with_another_key_is_refused(release: Path) -> None:
    stranger = generate_key().public
    with pytest.raises(VerificationError, match="not with the trusted key"):
        verify_release(release, key=stranger)


def test_a_tampered_manifest_is_refused(release: Path, key: SigningKey) -> None:
    document = json.loads(release.read_bytes())
    document["artifacts"][0]["sha256"] = "0" * 64
    release.write_text(json.dumps(document, indent=2) + "\n")
    with pytest.raises(VerificationError, match="changed after it was signed"):
        verify_release(release, key=key.public)


def test_a_forged_signature_with_the_right_key_id_is_refused(
    release: Path, key: SigningKey
) -> None:
    # another key claiming the trusted key's id: the id matches, the signature cannot
    impostor = generate_key()
    impostor.public = PublicKey(key.public.key_id, impostor.public.raw)
    signature = sign_bytes(release.read_bytes(), impostor, name=release.name)
    release.with_name(release.name + ".minisig").write_text(signature)
    with pytest.raises(VerificationError, match="does not match"):
        verify_release(release, key=key.public)


def test_a_changed_trusted_comment_is_refused(tmp_path: Path, key: SigningKey) -> None:
    signature = sign_bytes(b"payload", key, name="x", trusted_comment="file:x version:1")
    forged = signature.replace("version:1", "version:9")
    with pytest.raises(VerificationError, match="trusted comment was changed"):
        verify_bytes(b"payload", forged, key.public, source="x")


def test_check_files_refuses_a_file_the_manifest_does_not_list(
    tmp_path: Path, key: SigningKey
) -> None:
    listed = tmp_path / "a.bin"
    listed.write_bytes(b"a")
    manifest = manifest_for({"a.bin": listed}, name="x", version="1.0")
    with pytest.raises(VerificationError, match=r"b\.bin: not in the signed manifest"):
        check_files(manifest, {"b.bin": listed})


@pytest.mark.parametrize(
    "unsafe", ["../../etc/passwd", "/etc/passwd", "C:/Windows/x.dll", "a\\b", "a/./b", "f:ads"]
)
def test_an_unsafe_artifact_name_in_a_signed_manifest_is_refused(
    tmp_path: Path, key: SigningKey, unsafe: str
) -> None:
    document = {
        "format": 1,
        "kind": "release",
        "name": "x",
        "version": "1.0",
        "created": "2026-01-01T00:00:00Z",
        "artifacts": [{"name": unsafe, "size": 1, "sha256": "0" * 64}],
    }
    manifest = tmp_path / "x-1.0.manifest.json"
    manifest.write_text(json.dumps(document))
    manifest.with_name(manifest.name + ".minisig").write_text(
        sign_bytes(manifest.read_bytes(), key, name=manifest.name)
    )
    with pytest.raises(VerificationError, match="unsafe path"):
        verify_release(manifest, key=key.public)


# -- minisign compatibility ----------------------------------------------------------------


def test_each_artifact_has_a_detached_signature_that_minisign_accepts(
    release: Path, pubkey_file: Path
) -> None:
    minisign = need("minisign", "minisign")
    for artifact in ("agent-assist_0.2.0_amd64.deb", "agent-assist-0.2.0-linux-x86_64.tar.gz"):
        path = release.parent / artifact
        checked = run(minisign, "-V", "-q", "-m", path, "-p", pubkey_file)
        assert checked.returncode == 0, checked.stderr
    checked = run(minisign, "-V", "-q", "-m", release, "-p", pubkey_file)
    assert checked.returncode == 0, checked.stderr


def test_minisign_rejects_a_changed_artifact_too(release: Path, pubkey_file: Path) -> None:
    minisign = need("minisign", "minisign")
    deb = release.parent / "agent-assist_0.2.0_amd64.deb"
    flip_byte(deb, 10)
    assert run(minisign, "-V", "-q", "-m", deb, "-p", pubkey_file).returncode != 0


def test_signatures_made_by_the_minisign_tool_verify_here(tmp_path: Path) -> None:
    minisign = need("minisign", "minisign")
    secret, public, data = tmp_path / "m.key", tmp_path / "m.pub", tmp_path / "data.bin"
    data.write_bytes(os.urandom(50_000))
    made = run(minisign, "-G", "-W", "-s", secret, "-p", public)
    assert made.returncode == 0, made.stderr
    signed = run(minisign, "-S", "-W", "-s", secret, "-m", data, "-t", "made by minisign")
    assert signed.returncode == 0, signed.stderr
    key = PublicKey.from_text(public.read_text())
    assert verify_file(data, key) == "made by minisign"
    flip_byte(data, 0)
    with pytest.raises(VerificationError):
        verify_file(data, key)


def test_an_encrypted_signing_key_needs_its_passphrase(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "release.key"
    path.write_bytes(key.to_pem(b"correct horse"))
    assert b"ENCRYPTED" in path.read_bytes()
    with pytest.raises(Exception, match="AGENT_ASSIST_SIGNING_PASSPHRASE"):
        load_signing_key(path)
    with pytest.raises(Exception, match="passphrase is wrong"):
        load_signing_key(path, b"wrong")
    assert load_signing_key(path, b"correct horse").public == key.public


def test_packaging_sign_keygen_keeps_the_secret_key_private_and_never_overwrites(
    tmp_path: Path,
) -> None:
    made = run(ROOT / "packaging" / "sign", "keygen", tmp_path / "keys", env=clean_env())
    assert made.returncode == 0, made.stderr
    secret = tmp_path / "keys" / "release.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    key = load_signing_key(secret)
    assert PublicKey.from_text((tmp_path / "keys" / "release.pub").read_text()) == key.public
    again = run(ROOT / "packaging" / "sign", "keygen", tmp_path / "keys", env=clean_env())
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr
    assert load_signing_key(secret).public == key.public


def test_without_any_trusted_key_verification_refuses_and_says_how_to_add_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AGENT_ASSIST_RELEASE_KEY", raising=False)
    with pytest.raises(VerificationError, match="--key PUBKEY"):
        trusted_key()


def install_machine_key(machine: MachinePaths, key: SigningKey) -> None:
    machine.policy_dir.mkdir(parents=True, exist_ok=True)
    machine.release_key.write_text(key.public.to_text())


def test_the_machine_wide_key_from_it_is_trusted(
    monkeypatch: pytest.MonkeyPatch, machine: MachinePaths, key: SigningKey
) -> None:
    monkeypatch.delenv("AGENT_ASSIST_RELEASE_KEY", raising=False)
    install_machine_key(machine, key)
    assert trusted_key() == key.public


def test_the_environment_names_the_key_only_on_a_machine_without_a_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, machine: MachinePaths, key: SigningKey
) -> None:
    mine = generate_key()
    (tmp_path / "mine.pub").write_text(mine.public.to_text())
    monkeypatch.setenv("AGENT_ASSIST_RELEASE_KEY", str(tmp_path / "mine.pub"))
    assert trusted_key() == mine.public  # a developer's machine: no machine-wide policy
    install_machine_key(machine, key)
    assert trusted_key() == key.public  # IT's key wins; the variable is ignored


def test_a_site_policy_alone_also_shuts_out_the_environment_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, machine: MachinePaths
) -> None:
    mine = generate_key()
    (tmp_path / "mine.pub").write_text(mine.public.to_text())
    monkeypatch.setenv("AGENT_ASSIST_RELEASE_KEY", str(tmp_path / "mine.pub"))
    machine.policy_dir.mkdir(parents=True)
    machine.site_policy.write_text("")
    with pytest.raises(VerificationError, match="no trusted release key"):
        trusted_key()


def test_the_key_the_build_embedded_is_trusted_when_it_has_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, machine: MachinePaths, key: SigningKey
) -> None:
    import agent_assist.release as release_module

    embedded = tmp_path / "release.pub"
    embedded.write_text(key.public.to_text())
    monkeypatch.setattr(release_module, "BUILD_KEY_FILE", embedded)
    monkeypatch.delenv("AGENT_ASSIST_RELEASE_KEY", raising=False)
    assert trusted_key() == key.public
    it = generate_key()
    install_machine_key(machine, it)
    assert trusted_key() == it.public  # IT's own key (a site that re-signs) comes first


# -- versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "current", "newer"),
    [
        ("0.10.0", "0.9.9", True),
        ("1.0", "1.0.0", False),
        ("1.0.1", "1.0", True),
        ("1.0rc1", "1.0", False),
        ("1.0", "1.0rc2", True),
        ("1.0rc2", "1.0b3", True),
        ("2.0a1", "1.99", True),
    ],
)
def test_versions_compare_as_numbers_with_pre_releases_first(
    candidate: str, current: str, newer: bool
) -> None:
    assert is_newer(candidate, current) is newer


# -- the verify command ------------------------------------------------------------------------


def test_cli_verify_prints_each_artifact_and_exits_0(release: Path, pubkey_file: Path) -> None:
    done = cli("verify", release, "--key", pubkey_file, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert "ok " in done.stdout
    assert "agent-assist_0.2.0_amd64.deb" in done.stdout
    assert "verified: agent-assist 0.2.0" in done.stdout


def test_cli_verify_looks_for_artifacts_in_dir(
    release: Path, pubkey_file: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "downloads"
    shutil.copytree(release.parent, elsewhere)
    for artifact in release.parent.glob("*.deb"):
        artifact.unlink()
    assert cli("verify", release, "--key", pubkey_file, env=clean_env()).returncode == 1
    done = cli("verify", release, "--key", pubkey_file, "--dir", elsewhere, env=clean_env())
    assert done.returncode == 0, done.stderr


def test_cli_verify_refuses_a_changed_artifact_with_one_line_and_exit_1(
    release: Path, pubkey_file: Path
) -> None:
    flip_byte(release.parent / "agent-assist-0.2.0-linux-x86_64.tar.gz", 5)
    done = cli("verify", release, "--key", pubkey_file, env=clean_env())
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "refused" in done.stderr
    assert "linux-x86_64.tar.gz" in done.stderr


def test_cli_verify_takes_the_key_from_the_environment(release: Path, pubkey_file: Path) -> None:
    done = cli("verify", release, env=clean_env(AGENT_ASSIST_RELEASE_KEY=str(pubkey_file)))
    assert done.returncode == 0, done.stderr


def test_packaging_verify_wraps_the_command(release: Path, pubkey_file: Path) -> None:
    done = run(ROOT / "packaging" / "verify", release, "--key", pubkey_file, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert "verified: agent-assist 0.2.0" in done.stdout


# -- Authenticode ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unsigned_msi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MSI from the real .wxs, built with wixl from a staged stand-in of the app."""
    return build_stand_in_msi(tmp_path_factory.mktemp("msi"), "0.2.0")


@pytest.fixture(scope="module")
def code_signing_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed code-signing certificate and its key (openssl)."""
    openssl = need("openssl", "openssl")
    base = tmp_path_factory.mktemp("codesign")
    cert, key = base / "cert.pem", base / "key.pem"
    made = run(
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=Agent Assist test code signing", "-keyout", key, "-out", cert,
        "-addext", "extendedKeyUsage=codeSigning", "-addext", "keyUsage=digitalSignature",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return cert, key


def authenticode_sign(msi: Path, cert: Path, key: Path, out: Path) -> None:
    need("osslsigncode", "osslsigncode")
    signed = run(
        ROOT / "packaging" / "sign", "authenticode", msi,
        "--cert", cert, "--key", key, "--ca", cert, "--out", out,
        env=clean_env(),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stdout + signed.stderr


def test_an_msi_authenticode_signed_with_a_test_certificate_verifies(
    unsigned_msi: Path, code_signing_cert: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = code_signing_cert
    signed = tmp_path / "signed.msi"
    authenticode_sign(unsigned_msi, cert, key, signed)
    checked = run("osslsigncode", "verify", "-CAfile", cert, "-in", signed)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Signature verification: ok" in checked.stdout
    unsigned = run("osslsigncode", "verify", "-CAfile", cert, "-in", unsigned_msi)
    assert unsigned.returncode != 0


def test_an_msi_changed_after_authenticode_signing_fails_verification(
    unsigned_msi: Path, code_signing_cert: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = code_signing_cert
    signed = tmp_path / "signed.msi"
    authenticode_sign(unsigned_msi, cert, key, signed)
    data = signed.read_bytes()
    offset = data.index(b"On-device coaching")  # the shortcut's description, a signed stream
    flip_byte(signed, offset)
    checked = run("osslsigncode", "verify", "-CAfile", cert, "-in", signed)
    assert checked.returncode != 0


# -- offline bundles ---------------------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "vosk-model-tiny-xx-0.1"
    for name, data in MODEL_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    records = [
        {
            "id": "card-arrival",
            "title": "Card has not arrived yet",
            "body": "1. Check the dispatch date.",
            "tags": ["card"],
            "triggers": ["my card has not come yet"],
        },
        {
            "id": "pin-reset",
            "title": "Reset a card PIN",
            "body": "1. Verify the customer.",
            "tags": ["pin"],
            "triggers": ["i forgot my pin"],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def bundle(tmp_path: Path, key: SigningKey, model_dir: Path, articles: Path) -> Path:
    out = tmp_path / "site-bundle.zip"
    create_bundle(
        out, key=key, name="site", version="2026.1.5", model_dir=model_dir, kb_file=articles
    )
    return out


def rewrite_zip(source: Path, out: Path, change: dict[str, bytes | None]) -> None:
    """Copy a zip, replacing (bytes) or dropping (None) the named members, adding new ones."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename in change:
                data = change[info.filename]
                if data is not None:
                    zout.writestr(info.filename, data)
            else:
                zout.writestr(info, zin.read(info))
        for name, data in change.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)


def test_a_bundle_round_trip_unpacks_exactly_what_was_signed(
    bundle: Path, key: SigningKey, tmp_path: Path, model_dir: Path, articles: Path
) -> None:
    dest = tmp_path / "unpacked"
    manifest = open_bundle(bundle, dest, key=key.public)
    assert manifest.contents == {"model": "model/vosk-model-tiny-xx-0.1", "kb": "kb/articles.jsonl"}
    unpacked_model = dest / "model" / "vosk-model-tiny-xx-0.1"
    for name, data in MODEL_FILES.items():
        assert (unpacked_model / name).read_bytes() == data
    assert (dest / "kb" / "articles.jsonl").read_bytes() == articles.read_bytes()


def test_models_install_from_a_bundle_installs_its_model(
    bundle: Path, key: SigningKey, tmp_path: Path
) -> None:
    store = ModelStore(root=tmp_path / "models")
    model = store.install(str(bundle), key=key.public)
    assert model.name == "vosk-model-tiny-xx-0.1"
    assert (model.path / "am" / "final.mdl").read_bytes() == MODEL_FILES["am/final.mdl"]
    assert [p.name for p in store.root.iterdir() if p.name != ".downloads"] == [model.name]


def test_cli_models_install_from_a_bundle_uses_the_trusted_key(
    bundle: Path, pubkey_file: Path, tmp_path: Path
) -> None:
    env = clean_env(AGENT_ASSIST_RELEASE_KEY=str(pubkey_file))
    done = cli("models", "install", "--from", bundle, "--models-dir", tmp_path / "m", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m" / "vosk-model-tiny-xx-0.1" / "am" / "final.mdl").is_file()


def test_a_tampered_bundle_is_refused_and_installs_nothing(
    bundle: Path, key: SigningKey, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered.zip"
    rewrite_zip(bundle, tampered, {"model/vosk-model-tiny-xx-0.1/conf/model.conf": b"--evil\n"})
    store = ModelStore(root=tmp_path / "models")
    with pytest.raises(VerificationError, match="changed after signing"):
        store.install(str(tampered), key=key.public)
    assert [p for p in store.root.iterdir() if not p.name.startswith(".")] == []
    assert not list(store.root.glob(".installing-*"))


def test_a_bundle_with_an_unsigned_extra_file_is_refused(
    bundle: Path, key: SigningKey, tmp_path: Path
) -> None:
    tampered = tmp_path / "extra.zip"
    rewrite_zip(bundle, tampered, {"model/vosk-model-tiny-xx-0.1/graph/extra.fst": b"x"})
    with pytest.raises(VerificationError, match="unsigned"):
        open_bundle(tampered, tmp_path / "out", key=key.public)


def test_a_bundle_missing_a_signed_file_is_refused(
    bundle: Path, key: SigningKey, tmp_path: Path
) -> None:
    tampered = tmp_path / "short.zip"
    rewrite_zip(bundle, tampered, {"kb/articles.jsonl": None})
    with pytest.raises(VerificationError, match="missing"):
        open_bundle(tampered, tmp_path / "out", key=key.public)


def test_a_bundle_whose_manifest_was_edited_is_refused(
    bundle: Path, key: SigningKey, tmp_path: Path
) -> None:
    with zipfile.ZipFile(bundle) as zf:
        document = json.loads(zf.read("bundle.json"))
    document["version"] = "9999.1.1"
    tampered = tmp_path / "edited.zip"
    rewrite_zip(bundle, tampered, {"bundle.json": json.dumps(document).encode()})
    with pytest.raises(VerificationError, match="changed after it was signed"):
        open_bundle(tampered, tmp_path / "out", key=key.public)


def test_a_bundle_signed_by_another_key_is_refused(bundle: Path, tmp_path: Path) -> None:
    store = ModelStore(root=tmp_path / "models")
    with pytest.raises(VerificationError, match="not with the trusted key"):
        store.install(str(bundle), key=generate_key().public)


def test_an_unsigned_bundle_is_refused(bundle: Path, key: SigningKey, tmp_path: Path) -> None:
    unsigned = tmp_path / "unsigned.zip"
    rewrite_zip(bundle, unsigned, {"bundle.json.minisig": None})
    with pytest.raises(VerificationError, match="not a signed bundle"):
        ModelStore(root=tmp_path / "models").install(str(unsigned), key=key.public)


def test_cli_bundle_create_then_install_brings_the_model_and_the_articles(
    tmp_path: Path, key: SigningKey, pubkey_file: Path, model_dir: Path, articles: Path
) -> None:
    secret = tmp_path / "release.key"
    secret.write_bytes(key.to_pem())
    out = tmp_path / "offline.zip"
    made = cli(
        "bundle", "create", out, "--key", secret, "--model", model_dir, "--kb-file", articles,
        "--name", "manila", "--version", "2026.1.5", env=clean_env(),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "signed by key " + key.public.id_hex in made.stderr

    verified = cli("verify", out, "--key", pubkey_file, env=clean_env())
    assert verified.returncode == 0, verified.stderr
    assert "verified: manila 2026.1.5 (bundle" in verified.stdout

    db = tmp_path / "kb.db"
    installed = cli(
        "bundle", "install", out, "--key", pubkey_file, "--models-dir", tmp_path / "models",
        "--db", db, "--no-embed", env=clean_env(),
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "models" / "vosk-model-tiny-xx-0.1" / "am" / "final.mdl").is_file()
    found = cli(
        "kb", "search", "forgot my pin", "--db", db, "--keyword-only", "--json", env=clean_env()
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["id"] == "pin-reset"


def test_cli_bundle_install_refuses_a_tampered_bundle_with_exit_1(
    bundle: Path, pubkey_file: Path, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered.zip"
    rewrite_zip(bundle, tampered, {"kb/articles.jsonl": b'{"id": "evil"}\n'})
    done = cli(
        "bundle", "install", tampered, "--key", pubkey_file, "--models-dir", tmp_path / "models",
        "--db", tmp_path / "kb.db", "--no-embed", env=clean_env(),
    )  # fmt: skip
    assert done.returncode == 1
    assert "refused" in done.stderr
    assert not (tmp_path / "models").exists()
    assert not (tmp_path / "kb.db").exists()


def test_sign_file_writes_a_minisig_beside_the_file(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "agent-assist.msi"
    path.write_bytes(b"MSI")
    signature = sign_file(path, key)
    assert signature.name == "agent-assist.msi.minisig"
    assert "file:agent-assist.msi" in verify_file(path, key.public)


def test_cli_bundle_create_exports_the_articles_of_a_knowledge_cache(
    tmp_path: Path, key: SigningKey, articles: Path
) -> None:
    db = tmp_path / "kb.db"
    imported = cli("kb", "import", articles, "--db", db, "--no-embed", env=clean_env())
    assert imported.returncode == 0, imported.stderr
    secret = tmp_path / "release.key"
    secret.write_bytes(key.to_pem())
    out = tmp_path / "kb-only.zip"
    made = cli("bundle", "create", out, "--key", secret, "--kb", db, env=clean_env())
    assert made.returncode == 0, made.stderr
    manifest = open_bundle(out, tmp_path / "unpacked", key=key.public)
    assert manifest.contents == {"kb": "kb/articles.jsonl"}
    exported = (tmp_path / "unpacked" / "kb" / "articles.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in exported) == ["card-arrival", "pin-reset"]


# -- test releases, single artifacts, expiry ---------------------------------------------------


@pytest.fixture
def test_release(tmp_path: Path, key: SigningKey) -> Path:
    """A release signed by packaging/sign with --test (as build-release --test-key does)."""
    folder = tmp_path / "test-release"
    folder.mkdir()
    (folder / "agent-assist_0.2.0_amd64.deb").write_bytes(os.urandom(10_000))
    secret = tmp_path / "throwaway.key"
    secret.write_bytes(key.to_pem())
    signed = run(
        ROOT / "packaging" / "sign", "release", folder, "--key", secret, "--version", "0.2.0",
        "--test", "--expires-days", "7", env=clean_env(),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert "a TEST release" in signed.stdout
    return folder / "agent-assist-0.2.0.manifest.json"


def test_a_test_release_says_so_in_its_signed_manifest(test_release: Path) -> None:
    document = json.loads(test_release.read_text())
    assert document["test"] is True
    assert document["expires"] > document["created"]


def test_verify_refuses_a_test_release_unless_allowed(
    test_release: Path, pubkey_file: Path
) -> None:
    refused = cli("verify", test_release, "--key", pubkey_file, env=clean_env())
    assert refused.returncode == 1
    assert refused.stderr == (
        "agent-assist: agent-assist 0.2.0: refused, a test release signed with a throwaway key "
        "(--allow-test accepts it)\n"
    )
    allowed = cli("verify", test_release, "--key", pubkey_file, "--allow-test", env=clean_env())
    assert allowed.returncode == 0, allowed.stderr
    assert "(TEST release)" in allowed.stdout


def test_verify_refuses_a_test_releases_single_artifact_unless_allowed(
    test_release: Path, pubkey_file: Path
) -> None:
    deb = test_release.parent / "agent-assist_0.2.0_amd64.deb"
    refused = cli("verify", deb, "--key", pubkey_file, env=clean_env())
    assert refused.returncode == 1
    assert "signed with a throwaway test key" in refused.stderr
    assert cli("verify", deb, "--key", pubkey_file, "--allow-test", env=clean_env()).returncode == 0


def test_verify_checks_a_single_artifact_against_its_signature(
    release: Path, pubkey_file: Path, tmp_path: Path
) -> None:
    deb = release.parent / "agent-assist_0.2.0_amd64.deb"
    done = cli("verify", deb, "--key", pubkey_file, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verified: agent-assist_0.2.0_amd64.deb (300000 bytes)")
    moved = tmp_path / "elsewhere.minisig"
    shutil.move(deb.with_name(deb.name + ".minisig"), moved)
    missing = cli("verify", deb, "--key", pubkey_file, env=clean_env())
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1
    assert "no readable signature" in missing.stderr
    done = cli("verify", deb, "--key", pubkey_file, "--sig", moved, env=clean_env())
    assert done.returncode == 0, done.stderr
    flip_byte(deb, 7)
    changed = cli("verify", deb, "--key", pubkey_file, "--sig", moved, env=clean_env())
    assert changed.returncode == 1
    assert "changed after it was signed" in changed.stderr


def test_a_malformed_expiry_in_a_signed_manifest_is_refused(
    tmp_path: Path, key: SigningKey
) -> None:
    document = {
        "format": 1, "kind": "release", "name": "x", "version": "1.0",
        "created": "2026-01-01T00:00:00Z", "expires": "next week", "artifacts": [],
    }  # fmt: skip
    manifest = tmp_path / "x-1.0.manifest.json"
    manifest.write_text(json.dumps(document))
    manifest.with_name(manifest.name + ".minisig").write_text(
        sign_bytes(manifest.read_bytes(), key, name=manifest.name)
    )
    with pytest.raises(VerificationError, match="malformed expiry"):
        verify_release(manifest, key=key.public)
