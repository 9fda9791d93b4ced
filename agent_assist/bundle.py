"""Offline bundles: a speech model and/or a knowledge-base snapshot in one signed zip.

Layout of a bundle::

    bundle.json            a manifest (agent_assist.release.Manifest, kind "bundle") listing
                           every other file with its size and SHA-256; "contents" says where
                           the model folder ("model") and the article export ("kb") are
    bundle.json.minisig    minisign signature of bundle.json
    model/<model name>/... the Vosk model folder
    kb/articles.jsonl      the knowledge base, as ``agent-assist kb export`` writes it

:func:`open_bundle` checks the signature before it unpacks anything, refuses an
entry the signed manifest does not list (and a listed file that is missing), and
writes only the listed files, each checked against its signed size and hash while
it streams, after checking that the signed sizes are within ``agent_assist.limits``
(total, compression ratio, number of files). So a bundle needs no network and no
trust in how it travelled.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from pathlib import Path

from agent_assist.limits import archive_problem
from agent_assist.release import Manifest, manifest_for, read_signed_manifest
from agent_assist.signing import PublicKey, SigningKey, VerificationError, sign_bytes

__all__ = ["BUNDLE_MANIFEST", "bundle_model_name", "create_bundle", "is_bundle", "open_bundle"]

BUNDLE_MANIFEST = "bundle.json"
BUNDLE_SIGNATURE = BUNDLE_MANIFEST + ".minisig"
KB_PATH = "kb/articles.jsonl"
_BLOCK = 1 << 20


def is_bundle(path: Path) -> bool:
    """True if ``path`` is a zip with a ``bundle.json`` at its top (signed or not)."""
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return BUNDLE_MANIFEST in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def create_bundle(
    out: Path,
    *,
    key: SigningKey,
    name: str,
    version: str,
    model_dir: Path | None = None,
    kb_file: Path | None = None,
    model_name: str | None = None,
) -> Manifest:
    """Write a signed bundle with a model folder and/or a ``.jsonl`` article export to ``out``.

    ``model_name``: the name the model installs under (default: its folder's name; give the
    installed model's own name when its folder is a generic ``model``).
    """
    if model_dir is None and kb_file is None:
        raise ValueError("a bundle needs a model folder, a knowledge-base export, or both")
    files: dict[str, Path] = {}
    contents: dict[str, str] = {}
    if model_dir is not None:
        top = f"model/{model_name or model_dir.name}"
        contents["model"] = top
        for path in sorted(model_dir.rglob("*")):
            if path.is_symlink():
                raise ValueError(f"{path} is a symbolic link; bundles hold plain files only")
            if path.is_file():
                files[f"{top}/{path.relative_to(model_dir).as_posix()}"] = path
    if kb_file is not None:
        contents["kb"] = KB_PATH
        files[KB_PATH] = kb_file
    manifest = manifest_for(files, name=name, version=version, kind="bundle", contents=contents)
    data = manifest.to_bytes()
    partial = out.with_name(out.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(BUNDLE_MANIFEST, data)
        zf.writestr(BUNDLE_SIGNATURE, sign_bytes(data, key, name=BUNDLE_MANIFEST))
        for arcname, path in files.items():
            zf.write(path, arcname)
    partial.replace(out)
    return manifest


def _read_member(zf: zipfile.ZipFile, name: str, bundle: Path) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        raise VerificationError(f"{bundle.name} is not a signed bundle (no {name})") from None


def open_bundle(bundle: Path, dest: Path, *, key: PublicKey) -> Manifest:
    """Verify ``bundle`` against ``key`` and unpack its files into the empty folder ``dest``.

    Returns the manifest (``contents`` paths are relative to ``dest``). Raises
    VerificationError if anything differs from what was signed; ``dest`` may then
    hold some files and should be discarded by the caller.
    """
    try:
        zf = zipfile.ZipFile(bundle)
    except (zipfile.BadZipFile, OSError) as exc:
        raise VerificationError(f"{bundle.name} is not a readable bundle ({exc})") from None
    with zf:
        data = _read_member(zf, BUNDLE_MANIFEST, bundle)
        signature = _read_member(zf, BUNDLE_SIGNATURE, bundle).decode("utf-8", "replace")
        manifest = read_signed_manifest(data, signature, key, source=f"{bundle.name}: bundle.json")
        if manifest.kind != "bundle":
            raise VerificationError(f"{bundle.name}: the signed manifest is not a bundle's")
        listed = {a.name: a for a in manifest.artifacts}
        members = {info.filename: info for info in zf.infolist() if not info.is_dir()}
        extra = sorted(set(members) - set(listed) - {BUNDLE_MANIFEST, BUNDLE_SIGNATURE})
        missing = sorted(set(listed) - set(members))
        if extra or missing:
            raise VerificationError(
                f"{bundle.name}: refused, contents differ from the signed manifest "
                f"(unsigned: {extra[:3]}, missing: {missing[:3]})"
            )
        problem = archive_problem(
            unpacked=sum(a.size for a in manifest.artifacts),
            packed=bundle.stat().st_size,
            entries=len(listed),
        )
        if problem is not None:
            raise VerificationError(f"{bundle.name}: refused, {problem}")
        root = dest.resolve()
        for name, artifact in listed.items():
            info = members[name]
            if stat.S_ISLNK(info.external_attr >> 16):
                raise VerificationError(f"{bundle.name}: {name} is a link; refused")
            target = root.joinpath(*name.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            _extract_checked(zf, info, target, artifact.size, artifact.sha256, bundle)
    return manifest


def _extract_checked(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, size: int, sha256: str, bundle: Path
) -> None:
    digest = hashlib.sha256()
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while block := src.read(_BLOCK):
                written += len(block)
                if written > size:  # never unpack more than was signed (zip bombs)
                    break
                digest.update(block)
                out.write(block)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise VerificationError(f"{bundle.name}: {info.filename} is damaged ({exc})") from None
    if written != size or digest.hexdigest() != sha256:
        raise VerificationError(
            f"{bundle.name}: refused, {info.filename} does not match the signed manifest "
            "(it was changed after signing)"
        )


def bundle_model_name(bundle: Path) -> str | None:
    """The name of the model folder a bundle says it holds (unverified: for naming only)."""
    try:
        with zipfile.ZipFile(bundle) as zf:
            manifest = Manifest.from_bytes(zf.read(BUNDLE_MANIFEST))
    except (zipfile.BadZipFile, OSError, KeyError, VerificationError):
        return None
    model = manifest.contents.get("model")
    return model.rsplit("/", 1)[-1] if model else None
