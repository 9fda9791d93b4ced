"""The marquee server's plain-HTTP answers: small helpers for responses and tokens."""

from __future__ import annotations

import http
import json
import urllib.parse
from collections.abc import Mapping

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

__all__ = ["bearer", "json_response", "metrics_text", "text_response"]


def bearer(request: Request) -> str | None:
    """The bearer token of ``request`` (header, or ``?token=`` for clients without headers)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    tokens = query.get("token")
    return tokens[0] if tokens else None


def text_response(
    status: int,
    body: str,
    content_type: str = "text/plain; charset=utf-8",
    *,
    retry_after: int | None = None,
) -> Response:
    data = body.encode()
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(data)))])
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


def json_response(status: int, data: object) -> Response:
    return text_response(status, json.dumps(data, ensure_ascii=False), "application/json")


def metrics_text(gauges: Mapping[str, int], counters: Mapping[str, int]) -> str:
    """Prometheus text format: ``marquee_<gauge>`` and ``marquee_<counter>_total``."""
    lines = []
    for name, value in gauges.items():
        lines += [f"# TYPE marquee_{name} gauge", f"marquee_{name} {value}"]
    for name, value in sorted(counters.items()):
        lines += [f"# TYPE marquee_{name}_total counter", f"marquee_{name}_total {value}"]
    return "\n".join(lines) + "\n"
