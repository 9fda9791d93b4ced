"""``agent-assist policy show``: effective settings, where each came from, which are locked."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from agent_assist.errors import UsageError

__all__ = ["add_policy_commands"]


def add_policy_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    policy = sub.add_parser(
        "policy",
        help="site policy and settings",
        description=(
            "Settings come in layers: built-in defaults < the site policy written by IT "
            "(/etc/agent-assist/site.toml, %ProgramData%\\AgentAssist\\site.toml, or "
            "/Library/Application Support/AgentAssist/site.toml) < the user's settings; "
            "keys the site policy locks cannot be changed by the user."
        ),
    )
    psub = policy.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    show = psub.add_parser(
        "show",
        help="print the effective settings and where each came from",
        description=(
            "Print every setting with its value and its source (default, the site policy file or "
            "the user settings file), marking the keys the site policy locks. Problems in either "
            "file (with file and line) go to stderr; the app runs on safe defaults despite them. "
            "With --check, exit 1 when there is any problem: run it on a policy before rolling it out."
        ),
    )
    show.add_argument("--json", action="store_true", help="JSON output")
    show.add_argument("--check", action="store_true", help="exit 1 if any file has a problem")
    show.add_argument(
        "--site",
        metavar="FILE",
        help="site policy to read (default: AGENT_ASSIST_SITE_POLICY or the machine-wide file)",
    )
    show.add_argument(
        "--user",
        metavar="FILE",
        help="user settings to read (default: AGENT_ASSIST_USER_SETTINGS or the user config dir)",
    )
    show.set_defaults(run=_show)


def _show(args: argparse.Namespace) -> int:
    from agent_assist.config import load_settings, site_policy_path, user_settings_path

    # A missing user file is normal (the app writes it on the first change); a missing
    # --site is a typo that would make --check pass on nothing.
    if args.site is not None and not os.path.exists(args.site):
        raise UsageError(f"--site {args.site}: no such file")
    site = Path(args.site) if args.site is not None else site_policy_path()
    user = Path(args.user) if args.user is not None else user_settings_path()
    settings = load_settings(site=site, user=user)

    if args.json:
        document = {
            "site_policy": {"path": str(site), "exists": site.exists()},
            "user_settings": {"path": str(user), "exists": user.exists()},
            "settings": {
                s.key: {"value": s.value, "source": s.source, "path": s.path, "locked": s.locked}
                for s in settings
            },
            "problems": list(settings.problems),
            "notices": list(settings.notices),
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        for label, path in (("site policy:  ", site), ("user settings:", user)):
            print(f"# {label} {path}{'' if path.exists() else ' (no such file)'}")
        lines = [(f"{s.key} = {json.dumps(s.value, ensure_ascii=False)}", s) for s in settings]
        width = min(max(len(text) for text, _ in lines), 56)
        for text, s in lines:
            origin = s.source if s.path is None else f"{s.source} {s.path}"
            print(f"{text:<{width}}  # {origin}{', locked' if s.locked else ''}")

    for problem in settings.problems:
        print(f"agent-assist: {problem}", file=sys.stderr)
    for notice in settings.notices:
        print(f"agent-assist: note: {notice}", file=sys.stderr)
    if args.check:
        count = len(settings.problems)
        verdict = f"{count} problem{'s' if count != 1 else ''}" if count else "no problems"
        print(f"agent-assist: policy check: {verdict}", file=sys.stderr)
        return 1 if count else 0
    return 0
