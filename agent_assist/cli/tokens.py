"""``agent-assist token create|list|revoke``, and reading a token without showing it.

Tokens live in the server's SQLite database (``--db``) or its Redis (``--redis``).
A token is printed once, at creation; afterwards only its id (the start of its
hash) is shown. Commands that talk to the server take ``--token-file PATH`` or
``AGENT_ASSIST_TOKEN`` (``--token`` shows the secret to anyone running ``ps``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

from agent_assist.errors import AgentAssistError, UsageError

__all__ = ["add_token_commands", "token_of"]


def token_of(args: argparse.Namespace) -> str | None:
    """The token a command was given: ``--token-file``, ``--token`` or ``AGENT_ASSIST_TOKEN``."""
    path = getattr(args, "token_file", None)
    if path:
        if getattr(args, "token_given", False):
            raise UsageError("give --token or --token-file, not both")
        try:
            mode = os.stat(path).st_mode
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read the token file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"the token file {path} is not text") from None
        if not token or any(c.isspace() for c in token):
            raise UsageError(f"the token file {path} must hold one token")
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            print(
                f"agent-assist: warning: {path} is readable by other users (chmod 600 it)",
                file=sys.stderr,
            )
        return token
    given = getattr(args, "token", None)
    return str(given) if given else None


def add_token_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    token = sub.add_parser(
        "token",
        help="manage access tokens",
        description="Create, list and revoke the tokens of a marquee server (its --db or --redis).",
    )
    tsub = token.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )

    def where(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="the server's database (default: the user data dir)")
        p.add_argument("--redis", metavar="URL", help="the Redis of a scaled-out server")

    create = tsub.add_parser(
        "create",
        help="create a token (printed once; only its hash is stored)",
        description="Create a token. An agent belongs to one --site and --team. A supervisor "
        "addresses and sees only the --site(s) it is created for (and, with --team, only those "
        "teams there); an admin has every site.",
    )
    create.add_argument("--role", choices=("agent", "supervisor", "admin"), required=True)
    create.add_argument("--name", required=True, help="who it is for (shown in read receipts)")
    create.add_argument("--site", action="append", default=[], help="a site (repeatable)")
    create.add_argument("--team", action="append", default=[], help="a team (repeatable)")
    where(create)
    create.set_defaults(run=_create)

    listing = tsub.add_parser("list", help="every token: id, role, name, sites, created, revoked")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    where(listing)
    listing.set_defaults(run=_list)

    revoke = tsub.add_parser(
        "revoke",
        help="revoke a token by id, or every token of a name",
        description="Revoke the token with this id (see token list), or else every live token "
        "of this name. Their connections are closed within seconds.",
    )
    revoke.add_argument("who", metavar="NAME|ID")
    where(revoke)
    revoke.set_defaults(run=_revoke)


def _store(args: argparse.Namespace, *, create: bool) -> Any:
    from agent_assist.cli.backends import default_db
    from agent_assist.marquee.store import MarqueeStore

    path = args.db or default_db()
    if not create and not Path(path).is_file():  # a typo must not create an empty database
        raise UsageError(f"{path} is not a marquee server database")
    return MarqueeStore(path)


def _on_redis(args: argparse.Namespace, work: Any) -> Any:
    from agent_assist.cli.backends import redis_backend

    backend = redis_backend(args.redis)

    async def run() -> Any:
        try:
            await backend.connect()
            return await work(backend)
        finally:
            await backend.close()

    return asyncio.run(run())


def _create(args: argparse.Namespace) -> int:
    fields = {
        "role": args.role,
        "name": args.name,
        "site": tuple(args.site),
        "team": tuple(args.team),
    }
    if args.redis:
        print(_on_redis(args, lambda backend: backend.create_token(**fields)))
    else:
        print(_store(args, create=True).create_token(**fields))
    return 0


def _tokens(args: argparse.Namespace) -> list[Any]:
    if args.redis:
        return list(_on_redis(args, lambda backend: backend.list_tokens()))
    return list(_store(args, create=False).tokens())


def _list(args: argparse.Namespace) -> int:
    tokens = _tokens(args)
    for t in tokens:
        if args.json:
            print(json.dumps(dataclasses.asdict(t)))
            continue
        revoked = f"  revoked {_when(t.revoked_at)}" if t.revoked_at is not None else ""
        where = " ".join(
            part
            for part in (f"sites={t.site}" if t.site else "", f"teams={t.team}" if t.team else "")
            if part
        )
        print(
            f"{t.id}  {t.role:<10} {t.name}  {where or '-'}  created {_when(t.created_at)}{revoked}"
        )
    if not tokens and not args.json:
        print("no tokens")
    return 0


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _revoke(args: argparse.Namespace) -> int:
    if args.redis:
        revoked = _on_redis(args, lambda backend: backend.revoke(args.who))
    else:
        revoked = _store(args, create=False).revoke(args.who)
    if not revoked:
        raise AgentAssistError(f"no live token has the id or name {args.who!r} (see: token list)")
    for t in revoked:
        print(f"revoked {t.id}  {t.role} {t.name}", file=sys.stderr)
    return 0
