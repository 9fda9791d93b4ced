"""``agent-assist kb sync|submit|push|review|publish``: the kb commands that concern the server.

* ``sync``: fetch what changed since the cache's version (``GET /kb/changes``)
  and apply it atomically (kb_cache.exchange.sync): a bad payload changes nothing.
* ``submit``: queue a front-line resolution in the local outbox (works offline,
  scrubbed of personal data); ``push`` sends the queue to the review queue.
* ``review list|approve|reject``: supervisors decide submissions.
* ``publish``: IT loads articles (any import format) into the server's knowledge.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_assist.errors import AgentAssistError, RetryLaterError, UsageError

__all__ = ["add_kb_server_commands"]

_FOR_GOOD = ("bad_message", "too_big", "forbidden")  # server refusals that retrying cannot fix


def add_kb_server_commands(
    ksub: Any,
    db_option: Callable[[argparse.ArgumentParser], None],
    connection_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    sync = ksub.add_parser(
        "sync", help="bring the cache up to date from the server (all or nothing)"
    )
    connection_options(sync)
    db_option(sync)
    sync.add_argument("--no-embed", action="store_true", help="skip embeddings")
    sync.set_defaults(run=_sync)

    submit = ksub.add_parser(
        "submit",
        help="queue a resolution for supervisors' review (works offline)",
        description="Queue a resolution in the local outbox; `kb push` sends it. "
        "Card numbers, phone numbers and e-mail addresses are scrubbed first.",
    )
    submit.add_argument("--title", required=True)
    submit.add_argument("--steps", required=True, help="what resolved it")
    submit.add_argument("--trigger", action="append", default=[], help="how customers put it")
    submit.add_argument("--tag", action="append", default=[])
    db_option(submit)
    submit.set_defaults(run=_submit)

    push = ksub.add_parser("push", help="send queued resolutions to the review queue")
    connection_options(push)
    db_option(push)
    push.set_defaults(run=_push)

    review = ksub.add_parser("review", help="the review queue (supervisors)")
    review.add_argument("decision", choices=("list", "approve", "reject"))
    review.add_argument("id", nargs="?", metavar="SUBMISSION_ID")
    review.add_argument("--reason", help="why (shown to the agent's team)")
    review.add_argument(
        "--article-id",
        help="publish under this id (default: from the title); for a phrasing, the article it joins",
    )
    review.add_argument("--department")
    review.add_argument("--authority", help="what the agent may do alone")
    review.add_argument("--json", action="store_true")
    connection_options(review)
    review.set_defaults(run=_review)

    publish = ksub.add_parser(
        "publish",
        help="load articles into the server's knowledge (IT, on the server)",
        description="Validate articles (any `kb import` format, or 'demo') and publish them "
        "as one new knowledge version in the server's database or Redis.",
    )
    publish.add_argument("path", metavar="PATH|demo")
    from agent_assist.cli.kb_articles import from_option

    from_option(publish)
    publish.add_argument("--server-db", metavar="DB", help="the server's SQLite database")
    publish.add_argument("--redis", metavar="URL", help="the Redis of a scaled-out server")
    publish.set_defaults(run=_publish)


def _get(args: argparse.Namespace, path: str) -> Any:
    """GET ``path`` from the server's HTTP side with the bearer token; returns parsed JSON."""
    from agent_assist.cli.session import client_tls
    from agent_assist.cli.tokens import token_of
    from agent_assist.marquee.http import fetch_json

    token = token_of(args)
    if not token:
        raise UsageError("--token-file (or AGENT_ASSIST_TOKEN) is required")
    return fetch_json(args.server, path, token=token, ssl_context=client_tls(args))


def _sync(args: argparse.Namespace) -> int:
    from kb_cache.cache import make_embedder, open_db
    from kb_cache.exchange import sync

    outcome = sync(
        open_db(args.db),
        lambda since: _get(args, f"/kb/changes?since={since}"),
        embedder=make_embedder(not args.no_embed),
    )
    if outcome.result is None:
        print(f"knowledge is up to date (version {outcome.since})", file=sys.stderr)
        return 0
    print(
        f"knowledge version {outcome.since} -> {outcome.version}: {outcome.result.added} new, "
        f"{outcome.result.updated} updated, {outcome.deleted} removed",
        file=sys.stderr,
    )
    return 0


def _submit(args: argparse.Namespace) -> int:
    from kb_cache.cache import open_db
    from kb_cache.outbox import submit_resolution

    number = submit_resolution(
        open_db(args.db),
        title=args.title,
        steps=args.steps,
        tags=args.tag,
        triggers=args.trigger,
    )
    print(f"queued as {number}; `agent-assist kb push` sends it for review", file=sys.stderr)
    return 0


def _push(args: argparse.Namespace) -> int:
    from agent_assist.cli.marquee import ServerRefused, Session
    from agent_assist.marquee.protocol import Submit, Submitted
    from kb_cache.cache import open_db
    from kb_cache.exchange import push
    from kb_cache.outbox import Rejected

    db = open_db(args.db)
    try:
        session = Session(args)
    except AgentAssistError as exc:
        print(f"agent-assist: {exc}; the resolutions stay queued", file=sys.stderr)
        return 1

    def deliver(message: Submit) -> None:
        try:
            session.send(message)
            session.wait_for(Submitted, lambda m: m.ref == message.ref)
        except ServerRefused as exc:
            if exc.code in _FOR_GOOD:  # this submission itself is wrong
                raise Rejected(str(exc)) from None
            raise RetryLaterError(str(exc)) from None  # rate limited, unavailable: try again later
        except AgentAssistError as exc:
            raise RetryLaterError(str(exc)) from None

    try:
        sent, left = push(db, deliver)
    finally:
        session.close()
    print(f"sent {sent} for review; {left} still queued", file=sys.stderr)
    return 0 if left == 0 else 1


def _review(args: argparse.Namespace) -> int:
    if args.decision == "list":
        pending = _get(args, "/kb/review")["pending"]
        if args.json:
            print(json.dumps(pending, ensure_ascii=False))
        for item in [] if args.json else pending:
            who = f"(from {item['author']}, {item['site'] or '-'})"
            if item.get("article_id"):  # learned from an agent's feedback
                print(f"{item['id']}  phrasing for {item['article_id']} ({item['title']})  {who}")
                for trigger in item["triggers"]:
                    print(f"    “{trigger}”")
                continue
            print(f"{item['id']}  {item['title']}  {who}")
            print("    " + item["body"].replace("\n", "\n    "))
        if not pending and not args.json:
            print("nothing waiting for review")
        return 0
    if not args.id:
        raise UsageError(f"review {args.decision} needs a SUBMISSION_ID")
    from agent_assist.cli.marquee import Session
    from agent_assist.marquee.protocol import Review, Reviewed

    session = Session(args)
    try:
        session.send(
            Review(
                id=args.id,
                decision=args.decision,
                reason=args.reason,
                article_id=args.article_id,
                department=args.department,
                authority=args.authority,
            )
        )
        reviewed = session.wait_for(Reviewed, lambda m: m.id == args.id)
    finally:
        session.close()
    if reviewed.article_id:
        print(f"published as {reviewed.article_id} (knowledge version {reviewed.version})")
    else:
        print(f"rejected {args.id}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    import dataclasses

    from agent_assist.cli.kb_articles import read_articles

    articles, skipped = read_articles(args.path, args.fmt)
    records = [
        {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(a).items()
            if v is not None
        }
        for a in articles
    ]
    if bool(args.redis) == bool(args.server_db):
        raise UsageError("give the server's --server-db or its --redis URL")
    if args.redis:
        import asyncio

        from agent_assist.cli.backends import redis_backend

        backend = redis_backend(args.redis)

        async def publish() -> int:
            try:
                await backend.connect()
                return int(await backend.kb_publish(records))
            finally:
                await backend.close()

        version = asyncio.run(publish())
    else:
        from agent_assist.marquee.store import MarqueeStore

        if not Path(args.server_db).is_file():  # a typo must not create an empty server database
            raise UsageError(f"{args.server_db} is not a marquee server database")
        version = MarqueeStore(args.server_db).knowledge.publish(records)
    print(
        f"published {len(records)} articles; knowledge version {version}{skipped}", file=sys.stderr
    )
    return 0
