"""The marquee server's plain-HTTP side from a client: knowledge changes and the review queue."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from agent_assist.errors import MarqueeError
from agent_assist.limits import LimitError, loads

__all__ = ["MAX_ANSWER", "fetch_json", "http_url"]

MAX_ANSWER = 256 << 20  # bytes: the largest answer read (a whole knowledge base)


def http_url(server: str, path: str) -> str:
    """``ws://host:port/`` -> ``http://host:port/path`` (wss -> https)."""
    parts = urllib.parse.urlsplit(server)
    if parts.scheme not in ("ws", "wss"):
        raise MarqueeError(f"{server} is not a ws:// or wss:// URL")
    base, _, query = path.partition("?")
    return urllib.parse.urlunsplit(
        ("https" if parts.scheme == "wss" else "http", parts.netloc, base, query, "")
    )


def fetch_json(
    server: str,
    path: str,
    *,
    token: str,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> Any:
    """GET ``path`` with the bearer token and return the parsed JSON; raises MarqueeError
    (also for an answer over MAX_ANSWER bytes or nested deeper than 8 levels)."""
    request = urllib.request.Request(
        http_url(server, path), headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ssl_context) as response:
            return loads(response.read(MAX_ANSWER + 1), max_bytes=MAX_ANSWER, max_depth=8)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace").strip()
        raise MarqueeError(f"the server answered HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MarqueeError(f"cannot reach the server at {server} ({reason})") from None
    except LimitError as exc:
        raise MarqueeError(f"the server's answer is {exc}") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise MarqueeError("the server's answer is not JSON") from None
