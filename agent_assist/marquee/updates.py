"""The marquee server's ``/updates/<channel>/`` route: a folder IT fills, served read-only.

``agent-assist server --updates DIR`` serves ``DIR/stable/`` and ``DIR/pilot/``:

* ``GET /updates/<channel>/`` lists the channel as JSON: ``{"channel": ..., "files":
  [{"name": ..., "size": bytes}, ...]}``;
* ``GET /updates/<channel>/<file>`` sends the file: whole when it is at most
  :data:`PART` bytes, otherwise only in parts (``Range: bytes=START-END``, at most
  :data:`PART` bytes each), so a busy server never holds a whole package in memory
  per client. The update client asks for parts anyway and resumes where it stopped.

No token is needed: everything served is signed, and the clients verify it
(see :mod:`agent_assist.update`); the server only stands in for a file share.
Only plain file names directly inside a channel folder are served.
"""

from __future__ import annotations

import http
import json
import re
from pathlib import Path

from websockets.datastructures import Headers
from websockets.http11 import Response

__all__ = ["PART", "update_response"]

PART = 4 << 20  # bytes: the most one request gets (the client asks for parts of this size)
_CHANNEL = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _response(
    status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", **extra: str
) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body)))])
    for name, value in extra.items():
        headers[name.replace("_", "-")] = value
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


def update_response(folder: Path, path: str, range_header: str | None) -> Response:
    """The answer to ``GET path`` (which starts with ``/updates/``) from ``folder``."""
    parts = path.removeprefix("/updates/").split("/")
    if len(parts) != 2 or not _CHANNEL.match(parts[0]):
        return _response(404, b"not found\n")
    channel, name = parts
    channel_dir = folder / channel
    if name == "":
        try:
            files = sorted(
                (p.name, p.stat().st_size)
                for p in channel_dir.iterdir()
                if p.is_file() and _NAME.match(p.name)
            )
        except OSError:
            return _response(404, f"no {channel} channel here\n".encode())
        listing = {"channel": channel, "files": [{"name": n, "size": s} for n, s in files]}
        return _response(200, json.dumps(listing).encode(), "application/json")
    if not _NAME.match(name):
        return _response(404, b"not found\n")
    target = channel_dir / name
    try:
        size = target.stat().st_size
        if not target.is_file():
            raise FileNotFoundError
        start, end = 0, size - 1
        if range_header is not None:
            match = _RANGE.match(range_header.strip())
            if match is None:
                return _response(400, b"only one range, bytes=START-END\n")
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
            if start >= size or end < start:
                return _response(416, b"", Content_Range=f"bytes */{size}")
        elif size > PART:
            return _response(
                416,
                f"{name} is {size} bytes: ask for parts of at most {PART} bytes "
                "(Range: bytes=START-END)\n".encode(),
                Content_Range=f"bytes */{size}",
            )
        end = min(end, start + PART - 1)
        with open(target, "rb") as f:
            f.seek(start)
            body = f.read(end - start + 1)
    except OSError:
        return _response(404, b"not found\n")
    kind = "application/octet-stream"
    if range_header is None:
        return _response(200, body, kind)
    return _response(206, body, kind, Content_Range=f"bytes {start}-{start + len(body) - 1}/{size}")
