"""Signed release manifests: what a release contains, checking it, and deciding on updates.

A release directory holds the artifacts (``.deb``, ``.tar.gz``, ``.msi`` ...), one
detached minisign signature per artifact (``NAME.minisig``, see
:mod:`agent_assist.signing`) and a manifest with its own signature::

    agent-assist-0.2.0.manifest.json          {"format": 1, "kind": "release",
    agent-assist-0.2.0.manifest.json.minisig   "name": "agent-assist", "version": "0.2.0",
                                               "created": "2026-01-01T12:00:00Z",
                                               "artifacts": [{"name": ..., "size": bytes,
                                                              "sha256": hex}, ...]}

:func:`verify_release` trusts nothing until the manifest's signature checks out
against a trusted public key, then requires every artifact to have exactly the
signed size and SHA-256. :func:`decide_update` is the update check's decision:
offer a release only when all of that holds and its version is newer.

The trusted key comes from, in order: an explicit path, ``AGENT_ASSIST_RELEASE_KEY``
(a path), the machine-wide ``release.pub`` beside the site policy, and
:data:`RELEASE_PUBLIC_KEY`, the key built into this version of the program.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agent_assist.signing import (
    PublicKey,
    SigningKey,
    VerificationError,
    load_public_key,
    sign_bytes,
    sign_file,
    verify_bytes,
)

__all__ = [
    "RELEASE_PUBLIC_KEY",
    "Artifact",
    "Manifest",
    "UpdateDecision",
    "VerificationError",
    "check_files",
    "decide_update",
    "is_newer",
    "manifest_for",
    "read_signed_manifest",
    "sign_release",
    "trusted_key",
    "verify_release",
]

FORMAT = 1
SIGNATURE_SUFFIX = ".minisig"

#: PLACEHOLDER. The project's release public key (minisign text) goes here when the
#: project has one; until then builds trust no built-in key, and verifying needs
#: ``--key``, ``AGENT_ASSIST_RELEASE_KEY`` or a machine-wide ``release.pub`` from IT.
RELEASE_PUBLIC_KEY: str | None = None

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?$")
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Artifact:
    """One signed file: ``name`` is a relative POSIX path (a plain file name in a release)."""

    name: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        """The artifact as the manifest lists it: name, size in bytes, SHA-256."""
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a release or bundle contains. ``contents`` maps roles (``model``, ``kb``) to paths."""

    name: str
    version: str
    created: str
    artifacts: tuple[Artifact, ...]
    kind: str = "release"
    contents: Mapping[str, str] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """The manifest as the JSON bytes that are signed (and written beside the release)."""
        document: dict[str, object] = {
            "format": FORMAT,
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "created": self.created,
            "artifacts": [a.to_json() for a in self.artifacts],
        }
        if self.contents:
            document["contents"] = dict(self.contents)
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "manifest") -> Manifest:
        """Parse a manifest strictly; anything unexpected is a VerificationError."""
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VerificationError(f"{source} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise VerificationError(f"{source} is not a format-{FORMAT} manifest")
        texts = {k: doc.get(k) for k in ("kind", "name", "version", "created")}
        if not all(isinstance(v, str) and v for v in texts.values()):
            raise VerificationError(f"{source} lacks kind, name, version or created")
        raw_artifacts = doc.get("artifacts")
        if not isinstance(raw_artifacts, list):
            raise VerificationError(f"{source} has no artifact list")
        artifacts = tuple(_artifact(entry, source) for entry in raw_artifacts)
        names = [a.name for a in artifacts]
        if len(set(names)) != len(names):
            raise VerificationError(f"{source} lists a file twice")
        contents = doc.get("contents", {})
        if not isinstance(contents, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in contents.items()
        ):
            raise VerificationError(f"{source} has malformed contents")
        return cls(
            name=str(texts["name"]),
            version=str(texts["version"]),
            created=str(texts["created"]),
            artifacts=artifacts,
            kind=str(texts["kind"]),
            contents={k: _safe_relative(v, source) for k, v in contents.items()},
        )


def _safe_relative(name: str, source: str) -> str:
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or ":" in name  # a drive letter or an NTFS alternate data stream
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise VerificationError(f"{source} names an unsafe path {name!r}")
    return name


def _artifact(entry: object, source: str) -> Artifact:
    if not isinstance(entry, dict):
        raise VerificationError(f"{source} has a malformed artifact entry")
    name, size, digest = entry.get("name"), entry.get("size"), entry.get("sha256")
    if not isinstance(name, str) or not isinstance(digest, str) or not _HEX64.match(digest):
        raise VerificationError(f"{source} has a malformed artifact entry {entry!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise VerificationError(f"{source}: {name} has no valid size")
    return Artifact(name=_safe_relative(name, source), size=size, sha256=digest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def manifest_for(
    files: Mapping[str, Path],
    *,
    name: str,
    version: str,
    kind: str = "release",
    contents: Mapping[str, str] | None = None,
    created: str | None = None,
) -> Manifest:
    """A manifest listing ``files`` ({name in the manifest: path on disk}) with sizes and hashes."""
    if not _VERSION.match(version):
        raise ValueError(f"{version!r} is not a version like 1.2.3 or 1.2.3rc1")
    artifacts = tuple(Artifact(n, p.stat().st_size, _sha256(p)) for n, p in sorted(files.items()))
    return Manifest(name, version, created or _now(), artifacts, kind, dict(contents or {}))


def sign_release(
    directory: Path, key: SigningKey, *, name: str, version: str, files: Sequence[Path] = ()
) -> Path:
    """Sign each artifact (``NAME.minisig``) and write the signed manifest; returns its path.

    ``files`` defaults to every file in ``directory`` that is not a signature or a manifest.
    """
    manifest_name = f"{name}-{version}.manifest.json"
    chosen = list(files) or [
        p
        for p in sorted(directory.iterdir())
        if p.is_file()
        and not p.name.endswith(SIGNATURE_SUFFIX)
        and not p.name.endswith(".manifest.json")
    ]
    for path in chosen:
        sign_file(path, key)
    manifest = manifest_for({p.name: p for p in chosen}, name=name, version=version)
    data = manifest.to_bytes()
    out = directory / manifest_name
    out.write_bytes(data)
    signature = sign_bytes(data, key, name=manifest_name)
    out.with_name(manifest_name + SIGNATURE_SUFFIX).write_text(signature, encoding="utf-8")
    return out


def read_signed_manifest(
    data: bytes, signature: str, key: PublicKey, *, source: str = "manifest"
) -> Manifest:
    """Check the manifest's signature, then parse it. Raises VerificationError."""
    verify_bytes(data, signature, key, source=source)
    return Manifest.from_bytes(data, source=source)


def check_files(manifest: Manifest, files: Mapping[str, Path]) -> None:
    """Require each of ``files`` ({manifest name: path}) to have the signed size and SHA-256.

    Every problem is gathered into one VerificationError naming each file.
    """
    listed = {a.name: a for a in manifest.artifacts}
    problems = []
    for name, path in sorted(files.items()):
        artifact = listed.get(name)
        if artifact is None:
            problems.append(f"{name}: not in the signed manifest")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != artifact.size:
            problems.append(f"{name}: {path.stat().st_size} bytes, signed {artifact.size}")
        elif _sha256(path) != artifact.sha256:
            problems.append(f"{name}: SHA-256 differs from the signed one")
    if problems:
        raise VerificationError(
            f"{manifest.name} {manifest.version}: refused, {len(problems)} of {len(files)} "
            f"file(s) do not match the signed manifest: " + "; ".join(problems)
        )


def verify_release(
    manifest_path: Path, *, key: PublicKey, directory: Path | None = None
) -> Manifest:
    """Verify a release: the manifest's signature, then every artifact's size and SHA-256.

    Artifacts are looked up in ``directory`` (default: the manifest's folder).
    Returns the manifest; raises one VerificationError on any mismatch.
    """
    sig_path = manifest_path.with_name(manifest_path.name + SIGNATURE_SUFFIX)
    for path in (manifest_path, sig_path):
        if not path.is_file():
            raise VerificationError(f"{path} does not exist: refused")
    data = manifest_path.read_bytes()
    signature = sig_path.read_bytes().decode("utf-8", "replace")
    manifest = read_signed_manifest(data, signature, key, source=manifest_path.name)
    folder = directory if directory is not None else manifest_path.parent
    check_files(manifest, {a.name: folder / a.name for a in manifest.artifacts})
    return manifest


def _version_key(version: str) -> tuple[tuple[int, ...], int, int]:
    match = _VERSION.match(version)
    if not match:
        raise VerificationError(f"{version!r} is not a version")
    release = tuple(int(p) for p in match.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    stage = {"a": 0, "b": 1, "rc": 2, None: 3}[match.group(2)]
    return release, stage, int(match.group(3) or 0)


def is_newer(candidate: str, current: str) -> bool:
    """True if version ``candidate`` comes after ``current`` (1.10 > 1.9; 1.0rc1 < 1.0)."""
    return _version_key(candidate) > _version_key(current)


@dataclass(frozen=True, slots=True)
class UpdateDecision:
    """Whether to offer an update; ``reason`` says why in one sentence."""

    offer: bool
    reason: str
    version: str | None = None


def decide_update(
    manifest: bytes,
    signature: str,
    *,
    key: PublicKey,
    current_version: str,
    downloads: Mapping[str, Path],
) -> UpdateDecision:
    """Offer a release only if its manifest verifies, its version is newer than
    ``current_version`` and every downloaded artifact ({manifest name: path}) matches.
    """
    try:
        signed = read_signed_manifest(manifest, signature, key)
    except VerificationError as exc:
        return UpdateDecision(False, f"manifest refused: {exc}")
    try:
        newer = is_newer(signed.version, current_version)
    except VerificationError as exc:
        return UpdateDecision(False, f"manifest refused: {exc}", signed.version)
    if not newer:
        return UpdateDecision(
            False, f"{signed.version} is not newer than {current_version}", signed.version
        )
    if not downloads:
        return UpdateDecision(False, "no downloaded artifact to check", signed.version)
    try:
        check_files(signed, downloads)
    except VerificationError as exc:
        return UpdateDecision(False, str(exc), signed.version)
    return UpdateDecision(True, f"{signed.name} {signed.version} verified", signed.version)


def _site_key_path() -> Path:
    """``release.pub`` beside the machine-wide site policy (written by IT)."""
    from agent_assist.config import site_policy_path

    return site_policy_path().parent / "release.pub"


def trusted_key(path: str | os.PathLike[str] | None = None) -> PublicKey:
    """The public key releases and bundles must be signed with (see the module docstring)."""
    if path:
        return load_public_key(path)
    env = os.environ.get("AGENT_ASSIST_RELEASE_KEY")
    if env:
        return load_public_key(env)
    site = _site_key_path()
    if site.is_file():
        return load_public_key(site)
    if RELEASE_PUBLIC_KEY:
        return PublicKey.from_text(RELEASE_PUBLIC_KEY, source="the built-in release key")
    raise VerificationError(
        "no trusted release key: this build has only a placeholder; pass --key PUBKEY, set "
        f"AGENT_ASSIST_RELEASE_KEY, or install the key as {site}"
    )
