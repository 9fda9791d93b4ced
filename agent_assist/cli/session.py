"""A short synchronous conversation with the marquee server, for one CLI command."""

from __future__ import annotations

import argparse
import contextlib
import ssl
from typing import Any

from agent_assist.cli.tokens import token_of
from agent_assist.errors import AgentAssistError, UsageError

__all__ = ["Dropped", "NoAnswer", "ServerRefused", "Session", "client_tls"]


class NoAnswer(AgentAssistError):
    pass


class Dropped(AgentAssistError):
    """The connection could not be made or ended early: an unclear failure, worth a retry."""


class ServerRefused(AgentAssistError):
    """The server answered with an error message; ``code`` says why (e.g. rate_limited)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def client_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The TLS context for a wss:// server (its CA and pin), or None for ws://."""
    if not args.server.startswith("wss://"):
        return None
    from agent_assist.marquee.tls import client_context

    return client_context(ca_file=args.ca, pin_sha256=args.pin)


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
            raise Dropped(f"the server answered HTTP {code}") from None
        except InvalidURI:
            raise UsageError(f"{args.server} is not a ws:// or wss:// URL") from None
        except (OSError, TimeoutError) as exc:
            raise Dropped(f"cannot reach the marquee server at {args.server} ({exc})") from None
        self.send(Hello(v=PROTOCOL_VERSION, client="agent-assist-cli"))
        welcome = self.recv()
        if not isinstance(welcome, Welcome):
            raise AgentAssistError("the server did not welcome us")
        self.welcome = welcome
        self.backlog: list[Any] = []
        self.until_synced()

    def send(self, message: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        from agent_assist.marquee.protocol import encode

        try:
            self.ws.send(encode(message))
        except ConnectionClosed:
            raise Dropped("the marquee server closed the connection") from None

    def recv(self, timeout: float | None = 10.0) -> Any:
        from websockets.exceptions import ConnectionClosed

        from agent_assist.marquee.protocol import ErrorMessage, decode

        try:
            frame = self.ws.recv(timeout=timeout)
        except TimeoutError:
            raise NoAnswer("the marquee server did not answer in time") from None
        except ConnectionClosed as exc:
            reason = f" ({exc.rcvd.reason})" if exc.rcvd and exc.rcvd.reason else ""
            raise Dropped(f"the marquee server closed the connection{reason}") from None
        message = decode(frame)
        if isinstance(message, ErrorMessage):
            raise ServerRefused(f"the server said: {message.message}", code=message.code)
        return message

    def until_synced(self) -> None:
        from agent_assist.marquee.protocol import Synced

        while not isinstance(message := self.recv(), Synced):
            self.backlog.append(message)

    def wait_for(self, kind: type, test: Any = lambda m: True) -> Any:
        while True:
            message = self.recv()
            if isinstance(message, kind) and test(message):
                return message

    def close(self) -> None:
        self._stack.close()
