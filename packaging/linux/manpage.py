"""Write agent-assist(1) in man(7) format from the command line's own --help.

  python packaging/linux/manpage.py OUT.1 [DATE]

Every command and subcommand gets a section with its description, usage and
options, taken from the argparse parser the program itself uses, so the man
page never drifts from ``--help``. Run with the Python environment the
release is built from (packaging/build-deb does).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent_assist import __version__
from agent_assist.cli import build_parser


def roff(text: str) -> str:
    """Plain text as roff: backslashes, leading dots/quotes and hyphens escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(
        ("\\&" + line) if line.startswith((".", "'")) else line for line in text.splitlines()
    )


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.items())
    return found


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        names = ", ".join(action.option_strings) or (action.metavar or action.dest)
        if action.option_strings and action.nargs != 0:
            metavar = action.metavar or action.dest.upper()
            names += f" {metavar}"
        help_text = (action.help or "").replace("%(default)s", str(action.default))
        help_text = help_text.replace("%%", "%")
        if action.choices and not action.option_strings and not help_text:
            help_text = "one of: " + ", ".join(map(str, action.choices))
        lines += [".TP", f"\\fB{roff(str(names))}\\fR", roff(help_text or "(no description)")]
    return lines


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = " ".join(parser.format_usage().split())
    return usage.removeprefix("usage: ")


def section(parser: argparse.ArgumentParser, name: str, depth: int) -> list[str]:
    lines = [".SS" if depth else ".SH", roff(name.upper() if not depth else name)]
    if parser.description:
        lines += [".PP", roff(parser.description)]
    lines += [".PP", f"\\fBUsage:\\fR {roff(_usage(parser))}"]
    options = _options(parser)
    if options:
        lines += options
    for sub_name, sub in _subcommands(parser):
        lines += section(sub, f"{name} {sub_name}", depth + 1)
    return lines


def manpage(date: str) -> str:
    parser = build_parser()
    lines = [
        f'.TH AGENT\\-ASSIST 1 "{date}" "agent\\-assist {__version__}" "User Commands"',
        ".SH NAME",
        "agent\\-assist \\- on\\-device assistant for call\\-centre agents",
        ".SH SYNOPSIS",
        "\\fBagent\\-assist\\fR [\\fICOMMAND\\fR] [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        roff(parser.description or ""),
        ".PP",
        "Without a command, the desktop app starts. Exit codes: 0 success, 1 failure (one "
        "line on standard error), 2 usage error.",
        ".SH OPTIONS",
        *_options(parser),
        ".SH COMMANDS",
    ]
    for name, sub in _subcommands(parser):
        lines += section(sub, name, 1)
    lines += [
        ".SH FILES",
        ".TP",
        "\\fI/etc/agent\\-assist/site.toml\\fR",
        "The site policy written by IT (see /usr/share/doc/agent\\-assist/site.toml.example).",
        ".TP",
        "\\fI/etc/agent\\-assist/release.pub\\fR",
        "The release key IT trusts for updates and bundles.",
        ".TP",
        "\\fI/var/lib/agent\\-assist/models/\\fR",
        "Speech models shared by every user of the PC.",
        ".SH SEE ALSO",
        "/usr/share/doc/agent\\-assist/README.packaging.md",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print("usage: manpage.py OUT.1 [DATE]", file=sys.stderr)
        return 2
    date = sys.argv[2] if len(sys.argv) == 3 else time.strftime("%Y-%m-%d", time.gmtime())
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        print("manpage.py: DATE is YYYY-MM-DD", file=sys.stderr)
        return 2
    Path(sys.argv[1]).write_text(manpage(date), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
