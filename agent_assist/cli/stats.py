"""``agent-assist stats export`` and ``agent-assist wallboard``: team stats off the server."""

from __future__ import annotations

import argparse
import datetime
import sys
import urllib.parse
from typing import Any

from agent_assist.cli.tokens import token_of
from agent_assist.errors import UsageError

__all__ = ["add_stats_commands"]


def _day(text: str) -> str:
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_stats_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    from agent_assist.cli.marquee import connection_options

    stats = sub.add_parser("stats", help="team stats from the server", description="Team stats.")
    ssub = stats.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    export = ssub.add_parser(
        "export",
        help="calls, handle time, script adherence, flags, knowledge use, acknowledgement time",
        description=(
            "Export team stats per agent, team or site and day, as far as your token's scope "
            "allows (supervisors: their site or team; admins: everything). Counts and seconds only: "
            "agents' apps never send words."
        ),
    )
    export.add_argument(
        "--from",
        dest="first",
        type=_day,
        metavar="DATE",
        help="first day (default: 6 days before --to)",
    )
    export.add_argument(
        "--to", dest="last", type=_day, metavar="DATE", help="last day (default: today)"
    )
    export.add_argument("--by", choices=("agent", "team", "site"), default="agent")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    connection_options(export)
    export.set_defaults(run=_export)

    wall = sub.add_parser(
        "wallboard",
        help="the floor's full-screen display: announcements and today's team numbers",
        description=(
            "A read-only, full-screen floor display: announcements large enough to read across "
            "the room, and today's numbers for the token's teams. Kiosk mode: no controls, no "
            "cursor; it keeps reconnecting through server restarts. Esc does nothing; close it "
            "from the operating system. Use a supervisor token scoped to the floor's site."
        ),
    )
    connection_options(wall)
    wall.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    wall.add_argument(
        "--refresh", type=float, default=30.0, metavar="S", help="seconds between stats reads"
    )
    wall.add_argument("--screenshot", metavar="PNG", help="save the screen after --quit-after")
    wall.add_argument("--quit-after", type=float, metavar="S", help="close after S seconds")
    wall.set_defaults(run=_wallboard)


def _export(args: argparse.Namespace) -> int:
    import json

    from agent_assist.marquee.http import fetch_json
    from agent_assist.marquee.stats import to_csv
    from agent_assist.marquee.tls import context_for

    token = token_of(args)
    if not token:
        raise UsageError("--token-file (or AGENT_ASSIST_TOKEN) is required")
    last = args.last or datetime.date.today().isoformat()
    first = (
        args.first or (datetime.date.fromisoformat(last) - datetime.timedelta(days=6)).isoformat()
    )
    if first > last:
        raise UsageError("--from must not be after --to")
    query = urllib.parse.urlencode({"from": first, "to": last, "by": args.by})
    context = context_for(args.server, ca_file=args.ca, pin_sha256=args.pin)
    answer = fetch_json(args.server, f"/stats?{query}", token=token, ssl_context=context)
    rows = answer["rows"]
    text = to_csv(rows, by=args.by) if args.format == "csv" else json.dumps(answer, indent=1) + "\n"
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
        print(f"agent-assist: {len(rows)} rows written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _wallboard(args: argparse.Namespace) -> int:
    from agent_assist.app.wallboard import WallboardOptions, run_wallboard

    token = token_of(args)
    if not token:
        raise UsageError("--token-file (or AGENT_ASSIST_TOKEN) is required")
    if args.screenshot and args.quit_after is None:
        raise UsageError("--screenshot needs --quit-after")
    code: int = run_wallboard(
        WallboardOptions(
            server=args.server,
            token=token,
            ca=args.ca,
            pin=args.pin,
            windowed=args.windowed,
            refresh=max(5.0, args.refresh),
            screenshot=args.screenshot,
            quit_after=args.quit_after,
        )
    )
    return code
