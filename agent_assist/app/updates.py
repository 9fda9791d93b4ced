"""The app's background update check: a minute or so after start, then once a day.

It runs :func:`agent_assist.update.check` on its own daemon thread and reports one
line for the status bar through ``report`` (called on that thread: the app passes a
Qt signal's ``emit``). With ``updates.auto`` it also downloads and verifies the
package and stages it for IT's tooling; it never installs anything itself (that
needs root or Administrator: ``agent-assist update apply --install``). Refusals and
failures go to the log (see :mod:`agent_assist.applog`).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_assist import __version__
from agent_assist.config import Settings
from agent_assist.errors import AgentAssistError, VerificationError

if TYPE_CHECKING:
    from agent_assist.update import Source

__all__ = ["start_update_checks"]

log = logging.getLogger("agent_assist.update")
DAY = 86400.0


def start_update_checks(
    settings: Settings,
    *,
    report: Callable[[str], None],
    first_delay: float = 60.0,
    every: float = DAY,
) -> Callable[[], None] | None:
    """Start checking in the background; returns a function that stops it (None: off)."""
    from agent_assist.update import source_from_settings

    try:
        source, channel, pin = source_from_settings(settings)
    except AgentAssistError as exc:  # off, or no source: nothing to check
        log.info("no background update checks: %s", exc)
        return None
    auto = settings.get_bool("updates.auto")
    stop = threading.Event()

    def run() -> None:
        # jitter: a site's desktops started together must not all ask at the same second
        delay = first_delay * (1 + random.random())
        while not stop.wait(delay):
            report_line = _check_once(source, channel, pin, auto=auto)
            if report_line:
                report(report_line)
            delay = every * (0.9 + 0.2 * random.random())

    threading.Thread(target=run, name="update-check", daemon=True).start()
    return stop.set


def _check_once(source: Source, channel: str, pin: str | None, *, auto: bool) -> str | None:
    from agent_assist import update
    from agent_assist.release import trusted_key

    try:
        offer = update.check(
            source,
            key=trusted_key(),
            channel=channel,
            installed=__version__,
            pin=pin,
        )
        if offer is None:
            log.info("update check: %s is current on the %s channel", __version__, channel)
            return None
        log.info("update check: %s offered on the %s channel", offer.version, channel)
        if not auto:
            return f"Agent Assist {offer.version} is available; IT will install it."
        staged = update.stage(source, offer, update.default_staging_dir())
        log.info("update %s verified and staged at %s", offer.version, staged)
        return f"Agent Assist {offer.version} is downloaded and verified; IT will install it."
    except VerificationError as exc:
        log.warning("update refused: %s", exc)
        return "The update check refused a release (details in the log); tell IT."
    except AgentAssistError as exc:
        log.info("update check failed: %s", exc)
        return None
