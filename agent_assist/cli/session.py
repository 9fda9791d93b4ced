"""A short synchronous conversation with the marquee server, for one CLI command."""

from __future__ import annotations

import argparse
import contextlib
import ssl
from typing import Any

from agent_assist.cli.tokens import token_of
from agent_assist.errors import (
    AgentAssistError,
    ConnectionDropped,
    NoAnswerError,
    ServerRefused,
    UsageError,
)

__all__ = ["ConnectionDropped", "NoAnswerError", "ServerRefused", "Session", "client_tls"]


def client_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The TLS context for a wss:// server (its CA and pin), or None for ws://."""
    from agent_assist.marquee.tls import context_for

    return context_for(args.server, ca_file=args.ca, pin_sha256=args.pin)


class Session:
    """A short synchronous conversation with the server for one CLI command."""

    def __init__(self, args: argparse.Namespace) -> None:
        from websockets.exceptions import InvalidStatus, InvalidURI
        from websockets.sync.client import connect

        from agent_assist.marquee.protocol import PROTOCOL_VERSION, Hello, Welcome

        token = token_of(args)
        if not token:
            raise UsageError("--token-file (or AGENT_ASSIST_TOKEN) is required")
        self._stack = contextlib.ExitStack()
        try:
            self.ws = self._stack.enter_context(
                connect(
                    args.server,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    ssl=client_tls(args),
                    open_timeout=10,
                    compression=None,
                )
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code == 401:
                raise AgentAssistError("the server refused this token") from None
            raise ConnectionDropped(f"the server answered HTTP {code}") from None
        except InvalidURI:
            raise UsageError(f"{args.server} is not a ws:// or wss:// URL") from None
        except (OSError, TimeoutError) as exc:
            raise ConnectionDropped(
                f"cannot reach the marquee server at {args.server} ({exc})"
            ) from None
        self.send(Hello(v=PROTOCOL_VERSION, client="agent-assist-cli"))
        welcome = self.recv()
        if not isinstance(welcome, Welcome):
            raise AgentAssistError("the server did not welcome us")
        self.welcome = welcome
        self.backlog: list[Any] = []
        self.until_synced()

    def send(self, message: Any) -> None:
        """Send one message; ConnectionDropped if the connection has closed."""
        from websockets.exceptions import ConnectionClosed

        from agent_assist.marquee.protocol import encode

        try:
            self.ws.send(encode(message))
        except ConnectionClosed:
            raise ConnectionDropped("the marquee server closed the connection") from None

    def recv(self, timeout: float | None = 10.0) -> Any:
        """The next message (``timeout`` s; None waits forever): NoAnswerError when none
        comes, ConnectionDropped when the connection closes, ServerRefused for an ``error``."""
        from websockets.exceptions import ConnectionClosed

        from agent_assist.marquee.protocol import ErrorMessage, decode

        try:
            frame = self.ws.recv(timeout=timeout)
        except TimeoutError:
            raise NoAnswerError("the marquee server did not answer in time") from None
        except ConnectionClosed as exc:
            reason = f" ({exc.rcvd.reason})" if exc.rcvd and exc.rcvd.reason else ""
            raise ConnectionDropped(f"the marquee server closed the connection{reason}") from None
        message = decode(frame)
        if isinstance(message, ErrorMessage):
            raise ServerRefused(f"the server said: {message.message}", code=message.code)
        return message

    def until_synced(self) -> None:
        """Read the catch-up into ``backlog`` until the server says ``synced``."""
        from agent_assist.marquee.protocol import Synced

        while not isinstance(message := self.recv(), Synced):
            self.backlog.append(message)

    def wait_for(self, kind: type, test: Any = lambda m: True) -> Any:
        """The next message of ``kind`` that passes ``test`` (others are skipped)."""
        while True:
            message = self.recv()
            if isinstance(message, kind) and test(message):
                return message

    def close(self) -> None:
        """Close the connection."""
        self._stack.close()
