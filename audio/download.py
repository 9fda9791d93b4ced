"""Resumable downloads and safe archive extraction for model installs.

* :func:`download` keeps a ``.part`` file and resumes it with an HTTP Range
  request, checks the received size against the server's, and reports progress.
* :func:`sha256_of` hashes a file in blocks.
* :func:`safe_extract` unpacks a zip only if every entry stays inside the target
  folder and none is a link (no "zip slip"), the declared unpacked size is within
  ``agent_assist.limits`` (8 GiB, 100:1 compression, 100,000 files: no zip bombs)
  and fits on disk; no entry writes more than it declared.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import stat
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast

from agent_assist.errors import DownloadError, ModelInstallError, UnsafeArchiveError
from agent_assist.limits import archive_problem

__all__ = ["Progress", "download", "safe_extract", "sha256_of"]

Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None when unknown)."""

_BLOCK = 1 << 16
_USER_AGENT = "agent-assist-model-installer"


@dataclass(frozen=True, slots=True)
class _NothingLeft:
    """HTTP 416 to a resume: the part file may already be whole; ``total`` from Content-Range."""

    total: int | None


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse | _NothingLeft:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the part file may be complete
            exc.close()
            return _NothingLeft(_total_from_range(exc.headers.get("Content-Range", "")))
        raise DownloadError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot download {url}: {reason}") from None
    return response


def _total_from_range(content_range: str) -> int | None:
    _, _, total = content_range.rpartition("/")
    return int(total) if total.strip().isdigit() else None


def download(
    url: str,
    part: Path,
    *,
    progress: Progress | None = None,
    timeout: float = 30.0,
    free_space_factor: float = 3.0,
) -> Path:
    """Download ``url`` into ``part``, resuming what an earlier attempt left there.

    Returns ``part`` once it holds the whole file. Raises DownloadError (and
    keeps the partial file for the next attempt) when the transfer breaks or
    ends short. ``free_space_factor`` x the file size must be free on the disk
    (room for the archive and the model unpacked from it).
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout)
    if isinstance(response, _NothingLeft):
        if response.total is not None and response.total == offset:
            return part
        part.unlink(missing_ok=True)  # the server's file changed: start over
        offset = 0
        response = cast(http.client.HTTPResponse, _open(url, 0, timeout))  # no Range: no 416
    with response:
        if offset and response.status != 206:
            offset = 0  # the server ignored the Range header: start over
        total = _expected_total(response, offset)
        if total is not None:
            needed = int((total - offset) + total * (free_space_factor - 1))
            free = shutil.disk_usage(part.parent).free
            if free < needed:
                raise DownloadError(
                    f"not enough disk space in {part.parent}: {needed >> 20} MB needed, "
                    f"{free >> 20} MB free"
                )
        received = offset
        with open(part, "ab" if offset else "wb") as out:
            try:
                while block := response.read(_BLOCK):
                    out.write(block)
                    received += len(block)
                    if progress is not None:
                        progress(received, total)
            except (http.client.IncompleteRead, OSError) as exc:
                raise DownloadError(
                    f"download of {url} broke off after {received} bytes ({exc.__class__.__name__}); "
                    "run the same command again to resume"
                ) from None
    if total is not None and received != total:
        raise DownloadError(
            f"download of {url} is incomplete: {received} of {total} bytes; "
            "run the same command again to resume"
        )
    return part


def _expected_total(response: http.client.HTTPResponse, offset: int) -> int | None:
    if response.status == 206:
        return _total_from_range(response.headers.get("Content-Range", ""))
    length = response.headers.get("Content-Length")
    return int(length) + offset if length and length.isdigit() else None


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _safe_member_path(name: str) -> PurePosixPath:
    """The relative path an archive entry may be written to, or raise UnsafeArchiveError."""
    unified = name.replace("\\", "/")
    path = PurePosixPath(unified)
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":") or ".." in path.parts:
        raise UnsafeArchiveError(f"archive entry {name!r} would be written outside its folder")
    return path


def safe_extract(archive: Path, target: Path) -> None:
    """Extract zip ``archive`` into the existing folder ``target``, refusing unsafe entries.

    Every entry is checked before anything is written, so a rejected archive
    leaves ``target`` empty.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelInstallError(f"{archive.name} is not a readable zip archive ({exc})") from None
    with zf:
        members = zf.infolist()
        for info in members:
            _safe_member_path(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(f"archive entry {info.filename!r} is a symbolic link")
        unpacked = sum(info.file_size for info in members)
        problem = archive_problem(
            unpacked=unpacked, packed=archive.stat().st_size, entries=len(members)
        )
        if problem is not None:
            raise UnsafeArchiveError(f"{archive.name} refused: {problem}")
        free = shutil.disk_usage(target).free
        if unpacked > free:
            raise ModelInstallError(
                f"not enough disk space to unpack {archive.name}: {unpacked >> 20} MB needed, "
                f"{free >> 20} MB free"
            )
        root = target.resolve()
        for info in members:
            relative = _safe_member_path(info.filename)
            destination = (root / relative).resolve()
            if destination != root and root not in destination.parents:
                raise UnsafeArchiveError(f"archive entry {info.filename!r} escapes its folder")
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(destination, "wb") as dst:
                    written = 0
                    while block := src.read(_BLOCK):
                        written += len(block)
                        if written > info.file_size:  # never more than declared (and checked)
                            raise UnsafeArchiveError(
                                f"{archive.name} refused: {info.filename} unpacks to more than "
                                "it declares"
                            )
                        dst.write(block)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ModelInstallError(f"{archive.name} is damaged ({exc})") from None
            os.chmod(destination, 0o644)
