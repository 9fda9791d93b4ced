"""Reading team stats off the marquee server in the background, for the wallboard and the
console's Team view.

:class:`StatsPoller` asks ``GET /stats`` every ``every`` seconds on its own
thread and hands the rows (or why it could not) to the GUI thread with
``run_on_main``; a server that is down or restarting only means "try again
next time": the view keeps its last numbers.
"""

from __future__ import annotations

import datetime
import ssl
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent_assist.app.ops import RunOnMain
from agent_assist.errors import AgentAssistError

__all__ = ["StatsPoller", "StatsRequest"]

Rows = list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class StatsRequest:
    """Which stats: ``by`` agent, team or site over the last ``days`` days (1 = today)."""

    by: str = "team"
    days: int = 1

    def path(self, today: datetime.date) -> str:
        first = today - datetime.timedelta(days=self.days - 1)
        query = {"from": first.isoformat(), "to": today.isoformat(), "by": self.by}
        return "/stats?" + urllib.parse.urlencode(query)


class StatsPoller(threading.Thread):
    """Fetches ``request`` from ``server`` every ``every`` seconds until stopped."""

    def __init__(
        self,
        *,
        server: str,
        token: str,
        request: StatsRequest,
        on_rows: Callable[[Rows, datetime.date], None],
        on_problem: Callable[[str], None],
        run_on_main: RunOnMain,
        every: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(name="stats-poller", daemon=True)
        self._server, self._token, self._request = server, token, request
        self._on_rows, self._on_problem, self._main = on_rows, on_problem, run_on_main
        self._every, self._ssl = every, ssl_context
        self._halt = threading.Event()
        self._now = threading.Event()

    def refresh(self) -> None:
        """Read again now, instead of waiting for the next turn."""
        self._now.set()

    def stop(self) -> None:
        self._halt.set()
        self._now.set()
        if self.is_alive():
            self.join(15)

    def _problem(self, reason: str) -> Callable[[], None]:
        return lambda: self._on_problem(reason)

    def _rows(self, rows: Rows, today: datetime.date) -> Callable[[], None]:
        return lambda: self._on_rows(rows, today)

    def run(self) -> None:
        from agent_assist.marquee.http import fetch_json

        while not self._halt.is_set():
            today = datetime.date.today()
            try:
                answer = fetch_json(
                    self._server,
                    self._request.path(today),
                    token=self._token,
                    ssl_context=self._ssl,
                    timeout=10.0,
                )
                rows = list(answer["rows"])
            except (AgentAssistError, KeyError, TypeError) as exc:
                reason = str(exc) if isinstance(exc, AgentAssistError) else "an unexpected answer"
                self._main(self._problem(reason))
            else:
                self._main(self._rows(rows, today))
            self._now.wait(self._every)
            self._now.clear()
