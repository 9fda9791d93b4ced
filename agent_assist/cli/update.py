"""``agent-assist update check|apply`` and ``fleet versions``: signed updates, and what runs where."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from agent_assist import __version__
from agent_assist.cli.tokens import token_of
from agent_assist.errors import AgentAssistError, UsageError, VerificationError

__all__ = ["add_update_commands", "update_settings"]

EXIT_OK, EXIT_FAILURE = 0, 1


def add_update_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    update = sub.add_parser(
        "update",
        help="check for, download and install signed updates",
        description=(
            "Updates come from the site's update source (updates.url in the site policy; by "
            "default /updates/ on the marquee server) on the PC's channel (updates.channel: "
            "stable or pilot). A release is offered only if its manifest is signed by the trusted "
            "release key (IT's machine-wide release.pub or the key built into this program), has "
            "not expired, was signed for this channel, is newer than this version (or is the "
            "version IT pinned) and has a package for this machine."
        ),
    )
    usub = update.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    check = usub.add_parser(
        "check",
        help="say whether a verified update is available",
        description=(
            "Fetch and verify the newest release's signed manifest. Exit code 0 when an update is "
            "offered or this version is current; 1 (with one line saying why) when the release "
            "is refused or the source cannot be read."
        ),
    )
    check.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _source_options(check)
    check.set_defaults(run=_check)
    apply = usub.add_parser(
        "apply",
        help="download and verify the update, then stage or install it",
        description=(
            "Download the offered package in parts (resuming an earlier attempt), check its size "
            "and SHA-256 against the signed manifest and stage it (default: "
            "/var/lib/agent-assist/updates when writable, else the user's cache). With --install, "
            "hand it to the package manager (apt-get on Linux, as root; msiexec on Windows) after "
            "asking, or at once with --yes. Without --install it stays staged for IT's tooling."
        ),
    )
    apply.add_argument("--install", action="store_true", help="install the verified package")
    apply.add_argument("--yes", action="store_true", help="install without asking")
    apply.add_argument("--dir", metavar="DIR", help="stage the package here")
    _source_options(apply)
    apply.set_defaults(run=_apply)

    fleet = sub.add_parser(
        "fleet", help="what IT sees of the desktops", description="What the desktops run."
    )
    fsub = fleet.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    versions = fsub.add_parser(
        "versions",
        help="each desktop's version and update channel (supervisors and admins)",
        description=(
            "List the desktops the marquee server has seen since it started, with the version "
            "and update channel each reported when it connected. A supervisor token lists the "
            "desktops of its sites (and teams); an admin token lists them all."
        ),
    )
    versions.add_argument("--json", action="store_true", help="JSON output")
    from agent_assist.cli.marquee import connection_options

    connection_options(versions)
    versions.set_defaults(run=_versions)


def _source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", metavar="URL_OR_DIR", help="update source instead of updates.url (if not locked)"
    )
    parser.add_argument(
        "--channel",
        choices=("stable", "pilot"),
        help="channel instead of updates.channel (if not locked)",
    )


def update_settings(args: argparse.Namespace) -> tuple[Any, str, Any, str | None]:
    """(source, channel, trusted key, pinned version) from the settings and the options."""
    from agent_assist.policy import current_settings
    from agent_assist.release import trusted_key
    from agent_assist.update import source_from_settings

    source, channel, pin = source_from_settings(
        current_settings(), url=args.url, channel=args.channel
    )
    key = trusted_key()  # never a --key: only IT's machine-wide key or the build's
    return source, channel, key, pin


def _describe(offer: Any) -> list[str]:
    artifact = offer.artifact
    return [
        f"update available: {offer.manifest.name} {offer.version} "
        f"(installed {offer.installed}, channel {offer.channel})",
        f"  {artifact.name}  {artifact.size} bytes  sha256 {artifact.sha256[:16]}...",
        f"  signed by key {offer.key_id}; the manifest expires {offer.manifest.expires}",
    ]


def _check(args: argparse.Namespace) -> int:
    from agent_assist.update import check

    source, channel, key, pin = update_settings(args)
    try:
        offer = check(source, key=key, channel=channel, installed=__version__, pin=pin)
    except VerificationError as exc:  # a bad signature or UpdateRefused: nothing is trusted
        return _refused(args, channel, str(exc))
    if args.json:
        document: dict[str, Any] = {
            "status": "current",
            "installed": __version__,
            "channel": channel,
        }
        if offer is not None:
            document.update(
                status="available",
                version=offer.version,
                artifact=offer.artifact.to_json(),
                expires=offer.manifest.expires,
                key=offer.key_id,
            )
        print(json.dumps(document))
    elif offer is None:
        print(f"up to date: agent-assist {__version__} (channel {channel})")
    else:
        print("\n".join(_describe(offer)))
        print("install it with: agent-assist update apply --install (as root)")
    return EXIT_OK


def _refused(args: argparse.Namespace, channel: str, reason: str) -> int:
    if getattr(args, "json", False):
        print(
            json.dumps(
                {
                    "status": "refused",
                    "installed": __version__,
                    "channel": channel,
                    "reason": reason,
                }
            )
        )
    print(f"agent-assist: update refused: {reason}", file=sys.stderr)
    return EXIT_FAILURE


def _apply(args: argparse.Namespace) -> int:
    from agent_assist import update

    source, channel, key, pin = update_settings(args)
    try:
        offer = update.check(source, key=key, channel=channel, installed=__version__, pin=pin)
    except VerificationError as exc:
        return _refused(args, channel, str(exc))
    if offer is None:
        print(f"up to date: agent-assist {__version__} (channel {channel})")
        return EXIT_OK
    print("\n".join(_describe(offer)))
    try:
        folder = Path(args.dir) if args.dir else update.default_staging_dir()
        staged = update.stage(source, offer, folder)
    except update.UpdateRefused as exc:
        return _refused(args, channel, str(exc))
    print(f"verified and staged: {staged}")
    downgrade = bool(pin) and not _newer(offer.version)
    command = update.install_command(staged, downgrade=downgrade)
    if not args.install:
        print(f"install it with (as root/Administrator): {' '.join(command)}")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("add --yes to install without asking (no terminal to ask on)")
        answer = input(f"Install agent-assist {offer.version} now? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not installed; the verified package stays staged")
            return EXIT_OK
    if sys.platform != "win32" and os.geteuid() != 0:
        raise AgentAssistError(f"installing needs root: sudo {' '.join(command)}")
    code = update.run_installer(command)
    if code != 0:
        raise AgentAssistError(f"{command[0]} failed (exit code {code}); the package stays staged")
    print(f"installed agent-assist {offer.version}")
    return EXIT_OK


def _newer(version: str) -> bool:
    from agent_assist.release import is_newer

    return is_newer(version, __version__)


def _versions(args: argparse.Namespace) -> int:
    import time

    from agent_assist.marquee.http import fetch_json
    from agent_assist.marquee.tls import context_for

    token = token_of(args)
    if not token:
        raise UsageError("--token-file (or AGENT_ASSIST_TOKEN) is required")
    context = context_for(args.server, ca_file=args.ca, pin_sha256=args.pin)
    document = fetch_json(args.server, "/fleet/versions", token=token, ssl_context=context)
    clients = document.get("clients", []) if isinstance(document, dict) else []
    if args.json:
        print(json.dumps(clients, indent=2))
        return EXIT_OK
    if not clients:
        print("no desktop has connected since the server started", file=sys.stderr)
        return EXIT_OK
    print(f"{'name':<20} {'site':<10} {'team':<10} {'version':<10} {'channel':<8} state")
    for c in clients:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(c.get("last_seen", 0))))
        state = "connected" if c.get("connected") else f"last seen {when}"
        print(
            f"{c.get('name', '')!s:<20} {c.get('site', '')!s:<10} {c.get('team', '')!s:<10} "
            f"{c.get('version') or '?'!s:<10} {c.get('channel') or '?'!s:<8} {state}"
        )
    return EXIT_OK
