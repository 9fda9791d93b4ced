"""Signed updates: find the newest release on a channel, check it, download it, stage it.

Where releases come from (``updates.url``; default ``/updates/`` on the marquee
server, see ``agent-assist server --updates DIR``)::

    <base>/<channel>/                               stable/ or pilot/: a folder IT fills with
        agent-assist-0.2.0.manifest.json(.minisig)  a signed release (packaging/build-release)
        agent-assist_0.2.0_amd64.deb(.minisig)      and its artifacts; older releases may stay
        agent-assist-0.2.0.msi(.minisig)

``<base>`` is an http(s) URL (the server lists a channel as JSON at ``<base>/<channel>/``
and serves files in ranges of at most :data:`CHUNK` bytes) or a folder, e.g. a share.

Modelled on TUF's threat model, with the server and the network untrusted:

* **arbitrary software**: the manifest must carry a valid signature by the trusted key
  (:func:`agent_assist.release.trusted_key`: IT's machine-wide key or the one the
  build embedded; never the user's environment on a managed PC), and the artifact
  must have exactly the signed size and SHA-256;
* **freeze / replay**: the signed manifest must carry an expiry that has not passed;
* **rollback**: only a version newer than the installed one is offered, unless IT
  pins a version (``updates.pin_version``), which is then the only one accepted;
* **mix-and-match**: a manifest signed for another channel is refused;
* **endless data**: never more than the signed size is read, in bounded ranges;
* test releases (``build-release --test-key``) are never offered.

Each refusal is one :class:`UpdateRefused` line. Applying is the package manager's
job: Linux hands the verified ``.deb`` to ``apt-get`` (with the user's consent, as
root) or leaves it staged for IT's tooling; Windows runs ``msiexec`` on the MSI
(written from the MSI documentation; not run by this project).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform as _platform
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent_assist.config import Settings
from agent_assist.errors import AgentAssistError, UsageError, VerificationError
from agent_assist.release import Artifact, Manifest, is_newer, read_signed_manifest
from agent_assist.signing import PublicKey

__all__ = [
    "CHUNK",
    "FolderSource",
    "HttpSource",
    "Offer",
    "Source",
    "UpdateRefused",
    "artifact_for",
    "check",
    "default_staging_dir",
    "install_command",
    "source_for",
    "source_from_settings",
    "stage",
]

PRODUCT = "agent-assist"
CHUNK = 4 << 20  # bytes per range request (the server answers at most this much at once)
_MANIFEST_LIMIT = 1 << 20
_SIGNATURE_LIMIT = 4096
_MANIFEST = re.compile(r"^agent-assist-(\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?)\.manifest\.json$")


class UpdateRefused(VerificationError):
    """An update that must not be installed; ``str()`` is one line saying why."""


class UpdateSourceError(AgentAssistError):
    """The update source cannot be reached or read (nothing was checked)."""


class Source(Protocol):
    """Where a channel's files come from."""

    description: str

    def names(self, channel: str) -> list[str]:
        """The file names in the channel's folder."""
        ...

    def read(self, channel: str, name: str, *, limit: int, start: int = 0) -> bytes:
        """Up to ``limit`` bytes of a file from ``start``; raises UpdateSourceError."""
        ...


class FolderSource:
    """A folder (or network share) holding ``stable/`` and ``pilot/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = str(folder)

    def names(self, channel: str) -> list[str]:
        """See :meth:`Source.names`; UpdateSourceError when the folder cannot be read."""
        try:
            return sorted(p.name for p in (self.folder / channel).iterdir() if p.is_file())
        except OSError as exc:
            raise UpdateSourceError(
                f"cannot read the update folder {self.folder / channel}: {exc.strerror or exc}"
            ) from None

    def read(self, channel: str, name: str, *, limit: int, start: int = 0) -> bytes:
        """See :meth:`Source.read`; UpdateSourceError when the file cannot be read."""
        try:
            with open(self.folder / channel / name, "rb") as f:
                f.seek(start)
                return f.read(limit)
        except OSError as exc:
            raise UpdateSourceError(f"cannot read {name}: {exc.strerror or exc}") from None


class HttpSource:
    """An http(s) base URL, e.g. ``http://marquee.example:8765/updates/``."""

    def __init__(
        self, base: str, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0
    ) -> None:
        self.base = base if base.endswith("/") else base + "/"
        self.description = self.base
        self._ssl = ssl_context
        self._timeout = timeout

    def _get(self, path: str, limit: int, start: int | None = None) -> bytes:
        url = urllib.parse.urljoin(self.base, path)
        request = urllib.request.Request(url, headers={"User-Agent": PRODUCT})
        if start is not None:
            request.add_header("Range", f"bytes={start}-{start + limit - 1}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._ssl) as r:
                if start and r.status != 206:
                    raise UpdateSourceError(f"{url}: the server does not send parts of files")
                return bytes(r.read(limit))
        except urllib.error.HTTPError as exc:
            raise UpdateSourceError(f"{url}: the server answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UpdateSourceError(f"cannot reach the update server {url} ({reason})") from None

    def names(self, channel: str) -> list[str]:
        """See :meth:`Source.names`, from the channel's JSON listing."""
        data = self._get(f"{urllib.parse.quote(channel)}/", _MANIFEST_LIMIT)
        try:
            listing = json.loads(data)
            return sorted(str(entry["name"]) for entry in listing["files"])
        except (ValueError, KeyError, TypeError):
            raise UpdateSourceError(
                f"{self.base}{channel}/ is not an update channel listing"
            ) from None

    def read(self, channel: str, name: str, *, limit: int, start: int = 0) -> bytes:
        """See :meth:`Source.read`, with an HTTP range request."""
        return self._get(f"{urllib.parse.quote(channel)}/{urllib.parse.quote(name)}", limit, start)


def source_for(url: str, *, ssl_context: ssl.SSLContext | None = None) -> Source:
    """An http(s) URL or a folder (``updates.url``), as a Source."""
    if "://" in url:
        return HttpSource(url, ssl_context=ssl_context)
    return FolderSource(Path(url).expanduser())


def source_from_settings(
    settings: Settings, *, url: str | None = None, channel: str | None = None
) -> tuple[Source, str, str | None]:
    """(source, channel, pinned version) from the settings; ``url``/``channel`` override
    them unless the site policy locks them. Raises AgentAssistError when updates are off
    or there is no source, UsageError for an override of a locked key."""
    if not settings.get_bool("updates.enabled"):
        raise AgentAssistError("updates are turned off by the site policy (updates.enabled)")
    url = _override(settings, "updates.url", url, "--url")
    channel = _override(settings, "updates.channel", channel, "--channel")
    server = settings.get_str("server.url")
    if not url and server:
        from agent_assist.marquee.http import http_url

        url = http_url(server, "/updates/")
    if not url:
        raise AgentAssistError(
            "no update source: the site policy sets neither updates.url nor server.url"
        )
    context = None
    if url.startswith("https://"):
        from agent_assist.marquee.tls import client_context

        # the server's pin belongs to the server: only when updates come from it
        same_server = bool(server) and url.startswith(
            server.replace("wss://", "https://", 1).rstrip("/")
        )
        context = client_context(
            ca_file=settings.get_str("server.ca_file") or None,
            pin_sha256=(settings.get_str("server.pin_sha256") or None) if same_server else None,
        )
    pin = settings.get_str("updates.pin_version") or None
    return source_for(url, ssl_context=context), channel, pin


def _override(settings: Settings, key: str, value: str | None, option: str) -> str:
    if value is None:
        return settings.get_str(key)
    if settings.locked(key) and value != settings.get_str(key):
        raise UsageError(f"{key} is locked by the site policy; {option} cannot change it")
    return value


def default_staging_dir() -> Path:
    """The machine-wide updates folder when this process may write it, else the user's cache."""
    from agent_assist.locations import machine_paths

    machine = machine_paths().updates
    try:
        machine.mkdir(parents=True, exist_ok=True)
        if os.access(machine, os.W_OK):
            return machine
    except OSError:
        pass
    import platformdirs

    return Path(platformdirs.user_cache_dir("agent-assist", appauthor=False)) / "updates"


@dataclass(frozen=True)
class Offer:
    """A verified release to install: its manifest and the artifact for this machine."""

    manifest: Manifest
    artifact: Artifact
    channel: str
    installed: str
    key_id: str

    @property
    def version(self) -> str:
        """The version on offer (the signed manifest's)."""
        return self.manifest.version


def artifact_for(manifest: Manifest, *, system: str | None = None) -> Artifact | None:
    """The artifact this machine installs: the ``.deb`` for its architecture, or the MSI."""
    system = system or sys.platform
    if system == "win32":
        msis = [a for a in manifest.artifacts if a.name.endswith(".msi")]
        return msis[0] if len(msis) == 1 else None
    arch = _debian_arch()
    wanted = f"{PRODUCT}_{manifest.version}_{arch}.deb"
    return next((a for a in manifest.artifacts if a.name == wanted), None)


def _debian_arch() -> str:
    machine = _platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386"}.get(
        machine, machine
    )


def _choose(names: Sequence[str], pin: str | None) -> str | None:
    versions = {m.group(1): name for name in names if (m := _MANIFEST.match(name))}
    if pin:
        return versions.get(pin)
    newest: str | None = None
    for version in versions:
        if newest is None or is_newer(version, newest):
            newest = version
    return versions[newest] if newest else None


def check(
    source: Source,
    *,
    key: PublicKey,
    channel: str,
    installed: str,
    pin: str | None = None,
    now: float | None = None,
    system: str | None = None,
) -> Offer | None:
    """The release to install from ``channel``, None when ``installed`` is current.

    Raises :class:`UpdateRefused` (one line) for anything that must not be
    installed, UpdateSourceError when the source cannot be read.
    """
    name = _choose(source.names(channel), pin)
    if name is None:
        wanted = f"version {pin}" if pin else "release"
        raise UpdateRefused(f"no {wanted} on the {channel} channel at {source.description}")
    data = source.read(channel, name, limit=_MANIFEST_LIMIT)
    if len(data) >= _MANIFEST_LIMIT:
        raise UpdateRefused(f"{name} is larger than a manifest can be")
    signature = source.read(channel, name + ".minisig", limit=_SIGNATURE_LIMIT)
    manifest = read_signed_manifest(data, signature.decode("utf-8", "replace"), key, source=name)
    label = f"{manifest.name} {manifest.version}"
    if manifest.kind != "release" or manifest.name != PRODUCT:
        raise UpdateRefused(f"{name} is not an {PRODUCT} release")
    if manifest.test:
        raise UpdateRefused(f"{label} is a test release (signed with a throwaway key)")
    expires = manifest.expires_at()
    if expires is None:
        raise UpdateRefused(f"{label} has no expiry in its signed manifest (cannot tell if fresh)")
    if expires <= (time.time() if now is None else now):
        raise UpdateRefused(
            f"{label}'s signed manifest expired on {manifest.expires} "
            "(a stale or replayed release; the publisher must re-sign it)"
        )
    if manifest.channel and manifest.channel != channel:
        raise UpdateRefused(f"{label} was signed for the {manifest.channel} channel, not {channel}")
    if pin:
        if manifest.version == installed:
            return None
    elif not is_newer(manifest.version, installed):
        if manifest.version == installed or not is_newer(installed, manifest.version):
            return None
        raise UpdateRefused(
            f"{manifest.version} on the {channel} channel is older than the installed "
            f"{installed} (no rollback unless IT pins a version)"
        )
    artifact = artifact_for(manifest, system=system)
    if artifact is None:
        kind = "MSI" if (system or sys.platform) == "win32" else f"{_debian_arch()} .deb"
        raise UpdateRefused(f"{label} has no {kind} for this machine")
    return Offer(manifest, artifact, channel, installed, key.id_hex)


def stage(
    source: Source,
    offer: Offer,
    folder: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Download the offer's artifact into ``folder``, checked against the signed size and hash.

    Resumes a ``.part`` file from an earlier attempt; never reads more than the signed
    size. Returns the staged file; a mismatch deletes it and raises UpdateRefused.
    """
    artifact = offer.artifact
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / artifact.name
    if final.is_file() and _matches(final, artifact):
        return final
    part = folder / (artifact.name + ".part")
    done = part.stat().st_size if part.is_file() else 0
    if done > artifact.size:
        part.unlink()
        done = 0
    free = shutil.disk_usage(folder).free
    if free < artifact.size - done:
        raise UpdateSourceError(
            f"not enough disk space in {folder}: {artifact.size >> 20} MB needed, {free >> 20} MB free"
        )
    with open(part, "ab") as out:
        while done < artifact.size:
            want = min(CHUNK, artifact.size - done)
            block = source.read(offer.channel, artifact.name, limit=want, start=done)
            if not block:
                raise UpdateSourceError(
                    f"{artifact.name} ended after {done} of {artifact.size} bytes; "
                    "run the same command again to resume"
                )
            out.write(block[:want])
            done += min(len(block), want)
            if progress is not None:
                progress(done, artifact.size)
    if not _matches(part, artifact):
        part.unlink()
        raise UpdateRefused(
            f"{artifact.name} does not match the signed manifest (SHA-256 differs); deleted"
        )
    os.replace(part, final)
    return final


def _matches(path: Path, artifact: Artifact) -> bool:
    if path.stat().st_size != artifact.size:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest() == artifact.sha256


def install_command(
    package: Path, *, system: str | None = None, downgrade: bool = False
) -> list[str]:
    """The package manager's command that installs ``package`` (run as root/Administrator)."""
    if (system or sys.platform) == "win32":
        # msiexec does the MajorUpgrade (the MSI's UpgradeCode) and keeps the site policy
        return ["msiexec", "/i", str(package), "/qn", "/norestart"]
    command = ["apt-get", "install", "-y", "--no-install-recommends"]
    if downgrade:
        command.append("--allow-downgrades")
    return [*command, str(package.resolve())]  # a path (with /) makes apt-get read a file


def run_installer(command: list[str]) -> int:
    """Run the package manager (the one place updates touch the system); returns its exit code."""
    try:
        return subprocess.run(command, check=False).returncode
    except OSError as exc:
        raise AgentAssistError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
