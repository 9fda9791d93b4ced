"""Signed release manifests: what a release contains, checking it, and deciding on updates.

A release directory holds the artifacts (``.deb``, ``.tar.gz``, ``.msi`` ...), one
detached minisign signature per artifact (``NAME.minisig``, see
:mod:`agent_assist.signing`) and a manifest with its own signature::

    agent-assist-0.2.0.manifest.json          {"format": 1, "kind": "release",
    agent-assist-0.2.0.manifest.json.minisig   "name": "agent-assist", "version": "0.2.0",
                                               "created": "2026-01-01T12:00:00Z",
                                               "expires": "2026-04-01T12:00:00Z",
                                               "channel": "stable",       (optional)
                                               "test": true,              (test keys only)
                                               "artifacts": [{"name": ..., "size": bytes,
                                                              "sha256": hex}, ...]}

:func:`verify_release` trusts nothing until the manifest's signature checks out
against a trusted public key, then requires every artifact to have exactly the
signed size and SHA-256. ``expires`` (freshness: an old manifest cannot be
replayed forever) and ``channel`` are checked by the update flow
(:mod:`agent_assist.update`); a ``test`` release (made with ``build-release
--test-key``) is refused unless the caller allows test releases.

The trusted key (:func:`trusted_key`): an explicit path (``--key``) if given;
else, on a machine without a machine-wide policy only, ``AGENT_ASSIST_RELEASE_KEY``
(a path, for development and tests); else the machine-wide ``release.pub`` from IT
(:mod:`agent_assist.locations`); else the key embedded by the build
(``agent_assist/release.pub`` inside the installed program, written by
``packaging/build-release`` from ``AGENT_ASSIST_RELEASE_PUB``).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    "BUILD_KEY_FILE",
    "Artifact",
    "Manifest",
    "VerificationError",
    "built_in_key",
    "check_files",
    "is_newer",
    "manifest_for",
    "read_signed_manifest",
    "sign_release",
    "trusted_key",
    "verify_release",
]

FORMAT = 1
SIGNATURE_SUFFIX = ".minisig"

#: The key the build embedded: ``packaging/build-release`` writes it beside this module
#: (never committed; see .gitignore). A source checkout has none.
BUILD_KEY_FILE = Path(__file__).with_name("release.pub")
#: Test releases say so in the trusted comment of each artifact's signature, too.
TEST_MARK = "release:test"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHANNEL = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
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
    expires: str | None = None  # UTC, like created; None: no expiry (refused by updates)
    channel: str | None = None  # the update channel it was signed for; None: any
    test: bool = False  # signed with a throwaway key by build-release --test-key

    def to_bytes(self) -> bytes:
        """The manifest as the JSON bytes that are signed (and written beside the release)."""
        document: dict[str, object] = {
            "format": FORMAT,
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "created": self.created,
        }
        if self.expires:
            document["expires"] = self.expires
        if self.channel:
            document["channel"] = self.channel
        if self.test:
            document["test"] = True
        document["artifacts"] = [a.to_json() for a in self.artifacts]
        if self.contents:
            document["contents"] = dict(self.contents)
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()

    def expires_at(self) -> float | None:
        """``expires`` as seconds since the epoch (None: no expiry)."""
        return parse_utc(self.expires) if self.expires else None

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
        expires, channel, test = doc.get("expires"), doc.get("channel"), doc.get("test", False)
        if expires is not None and (not isinstance(expires, str) or _utc(expires) is None):
            raise VerificationError(f"{source} has a malformed expiry {expires!r}")
        if channel is not None and not (isinstance(channel, str) and _CHANNEL.match(channel)):
            raise VerificationError(f"{source} has a malformed channel {channel!r}")
        if not isinstance(test, bool):
            raise VerificationError(f"{source} has a malformed test flag")
        return cls(
            name=str(texts["name"]),
            version=str(texts["version"]),
            created=str(texts["created"]),
            artifacts=artifacts,
            kind=str(texts["kind"]),
            contents={k: _safe_relative(v, source) for k, v in contents.items()},
            expires=expires,
            channel=channel,
            test=test,
        )


def _utc(text: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def parse_utc(text: str) -> float:
    """Seconds since the epoch of a manifest time (``2026-01-01T12:00:00Z``)."""
    seconds = _utc(text)
    if seconds is None:
        raise VerificationError(f"{text!r} is not a time like 2026-01-01T12:00:00Z")
    return seconds


def format_utc(seconds: float) -> str:
    """``seconds`` since the Unix epoch as UTC ISO 8601 (``2026-01-31T12:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


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
    return format_utc(time.time())


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
    directory: Path,
    key: SigningKey,
    *,
    name: str,
    version: str,
    files: Sequence[Path] = (),
    expires_days: float | None = None,
    channel: str | None = None,
    test: bool = False,
) -> Path:
    """Sign each artifact (``NAME.minisig``) and write the signed manifest; returns its path.

    ``files`` defaults to every file in ``directory`` that is not a signature or a manifest.
    ``expires_days``: the manifest expires that many days from now (updates refuse an
    expired manifest, or one without an expiry). ``test``: a throwaway-key release; the
    manifest and every artifact signature say so.
    """
    if channel is not None and not _CHANNEL.match(channel):
        raise ValueError(f"{channel!r} is not a channel name like stable or pilot")
    manifest_name = f"{name}-{version}.manifest.json"
    chosen = list(files) or [
        p
        for p in sorted(directory.iterdir())
        if p.is_file()
        and not p.name.endswith(SIGNATURE_SUFFIX)
        and not p.name.endswith(".manifest.json")
    ]
    now = time.time()
    for path in chosen:
        comment = f"timestamp:{int(now)}\tfile:{path.name}\thashed"
        sign_file(path, key, trusted_comment=f"{comment}\t{TEST_MARK}" if test else comment)
    manifest = manifest_for({p.name: p for p in chosen}, name=name, version=version)
    manifest = replace(
        manifest,
        expires=format_utc(now + expires_days * 86400) if expires_days is not None else None,
        channel=channel,
        test=test,
    )
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


def built_in_key() -> PublicKey | None:
    """The release key the build embedded in this program, or None (a source checkout)."""
    try:
        text = BUILD_KEY_FILE.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise VerificationError(
            f"the built-in release key {BUILD_KEY_FILE} is damaged: {exc}"
        ) from None
    return PublicKey.from_text(text, source="the built-in release key")


def trusted_key(path: str | os.PathLike[str] | None = None) -> PublicKey:
    """The public key releases and bundles must be signed with (see the module docstring)."""
    from agent_assist.locations import RELEASE_KEY_ENV, machine_paths
    from agent_assist.policy import machine_policy_in_force

    if path:
        return load_public_key(path)
    machine = machine_paths().release_key
    in_force = machine_policy_in_force()
    env = os.environ.get(RELEASE_KEY_ENV)
    if env and not in_force:  # development and tests only: IT's machines ignore it
        return load_public_key(env)
    if machine.exists():
        return load_public_key(machine)
    built = built_in_key()
    if built is not None:
        return built
    raise VerificationError(
        "no trusted release key: this program was not built with one (a source checkout); "
        f"pass --key PUBKEY, or install the key as {machine}"
    )
