"""``agent-assist server`` and ``marquee send|list|retract|receipts|listen`` (tokens: cli/tokens.py)."""

from __future__ import annotations

import argparse
import os
import secrets
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from agent_assist.cli.backends import default_db, redis_backend
from agent_assist.cli.session import Session, client_tls
from agent_assist.cli.tokens import add_token_commands, token_of
from agent_assist.errors import (
    AgentAssistError,
    ConnectionDropped,
    NoAnswerError,
    ServerRefused,
    UsageError,
)

__all__ = [
    "ServerRefused",
    "Session",
    "add_marquee_commands",
    "connection_options",
]

_SEND_ATTEMPTS = 4  # a keyed announce is sent again after an unclear failure (never duplicated)


class _Given(argparse.Action):
    """--token: remember that it was given on the command line (not just from the environment)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.token, namespace.token_given = values, True


def connection_options(p: argparse.ArgumentParser) -> None:
    """--server, --token-file (or AGENT_ASSIST_TOKEN), --ca and --pin: how a command reaches
    the marquee server."""
    p.add_argument("--server", required=True, metavar="URL", help="e.g. ws://127.0.0.1:8765/")
    p.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the token from this file (or set AGENT_ASSIST_TOKEN)",
    )
    p.add_argument(
        "--token",
        action=_Given,
        default=os.environ.get("AGENT_ASSIST_TOKEN"),
        help="the token itself: other users can see it in ps; prefer --token-file",
    )
    p.add_argument("--ca", metavar="PEM", help="trust this CA for wss://")
    p.add_argument(
        "--pin",
        metavar="SHA256",
        help="accept only the server certificate with this SHA-256 (hex) for wss://",
    )


def add_marquee_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``server``, ``token`` and ``marquee`` to the ``sub`` parsers."""
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
    server.add_argument(
        "--metrics-token-file",
        metavar="PATH",
        help="require this file's token (bearer) on /metrics (or AGENT_ASSIST_METRICS_TOKEN)",
    )
    server.set_defaults(run=_server)
    add_token_commands(sub, parser_class)

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
    listen = msub.add_parser(
        "listen",
        help="print announcements as they arrive (Ctrl-C ends)",
        description="Print announcements as they arrive. When the connection drops (a server "
        "restart, a network blip) it reconnects with back-off and resumes where it left off: "
        "nothing is missed or printed twice. --once ends at the first disconnect instead (exit 1).",
    )
    listen.add_argument("--jsonl", action="store_true", help="as marquee events (JSON Lines)")
    listen.add_argument("--ack", action="store_true", help="acknowledge each one (read receipt)")
    listen.add_argument("--count", type=int, help="stop after N announcements")
    listen.add_argument("--once", action="store_true", help="exit at the first disconnect")
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
    metrics_token = os.environ.get("AGENT_ASSIST_METRICS_TOKEN") or None
    if args.metrics_token_file:
        metrics_token = token_of(argparse.Namespace(token_file=args.metrics_token_file))
    backend: Backend | MarqueeStore = (
        redis_backend(args.redis) if args.redis else MarqueeStore(args.db or default_db())
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
            metrics_token=metrics_token,
            updates=Path(args.updates) if args.updates else None,
        )
    except OSError as exc:
        raise AgentAssistError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror})"
        ) from None
    return 0


def _send(args: argparse.Namespace) -> int:
    from agent_assist.marquee.protocol import Announce, Announced, Audience, ProtocolError, validate

    everyone = not (args.site or args.team or args.agent)
    audience = Audience(
        all=everyone, sites=tuple(args.site), teams=tuple(args.team), agents=tuple(args.agent)
    )
    now = time.time()
    message = Announce(
        text=args.text,
        priority=args.priority,
        audience=audience,
        starts_at=now + args.starts_in * 60 if args.starts_in else None,
        expires_at=now + args.expires_in * 60 if args.expires_in else None,
        key=f"cli-{secrets.token_hex(8)}",  # the same key on every attempt: stored once
    )
    try:
        validate(message, now=now)
    except ProtocolError as exc:
        raise UsageError(str(exc)) from None
    for attempt in range(_SEND_ATTEMPTS):
        try:
            session = Session(args)
            try:
                session.send(message)
                announced = session.wait_for(Announced, lambda m: m.key == message.key)
            finally:
                session.close()
            print(announced.id)
            return 0
        except (ConnectionDropped, NoAnswerError) as exc:
            failure: AgentAssistError = exc
        except ServerRefused as exc:
            if exc.code not in ("unavailable", "rate_limited"):
                raise
            failure = exc
        if attempt + 1 < _SEND_ATTEMPTS:
            print(f"agent-assist: {failure}; trying again", file=sys.stderr)
            time.sleep(0.5 * 2**attempt)
    raise failure


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
    import queue

    from agent_assist.events import Marquee, encode
    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import Ack, Announcement
    from agent_assist.marquee.state import ClientState

    token = token_of(args)
    if not token:
        raise UsageError("--token-file (or AGENT_ASSIST_TOKEN) is required")
    if not args.server.startswith(("ws://", "wss://")):
        raise UsageError(f"{args.server} is not a ws:// or wss:// URL")
    inbox: queue.Queue[Any] = queue.Queue()
    client = MarqueeClient(
        args.server,
        token,
        on_message=inbox.put,
        on_state=lambda state: inbox.put(("state", state)),
        ssl_context=client_tls(args),
        client_name="agent-assist-cli listen",
    )
    started, count, connected = time.monotonic(), 0, False
    receipts = ClientState()  # the client's own state drops repeats; this one says when to ack
    client.start()
    try:
        while args.count is None or count < args.count:
            item = inbox.get()
            if isinstance(item, tuple):  # the connection's state
                state = str(item[1])
                if client.failure is not None:
                    raise AgentAssistError(client.failure)
                if state == "connected":
                    if count or connected:
                        print("agent-assist: connected again; resuming", file=sys.stderr)
                    connected = True
                elif args.once:
                    reason = state.partition(": ")[2]
                    raise AgentAssistError(
                        "the marquee server closed the connection"
                        if connected
                        else f"cannot reach the marquee server at {args.server} ({reason})"
                    )
                else:
                    print(f"agent-assist: {state}; reconnecting", file=sys.stderr)
                continue
            if not isinstance(item, Announcement):
                continue
            count += 1
            if args.jsonl:
                event = Marquee(
                    t=round(time.monotonic() - started, 3),
                    id=item.id,
                    text=item.text,
                    priority=item.priority,
                )
                print(encode(event), flush=True)
            else:
                print(f"[{item.priority}] {item.text}  ({item.author})", flush=True)
            if args.ack and receipts.acknowledge(item.id):
                client.send_soon(Ack(id=item.id), on_failure=_ack_failed(item.id), wait=30.0)
    except KeyboardInterrupt:
        pass
    finally:
        client.stop()
    return 0


def _ack_failed(announcement_id: str) -> Any:
    def report(reason: str) -> None:  # on the client's thread
        print(f"agent-assist: could not acknowledge {announcement_id}: {reason}", file=sys.stderr)

    return report
