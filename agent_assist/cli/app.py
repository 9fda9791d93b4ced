"""``agent-assist`` (no command: the desktop app) and ``agent-assist demo``."""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
from collections.abc import Mapping
from typing import Any

from agent_assist.errors import AgentAssistError, UsageError

__all__ = ["add_app_commands", "check_display", "run_desktop"]


def add_app_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        help="the full app with a local server, the demo knowledge base and a replayed call",
        description=(
            "Open the desktop app with an embedded marquee server on 127.0.0.1, the demo knowledge "
            "base and a recorded call replayed through the real session (risk engine and live "
            "suggestions). A demo supervisor sends announcements during the call."
        ),
    )
    demo.add_argument("--view", choices=("agent", "supervisor"), default="agent")
    demo.add_argument("--events", metavar="EVENTS.jsonl", help="replay this event log instead")
    demo.add_argument(
        "--audio",
        metavar="CALL.wav",
        help="replay this recording through the real recogniser (stereo: left you, right the "
        "customer); falls back to the event log when no speech model is installed",
    )
    demo.add_argument("--speed", type=float, default=1.0, help="replay speed (default 1.0)")
    demo.add_argument(
        "--screenshot", metavar="PNG", help="save the window here (needs --quit-after)"
    )
    demo.add_argument("--quit-after", type=float, metavar="S", help="close after S seconds")
    demo.add_argument(
        "--theme", choices=("light", "dark", "high-contrast"), help="override the setting"
    )
    demo.set_defaults(run=_demo)

    console = sub.add_parser(
        "console",
        help="the supervisor console (compose, read receipts, flag feed)",
        description="Open the supervisor console on the marquee server (default: server.url from the "
        "settings; the token from the OS keyring or AGENT_ASSIST_TOKEN).",
    )
    console.add_argument("--server", metavar="URL", help="e.g. wss://marquee.example:8765/")
    console.add_argument("--token-file", metavar="PATH", help="read the token from this file")
    console.add_argument(
        "--token",
        default=os.environ.get("AGENT_ASSIST_TOKEN"),
        help="or AGENT_ASSIST_TOKEN (--token shows it to anyone running ps)",
    )
    console.set_defaults(run=_console)


def check_display(environ: Mapping[str, str] | None = None, platform: str | None = None) -> None:
    """Raise one clear error when there is no display to open a window on (Linux).

    Without this, Qt aborts with a hint about libxcb-cursor0, which is rarely the problem.
    """
    env = os.environ if environ is None else environ
    if (platform or sys.platform) != "linux" or env.get("QT_QPA_PLATFORM"):
        return  # other systems always have a display; QT_QPA_PLATFORM is Qt's own choice
    x, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not x and not wayland:
        raise AgentAssistError(
            "no graphical display: neither DISPLAY nor WAYLAND_DISPLAY is set; start Agent Assist "
            "in a desktop session (the command line works anywhere: agent-assist --help)"
        )
    if x and not wayland and not _x_server_answers(x):
        raise AgentAssistError(
            f"cannot connect to the X display {x}: is the desktop session running, and may this "
            "user open windows on it?"
        )


def _x_server_answers(display: str) -> bool:
    match = re.fullmatch(r"(?:unix)?(?P<host>[^:/]*):(?P<number>\d+)(?:\.\d+)?", display)
    if match is None:
        return True  # a form we do not know: let Qt try
    number, host = int(match.group("number")), match.group("host")
    try:
        if host:
            socket.create_connection((host, 6000 + number), timeout=2).close()
        else:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(f"/tmp/.X11-unix/X{number}")
    except OSError:
        return False
    return True


def _demo(args: argparse.Namespace) -> int:
    from agent_assist.app import AppOptions, run_app

    if args.screenshot and args.quit_after is None:
        raise UsageError("--screenshot needs --quit-after S (when to take it)")
    if args.speed <= 0:
        raise UsageError("--speed must be positive")
    check_display()
    return run_app(
        AppOptions(
            demo=True,
            view=args.view,
            events=args.events,
            speed=args.speed,
            screenshot=args.screenshot,
            quit_after=args.quit_after,
            theme=args.theme,
            audio=args.audio,
        )
    )


def _console(args: argparse.Namespace) -> int:
    from agent_assist.app import AppOptions, run_app
    from agent_assist.cli.tokens import token_of

    check_display()
    return run_app(AppOptions(view="supervisor", server=args.server, token=token_of(args)))


def run_desktop(args: argparse.Namespace) -> int:
    from agent_assist.app import AppOptions, run_app

    check_display()
    return run_app(AppOptions())
