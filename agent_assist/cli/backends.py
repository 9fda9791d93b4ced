"""Where a marquee server's state lives, for the commands that open it directly.

``server``, ``token`` and ``kb publish`` read the server's SQLite database
(``--db``, default :func:`default_db`) or its Redis (``--redis URL``).
"""

from __future__ import annotations

import os
from typing import Any

from agent_assist.errors import UsageError

__all__ = ["default_db", "redis_backend"]


def default_db() -> str:
    """The server's SQLite database: AGENT_ASSIST_MARQUEE_DB, or marquee.db in the user data dir."""
    import platformdirs

    return os.environ.get("AGENT_ASSIST_MARQUEE_DB") or os.path.join(
        platformdirs.user_data_dir("agent-assist", appauthor=False), "marquee.db"
    )


def redis_backend(url: str) -> Any:
    """A RedisBackend for ``url``; UsageError if the redis package is missing or it is no URL."""
    try:
        import redis  # noqa: F401 - the optional dependency

        from agent_assist.marquee.redis_backend import RedisBackend
    except ImportError:
        raise UsageError(
            "--redis needs the redis package: pip install 'agent-assist[server]'"
        ) from None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError(f"{url} is not a redis:// URL")
    return RedisBackend(url)
