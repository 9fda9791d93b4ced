"""``agent-assist server``, ``token create`` and ``marquee send|list|retract|receipts|listen``."""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from agent_assist.errors import AgentAssistError, NoAnswerError, ServerRefused, UsageError

__all__ = [
    "ServerRefused",
    "Session",
    "add_marquee_commands",
    "connection_options",
    "redis_backend",
]


def _default_db() -> str:
    import platformdirs

    return os.environ.get("AGENT_ASSIST_MARQUEE_DB") or os.path.join(
        platformdirs.user_data_dir("agent-assist", appauthor=False), "marquee.db"
    )


def connection_options(p: argparse.ArgumentParser) -> None:
    """--server, --token, --ca and --pin: how a command reaches the marquee server."""
    p.add_argument("--server", required=True, metavar="URL", help="e.g. ws://127.0.0.1:8765/")
    p.add_argument(
        "--token", default=os.environ.get("AGENT_ASSIST_TOKEN"), help="or AGENT_ASSIST_TOKEN"
    )
    p.add_argument("--ca", metavar="PEM", help="trust this CA for wss://")
    p.add_argument(
        "--pin",
        metavar="SHA256",
        help="accept only the server certificate with this SHA-256 (hex) for wss://",
    )


def add_marquee_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    server = sub.add_parser(
        "server",
        help="run the marquee server",
        description=(
            "Serve supervisors' announcements to agents over WebSocket (wss with --tls-cert/--tls-key), "
            "with /healthz and /metrics on the same port. Listens on 127.0.0.1 unless told otherwise."
        ),
    )
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8765)
    server.add_argument("--db", help="SQLite database (default: the user data dir)")
    server.add_argument("--tls-cert", metavar="PEM")
    server.add_argument("--tls-key", metavar="PEM")
    server.add_argument(
        "--redis",
        metavar="URL",
        help="keep state in Redis and share fan-out with every node started with the same URL "
        "(e.g. redis://127.0.0.1:6379/0); --db is then unused",
    )
    server.add_argument(
        "--flag-feed",
        action="store_true",
        help="relay agents' flag summaries (kind, severity, time; never words) to supervisors: "
        "only where the site policy opts in",
    )
    server.add_argument(
        "--updates",
        metavar="DIR",
        help="serve the signed releases in DIR/stable/ and DIR/pilot/ at /updates/ "
        "(desktops check them with agent-assist update check)",
    )
    server.set_defaults(run=_server)

    token = sub.add_parser("token", help="manage access tokens")
    tsub = token.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    create = tsub.add_parser(
        "create", help="create a token (printed once; only its hash is stored)"
    )
    create.add_argument("--role", choices=("agent", "supervisor", "admin"), required=True)
    create.add_argument("--name", required=True, help="who it is for (shown in read receipts)")
    create.add_argument("--site", default="")
    create.add_argument("--team", default="")
    create.add_argument("--db", help="the server's database (default: the user data dir)")
    create.add_argument("--redis", metavar="URL", help="the Redis of a scaled-out server")
    create.set_defaults(run=_token_create)

    marquee = sub.add_parser("marquee", help="send, list, retract or listen to announcements")
    msub = marquee.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )

    conn = connection_options
    send = msub.add_parser("send", help="broadcast an announcement (supervisors)")
    send.add_argument("text")
    send.add_argument("--priority", choices=("info", "warning", "urgent"), default="info")
    send.add_argument("--site", action="append", default=[], help="only this site (repeatable)")
    send.add_argument("--team", action="append", default=[], help="only this team (repeatable)")
    send.add_argument("--agent", action="append", default=[], help="only this agent (repeatable)")
    send.add_argument("--expires-in", type=float, metavar="MIN", help="expire after MIN minutes")
    send.add_argument(
        "--starts-in", type=float, metavar="MIN", help="show it from MIN minutes from now"
    )
    conn(send)
    send.set_defaults(run=_send)
    lst = msub.add_parser("list", help="active announcements")
    lst.add_argument("--json", action="store_true")
    conn(lst)
    lst.set_defaults(run=_list)
    retract = msub.add_parser("retract", help="withdraw an announcement (supervisors)")
    retract.add_argument("id")
    conn(retract)
    retract.set_defaults(run=_retract)
    receipts = msub.add_parser("receipts", help="who has and hasn't seen an announcement")
    receipts.add_argument("id")
    receipts.add_argument("--json", action="store_true")
    conn(receipts)
    receipts.set_defaults(run=_receipts)
    listen = msub.add_parser("listen", help="print announcements as they arrive (Ctrl-C ends)")
    listen.add_argument("--jsonl", action="store_true", help="as marquee events (JSON Lines)")
    listen.add_argument("--ack", action="store_true", help="acknowledge each one (read receipt)")
    listen.add_argument("--count", type=int, help="stop after N announcements")
    conn(listen)
    listen.set_defaults(run=_listen)


def _server(args: argparse.Namespace) -> int:
    from agent_assist.marquee.backend import Backend
    from agent_assist.marquee.server import run
    from agent_assist.marquee.store import MarqueeStore

    context = None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise AgentAssistError(f"cannot load the TLS certificate/key: {exc}") from None
    if args.updates and not os.path.isdir(args.updates):
        raise UsageError(f"--updates {args.updates} is not a folder")
    backend: Backend | MarqueeStore = (
        redis_backend(args.redis) if args.redis else MarqueeStore(args.db or _default_db())
    )
    print(
        f"agent-assist: marquee server on {'wss' if context else 'ws'}://{args.host}:{args.port}/"
        + (f" sharing {args.redis}" if args.redis else ""),
        file=sys.stderr,
        flush=True,
    )
    try:
        run(
            backend,
            host=args.host,
            port=args.port,
            ssl_context=context,
            flag_feed=args.flag_feed,
            updates=Path(args.updates) if args.updates else None,
        )
    except OSError as exc:
        raise AgentAssistError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror})"
        ) from None
    return 0


def redis_backend(url: str) -> Any:
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


def _token_create(args: argparse.Namespace) -> int:
    from agent_assist.marquee.store import MarqueeStore

    fields = {"role": args.role, "name": args.name, "site": args.site, "team": args.team}
    if args.redis:
        import asyncio

        backend = redis_backend(args.redis)

        async def create() -> str:
            try:
                await backend.connect()
                return str(await backend.create_token(**fields))
            finally:
                await backend.close()

        print(asyncio.run(create()))
        return 0
    print(MarqueeStore(args.db or _default_db()).create_token(**fields))
    return 0


class Session:
    """A short synchronous conversation with the server for one CLI command."""

    def __init__(self, args: argparse.Namespace) -> None:
        from websockets.exceptions import InvalidStatus, InvalidURI
        from websockets.sync.client import connect

        from agent_assist.marquee.protocol import PROTOCOL_VERSION, Hello, Welcome
        from agent_assist.marquee.tls import context_for

        if not args.token:
            raise UsageError("--token (or AGENT_ASSIST_TOKEN) is required")
        self._stack = contextlib.ExitStack()
        context = context_for(args.server, ca_file=args.ca, pin_sha256=args.pin)
        try:
            self.ws = self._stack.enter_context(
                connect(
                    args.server,
                    additional_headers={"Authorization": f"Bearer {args.token}"},
                    ssl=context,
                    open_timeout=10,
                    compression=None,
                )
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            raise AgentAssistError(
                "the server refused this token"
                if code == 401
                else f"the server answered HTTP {code}"
            ) from None
        except InvalidURI:
            raise UsageError(f"{args.server} is not a ws:// or wss:// URL") from None
        except (OSError, TimeoutError) as exc:
            raise AgentAssistError(
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
        from agent_assist.marquee.protocol import encode

        self.ws.send(encode(message))

    def recv(self, timeout: float | None = 10.0) -> Any:
        from websockets.exceptions import ConnectionClosed

        from agent_assist.marquee.protocol import ErrorMessage, decode

        try:
            frame = self.ws.recv(timeout=timeout)
        except TimeoutError:
            raise NoAnswerError("the marquee server did not answer in time") from None
        except ConnectionClosed as exc:
            reason = f" ({exc.rcvd.reason})" if exc.rcvd and exc.rcvd.reason else ""
            raise AgentAssistError(f"the marquee server closed the connection{reason}") from None
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


def _send(args: argparse.Namespace) -> int:
    from agent_assist.marquee.protocol import Announce, Announcement, Audience

    everyone = not (args.site or args.team or args.agent)
    audience = Audience(
        all=everyone, sites=tuple(args.site), teams=tuple(args.team), agents=tuple(args.agent)
    )
    now = time.time()
    expires = now + args.expires_in * 60 if args.expires_in else None
    starts = now + args.starts_in * 60 if args.starts_in else None
    session = Session(args)
    try:
        session.send(
            Announce(
                text=args.text,
                priority=args.priority,
                audience=audience,
                starts_at=starts,
                expires_at=expires,
            )
        )
        sent = session.wait_for(Announcement, lambda m: m.text == args.text)
    finally:
        session.close()
    print(sent.id)
    return 0


def _list(args: argparse.Namespace) -> int:
    from agent_assist.marquee.protocol import encode
    from agent_assist.marquee.state import ClientState

    session = Session(args)
    session.close()
    state, now = ClientState(), time.time()
    for message in session.backlog:
        state.receive(message, now)
    state.expire(now)
    active = state.known()  # started or scheduled, not retracted or expired
    for m in active:
        if args.json:
            print(encode(m))
        else:
            print(f"{m.id}  [{m.priority}] {m.text}  (by {m.author})")
    if not active and not args.json:
        print("no active announcements")
    return 0


def _retract(args: argparse.Namespace) -> int:
    from agent_assist.marquee.protocol import Retract, Retracted

    session = Session(args)
    try:
        session.send(Retract(id=args.id))
        session.wait_for(Retracted, lambda m: m.id == args.id)
    finally:
        session.close()
    print(f"retracted {args.id}", file=sys.stderr)
    return 0


def _receipts(args: argparse.Namespace) -> int:
    from agent_assist.marquee.protocol import ReceiptList, Receipts, encode

    session = Session(args)
    try:
        session.send(Receipts(id=args.id))
        receipts = session.wait_for(ReceiptList, lambda m: m.id == args.id)
    finally:
        session.close()
    if args.json:
        print(encode(receipts))
        return 0
    print(f"seen by {len(receipts.seen)}: " + ", ".join(s.name for s in receipts.seen))
    print(f"not yet {len(receipts.pending)}: " + ", ".join(receipts.pending))
    return 0


def _listen(args: argparse.Namespace) -> int:
    from agent_assist.events import Marquee, encode
    from agent_assist.marquee.protocol import Ack, Announcement
    from agent_assist.marquee.state import ClientState

    session = Session(args)
    started = time.monotonic()
    count = 0
    state = ClientState()  # holds scheduled ones until they start, drops repeats
    backlog = collections.deque(session.backlog)
    ready: collections.deque[Announcement] = collections.deque()
    try:
        while args.count is None or count < args.count:
            ready.extend(state.due(time.time()))
            if not ready:
                if backlog:
                    message = backlog.popleft()
                else:
                    start = state.next_start()
                    wait = None if start is None else max(0.01, start - time.time())
                    try:
                        message = session.recv(timeout=wait)
                    except NoAnswerError:
                        if wait is None:
                            raise
                        continue  # a scheduled one is due
                delivered = state.receive(message, time.time())
                ready.extend(m for m in delivered if isinstance(m, Announcement))
                continue
            announcement = ready.popleft()
            count += 1
            if args.jsonl:
                event = Marquee(
                    t=round(time.monotonic() - started, 3),
                    id=announcement.id,
                    text=announcement.text,
                    priority=announcement.priority,
                )
                print(encode(event), flush=True)
            else:
                print(
                    f"[{announcement.priority}] {announcement.text}  ({announcement.author})",
                    flush=True,
                )
            if args.ack and state.acknowledge(announcement.id):
                session.send(Ack(id=announcement.id))
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
    return 0
