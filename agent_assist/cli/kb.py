"""``agent-assist kb ...``: the knowledge cache from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

from agent_assist.cli.kb_articles import from_option, read_articles

__all__ = ["add_kb_commands", "open_db_for", "say"]


def add_kb_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    kb = sub.add_parser(
        "kb",
        help="the local knowledge cache",
        description=(
            "The offline knowledge cache: import articles, search them the way customers talk, "
            "record feedback, report use and unanswered questions, export."
        ),
    )
    ksub = kb.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db", metavar="DB", help="cache file (default: AGENT_ASSIST_KB or the user data dir)"
        )

    imp = ksub.add_parser(
        "import",
        help="import articles (all or nothing)",
        description=(
            "Import a knowledge export: a folder of Markdown files with front matter, our .jsonl or "
            ".csv, a ServiceNow kb_knowledge export (.csv or .xml), Zendesk Guide articles (.json), "
            "Confluence or SharePoint pages saved as HTML (a file or a folder), Word (.docx) and PDF "
            "documents (one article each; a file or a folder), or 'demo' for the "
            "bundled Northwind Bank demo. The format is detected when the name and content make it "
            "clear; --from says it. HTML becomes Markdown; drafts, unpublished articles, images and "
            "attachments are skipped and counted. A bad record is reported with its file and line "
            "and nothing is stored; articles already in the cache stay as they were."
        ),
    )
    imp.add_argument("path", metavar="PATH|demo")
    from_option(imp)
    imp.add_argument(
        "--no-embed", action="store_true", help="skip embeddings (keyword search only)"
    )
    db_option(imp)
    imp.set_defaults(run=_import)

    search = ksub.add_parser(
        "search",
        help="search the cache",
        description=(
            "Search for TEXT, or with no TEXT read one query per line from stdin and write one JSON "
            'line per query: {"query": ..., "results": [{"id", "title", "score", "snippet", '
            '"department", "authority"}, ...]}. An empty default cache is filled with the demo first.'
        ),
    )
    search.add_argument("text", nargs="?", metavar="TEXT")
    search.add_argument("--json", action="store_true", help="JSON output")
    search.add_argument(
        "--limit", type=int, default=3, metavar="N", help="results per query (default 3)"
    )
    search.add_argument("--keyword-only", action="store_true", help="BM25 only, no embeddings")
    db_option(search)
    search.set_defaults(run=_search)

    report = ksub.add_parser("report", help="article use per day and unanswered questions")
    report.add_argument(
        "--days", type=int, default=14, metavar="N", help="look back N days (default 14)"
    )
    report.add_argument("--json", action="store_true")
    db_option(report)
    report.set_defaults(run=_report)

    export = ksub.add_parser("export", help="export every article")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    db_option(export)
    export.set_defaults(run=_export)

    feedback = ksub.add_parser("feedback", help="record that an article was used or helpful")
    feedback.add_argument("article", metavar="ARTICLE_ID")
    feedback.add_argument("action", choices=("shown", "opened", "used", "helpful", "not_helpful"))
    db_option(feedback)
    feedback.set_defaults(run=_feedback)

    from agent_assist.cli.kb_server import add_kb_server_commands
    from agent_assist.cli.marquee import connection_options

    add_kb_server_commands(ksub, db_option, connection_options)


def say(message: str) -> None:
    """Tell the user (stderr), as every command does."""
    print(f"agent-assist: {message}", file=sys.stderr)


def open_db_for(args: argparse.Namespace, *, seed_demo: bool = False) -> Any:
    """The cache named by ``--db`` (or the default, filled with the demo if empty and asked)."""
    from kb_cache.cache import open_db

    return open_db(args.db, seed_demo=seed_demo, notify=say)


def _import(args: argparse.Namespace) -> int:
    from kb_cache.cache import make_embedder
    from kb_cache.demo import demo_vectors
    from kb_cache.importer import write_articles

    articles, skipped = read_articles(args.path, args.fmt)
    db = open_db_for(args)
    embedder = make_embedder(not args.no_embed)
    demo = args.path == "demo" and args.fmt is None and embedder is not None
    result = write_articles(
        db,
        articles,
        embedder=embedder,
        source=Path(args.path).name,
        known=demo_vectors(embedder.name) if demo and embedder is not None else None,
    )
    print(
        f"imported {len(articles)} articles: {result.added} new, {result.updated} updated, "
        f"{result.unchanged} unchanged; {result.embedded} phrasings embedded{skipped}",
        file=sys.stderr,
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    from agent_assist.errors import UsageError
    from kb_cache.cache import open_knowledge

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    kb = open_knowledge(args.db, seed_demo=True, embed=not args.keyword_only, notify=say)
    mode: Literal["hybrid", "keyword"] = "keyword" if args.keyword_only else "hybrid"
    if args.text is None:
        for line in sys.stdin:
            query = line.strip()
            hits = kb.search(query, limit=args.limit, mode=mode) if query else []
            print(
                json.dumps(
                    {"query": query, "results": [h.to_json() for h in hits]}, ensure_ascii=False
                ),
                flush=True,
            )
        return 0
    hits = kb.search(args.text, limit=args.limit, mode=mode, log=True)
    if args.json:
        print(
            json.dumps(
                {"query": args.text, "results": [h.to_json() for h in hits]}, ensure_ascii=False
            )
        )
        return 0
    if not hits:
        print("no matching article")
        return 0
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank}. {hit.title}  [{hit.id}, score {hit.score:.2f}]")
        print(f"   {hit.snippet}")
        print(f"   department: {hit.department or '-'} | you may: {hit.authority or '-'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from kb_cache.feedback import report

    data = report(open_db_for(args), days=args.days)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    print(f"Article use, last {args.days} days (shown / used / helpful / not helpful):")
    for row in data["usage"]:
        print(
            f"  {row['day']}  {row['article_id']:<40} {row['shown']:>4} {row['used']:>4} {row['helpful']:>4} {row['not_helpful']:>4}"
        )
    if not data["usage"]:
        print("  (none)")
    print("Top unanswered questions (searches with no good match):")
    for row in data["unanswered"]:
        print(f"  {row['count']:>4} x  {row['query']}")
    if not data["unanswered"]:
        print("  (none)")
    print(
        "Phrasings learned from agents' feedback (came with / new, waiting for review / approved):"
    )
    for row in data["phrasings"]:
        gained = row["candidates"] + row["approved"]
        share = f" (+{gained / row['triggers']:.0%})" if row["triggers"] else ""
        print(
            f"  {row['article_id']:<40} {row['triggers']:>4} / {row['candidates']:>4} / "
            f"{row['approved']:>4}{share}"
        )
    if not data["phrasings"]:
        print("  (none yet: they come from Used it / Helpful on suggested articles)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from kb_cache.exporter import export

    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
    try:
        count = export(open_db_for(args), out, fmt=args.format)
    finally:
        if args.out:
            out.close()
    print(f"exported {count} articles", file=sys.stderr)
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from kb_cache.feedback import record

    record(open_db_for(args), args.article, args.action)
    return 0
