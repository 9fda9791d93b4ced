"""The ``agent-assist`` command line (ARCHITECTURE.md §4).

Exit codes: 0 success, 1 failure (one clear line on stderr), 2 usage error.
Events are written to stdout as JSON Lines; everything for people goes to stderr.
Heavy modules (vosk, sounddevice, Qt) are imported inside the commands that
need them, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from agent_assist import __version__
from agent_assist.cli.app import add_app_commands, run_desktop
from agent_assist.cli.audio import add_audio_commands, chosen_model, model_store, models_dir_option
from agent_assist.cli.calls import add_call_commands, call_session, script_options
from agent_assist.cli.kb import add_kb_commands
from agent_assist.cli.marquee import add_marquee_commands
from agent_assist.cli.policy import add_policy_commands
from agent_assist.cli.release import add_release_commands
from agent_assist.cli.stats import add_stats_commands
from agent_assist.cli.update import add_update_commands
from agent_assist.errors import AgentAssistError, UsageError

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="agent-assist",
        description="On-device assistant for call-centre agents: listens to the headset with "
        "local speech recognition and turns the call into events.",
    )
    parser.add_argument("--version", action="version", version=f"agent-assist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    add_audio_commands(sub, _Parser)
    an = sub.add_parser(
        "analyze",
        help="events in, coaching flags out (JSON Lines)",
        description=(
            "Read events as JSON Lines (a file, or - for stdin: e.g. the output of transcribe, plus "
            "call/mute events from a softphone) and write every input event followed by the flags it "
            "raises (and, as asked: suggestions, call-script steps, the after-call summary). "
            "Malformed lines, and lines over 1 MiB or nested deeper than 32 levels, are "
            "reported on stderr with their line number and skipped."
        ),
    )
    an.add_argument("events", metavar="EVENTS.jsonl", help="events file, or - for stdin")
    an.add_argument(
        "--rules", metavar="FILE", help="site rule pack (TOML) merged onto the built-in one"
    )
    an.add_argument(
        "--suggest",
        action="store_true",
        help="also suggest knowledge articles live, from the local cache (--db or the default)",
    )
    an.add_argument("--db", metavar="DB", help="knowledge cache for --suggest")
    an.add_argument(
        "--no-semantic",
        action="store_true",
        help="rules only: do not also judge utterances by meaning with the sentence embedder",
    )
    script_options(an)  # call scripts (issue 15): script events
    an.add_argument("--summary", action="store_true", help="end each call with its summary event")
    an.set_defaults(run=_cmd_analyze)
    add_call_commands(sub, _Parser)  # script check, summary
    add_stats_commands(sub, _Parser)  # stats export, wallboard

    add_kb_commands(sub, _Parser)
    add_marquee_commands(sub, _Parser)
    add_release_commands(sub, _Parser)
    add_app_commands(sub, _Parser)
    add_policy_commands(sub, _Parser)
    add_update_commands(sub, _Parser)

    rules = sub.add_parser("rules", help="check a rule pack", description="Check rule packs.")
    rsub = rules.add_subparsers(
        dest="action", metavar="ACTION", parser_class=_Parser, required=True
    )
    rcheck = rsub.add_parser(
        "check",
        help="validate a pack and check it against a model",
        description=(
            "Load the built-in pack (and --rules, if given), report any error by file and line, and list "
            "the pack's words that the speech model cannot recognise: phrases using them can never fire."
        ),
    )
    rcheck.add_argument("--rules", metavar="FILE", help="site rule pack (TOML)")
    rcheck.add_argument(
        "--model", metavar="NAME_OR_PATH", help="installed model name or model folder"
    )
    models_dir_option(rcheck)
    rcheck.set_defaults(run=_cmd_rules_check)
    return parser


# -- analyze ----------------------------------------------------------------------


def _cmd_analyze(args: argparse.Namespace) -> int:
    from agent_assist.errors import EventFormatError
    from agent_assist.events import decode, encode
    from agent_assist.limits import MAX_LINE
    from agent_assist.session import feed_and_answer

    session, perform = call_session(args, summary=args.summary)
    try:
        source = sys.stdin.buffer if args.events == "-" else open(args.events, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
    bad = good = 0
    with source:
        for number, line in _bounded_lines(source):
            if line is None:
                bad += 1
                print(
                    f"agent-assist: {args.events}: line {number}: longer than "
                    f"{MAX_LINE >> 20} MiB; skipped",
                    file=sys.stderr,
                )
                continue
            if not line.strip():
                continue
            try:
                event = decode(line)
            except EventFormatError as exc:
                bad += 1
                print(
                    f"agent-assist: {args.events}: line {number}: {exc}; skipped", file=sys.stderr
                )
                continue
            good += 1
            sys.stdout.write(line.rstrip("\r\n") + "\n")  # the input, exactly as given
            for out in feed_and_answer(session, event, perform):
                sys.stdout.write(encode(out) + "\n")
    if bad and not good:
        print(f"agent-assist: {args.events}: no valid events", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _bounded_lines(source: Any) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per line of a binary stream; None for a line over MAX_LINE bytes,
    which is skipped without ever holding more than MAX_LINE bytes of it."""
    from agent_assist.limits import MAX_LINE

    number = 0
    while raw := source.readline(MAX_LINE + 1):
        number += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while (rest := source.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        yield number, raw.decode("utf-8", "replace")


def _cmd_rules_check(args: argparse.Namespace) -> int:
    from agent_assist.risk.pack import load_pack, words_out_of_vocabulary
    from audio.recognizer import load_model

    pack = load_pack(args.rules)
    print(f"{pack.name} ({pack.language}): valid; from {' + '.join(pack.sources)}")
    installed = model_store(args).find(chosen_model(args))
    model = load_model(installed.path)
    missing = words_out_of_vocabulary(pack, model.knows_word)
    total = len(pack.phrase_words)
    print(f"model {installed.name}: {total - len(missing)} of {total} pack words can be recognised")
    if missing:
        print(f"never recognised by {installed.name} (phrases using them cannot fire):")
        print("  " + " ".join(missing))
    return EXIT_OK


# -- entry point ------------------------------------------------------------------


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        if args.command is None and not (argv if argv is not None else sys.argv[1:]):
            args.run = run_desktop  # plain `agent-assist`: the desktop app
        else:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        code: int = args.run(args)
        return code
    except UsageError as exc:
        print(f"agent-assist: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AgentAssistError as exc:
        print(f"agent-assist: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`: the reader has gone, nothing to report
        sys.stderr.close()
        return EXIT_OK
