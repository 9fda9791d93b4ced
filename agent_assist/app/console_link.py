"""Wires the supervisor console to a marquee client without ever waiting on the GUI thread.

Every message the console asks to send goes out fire-and-forget through
:meth:`MarqueeClient.send_soon`; whether it was written or why it was not comes back
to the console on the GUI thread (through ``run_on_main``), so "Announcement sent."
is said only once the server has it, and a failure keeps the draft.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from agent_assist.app.messaging import Sender
from agent_assist.marquee.protocol import Message

__all__ = ["ConsoleView", "link_console"]


class ConsoleView(Protocol):
    """What the link needs of the console (:class:`ui.supervisor.SupervisorConsole`)."""

    def message_sent(self, message: object) -> None: ...

    def message_failed(self, message: object, reason: str) -> None: ...


def link_console(
    console: ConsoleView,
    client: Sender,
    *,
    run_on_main: Callable[[Callable[[], None]], None],
) -> Callable[[object], None]:
    """The slot for the console's ``send_requested``: send without waiting, report back."""

    def send(message: object) -> None:
        typed: Message = message  # type: ignore[assignment]  # the console sends protocol messages
        client.send_soon(
            typed,
            on_sent=lambda: run_on_main(lambda: console.message_sent(message)),
            on_failure=lambda why: run_on_main(lambda: console.message_failed(message, why)),
        )

    return send
