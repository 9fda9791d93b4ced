"""``agent-assist policy show|templates``: effective settings and Group Policy templates."""

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
            "(/etc/agent-assist/site.toml, %ProgramData%\\AgentAssist\\site.toml or "
            "/Library/Application Support/AgentAssist/site.toml; on Windows also Group Policy "
            "and the MSI's registry values) < the user's settings; keys the site policy locks "
            "cannot be changed by the user. A site policy that cannot be read locks the server, "
            "privacy and updates settings to safe values."
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
        help="site policy to read instead of this machine's (default: the machine-wide policy; "
        "AGENT_ASSIST_SITE_POLICY only on a machine without one)",
    )
    show.add_argument(
        "--user",
        metavar="FILE",
        help="user settings to read (default: AGENT_ASSIST_USER_SETTINGS or the user config dir)",
    )
    show.set_defaults(run=_show)

    templates = psub.add_parser(
        "templates",
        help="write the Group Policy templates (ADMX/ADML) for Windows domains",
        description=(
            "Write AgentAssist.admx and en-US/AgentAssist.adml, generated from this version's "
            "settings, into DIR. Copy them into the domain's PolicyDefinitions folder (the "
            "Central Store); each policy sets one setting under "
            "HKLM\\SOFTWARE\\Policies\\AgentAssist and locks it."
        ),
    )
    templates.add_argument("--out", metavar="DIR", required=True, help="folder to write into")
    templates.set_defaults(run=_templates)


def _show(args: argparse.Namespace) -> int:
    from agent_assist.config import load_settings, user_settings_path
    from agent_assist.policy import current_settings

    # A missing user file is normal (the app writes it on the first change); a missing
    # --site is a typo that would make --check pass on nothing.
    if args.site is not None and not os.path.exists(args.site):
        raise UsageError(f"--site {args.site}: no such file")
    user = Path(args.user) if args.user is not None else user_settings_path()
    if args.site is not None:
        settings = load_settings(site=args.site, user=user)
    else:
        settings = current_settings(user=user)
    site = Path(settings.site_path or "")

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
            "failed_closed": settings.failed_closed,
            "registry": [layer.name for layer in settings.machine],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        for label, path in (("site policy:  ", site), ("user settings:", user)):
            print(f"# {label} {path}{'' if path.exists() else ' (no such file)'}")
        for layer in settings.machine:
            print(f"# registry:      {layer.name}")
        if settings.policy_problem:
            print(f"# {settings.policy_problem}")
        lines = [(f"{s.key} = {json.dumps(s.value, ensure_ascii=False)}", s) for s in settings]
        width = min(max(len(text) for text, _ in lines), 56)
        for text, s in lines:
            origin = s.source if s.path is None else f"{s.source} {s.path}"
            print(f"{text:<{width}}  # {origin}{', locked' if s.locked else ''}")

    if settings.policy_problem:
        print(f"agent-assist: {settings.policy_problem}", file=sys.stderr)
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


def _templates(args: argparse.Namespace) -> int:
    from agent_assist.admx import ADML_NAME, ADMX_NAME, adml, admx

    out = Path(args.out)
    try:
        (out / "en-US").mkdir(parents=True, exist_ok=True)
        (out / ADMX_NAME).write_text(admx(), encoding="utf-8")
        (out / "en-US" / ADML_NAME).write_text(adml(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write into {out}: {exc.strerror or exc}") from None
    print(f"wrote {out / ADMX_NAME} and {out / 'en-US' / ADML_NAME}", file=sys.stderr)
    return 0
