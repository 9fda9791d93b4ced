"""The app's rotating log file, so IT can see what went wrong on a PC after the fact.

``agent-assist.log`` in the user's log folder (platformdirs: ~/.local/state/agent-assist/log
on Linux, %LOCALAPPDATA%\\agent-assist\\Logs on Windows), at most 1 MB, with 3 older
files kept. Site-policy problems are written there with their file and line.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from agent_assist.config import Settings

__all__ = ["LOG_NAME", "default_log_dir", "log_settings_problems", "open_log"]

LOG_NAME = "agent-assist.log"
_MAX_BYTES = 1_000_000
_BACKUPS = 3
log = logging.getLogger("agent_assist")


def default_log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir("agent-assist", appauthor=False))


def open_log(directory: Path | None = None) -> Path | None:
    """Send the ``agent_assist`` logger (INFO and up) to a rotating file; returns its path.

    Returns None (and logs nowhere) when the folder cannot be created or written:
    a read-only profile must not stop the app. Calling it again adds no second handler.
    """
    folder = directory if directory is not None else default_log_dir()
    path = folder / LOG_NAME
    for handler in log.handlers:
        if (
            isinstance(handler, logging.handlers.RotatingFileHandler)
            and Path(handler.baseFilename) == path.resolve()
        ):
            return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    return path


def log_settings_problems(settings: Settings) -> None:
    """Write the settings' problems and notices to the log (one record each)."""
    if settings.policy_problem:
        log.error("%s", settings.policy_problem)
    for problem in settings.problems:
        log.warning("settings: %s", problem)
    for notice in settings.notices:
        log.info("settings: %s", notice)
