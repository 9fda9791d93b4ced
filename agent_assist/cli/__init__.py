"""The ``agent-assist`` command line (ARCHITECTURE.md §4).

Exit codes: 0 success, 1 failure (one clear line on stderr), 2 usage error.
Events are written to stdout as JSON Lines; everything for people goes to stderr.
Heavy modules (vosk, sounddevice, Qt) are imported inside the commands that
need them, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from agent_assist import __version__
from agent_assist.cli.kb import add_kb_commands
from agent_assist.cli.marquee import add_marquee_commands
from agent_assist.errors import AgentAssistError, UsageError

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _models_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        metavar="DIR",
        help="models directory (default: AGENT_ASSIST_MODELS_DIR or the user data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="agent-assist",
        description="On-device assistant for call-centre agents: listens to the headset with "
        "local speech recognition and turns the call into events.",
    )
    parser.add_argument("--version", action="version", version=f"agent-assist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    devices = sub.add_parser(
        "devices",
        help="list audio input devices",
        description=(
            "List the audio input devices this PC can capture from. The default is marked with *. "
            "Loopback/monitor sources capture what the PC plays (the customer's side of a softphone)."
        ),
    )
    devices.add_argument("--json", action="store_true", help="one JSON object per device")
    devices.set_defaults(run=_cmd_devices)

    models = sub.add_parser(
        "models",
        help="list, install or remove speech models",
        description="Manage the Vosk speech models used for recognition.",
    )
    msub = models.add_subparsers(
        dest="action", metavar="ACTION", parser_class=_Parser, required=True
    )
    mlist = msub.add_parser(
        "list",
        help="catalog and installed models",
        description="Show the catalog of official models and what is installed.",
    )
    mlist.add_argument("--json", action="store_true", help="machine-readable output")
    _models_dir_option(mlist)
    mlist.set_defaults(run=_cmd_models_list)
    minst = msub.add_parser(
        "install",
        help="install a model",
        description=(
            "Install a model by catalog NAME (downloaded from the official site or the site mirror), "
            "or --from a URL, a zip file or a model folder. Downloads resume after a break; "
            "a failed install leaves installed models untouched."
        ),
    )
    minst.add_argument("name", nargs="?", metavar="NAME", help="catalog name (see: models list)")
    minst.add_argument(
        "--from", dest="source", metavar="URL_OR_PATH", help="URL, zip file or folder"
    )
    minst.add_argument("--sha256", metavar="HEX", help="expected SHA-256 of the archive")
    minst.add_argument("--as", dest="install_name", metavar="NAME", help="install under this name")
    minst.add_argument(
        "--mirror", metavar="URL", help="base URL replacing the official download site"
    )
    _models_dir_option(minst)
    minst.set_defaults(run=_cmd_models_install)
    mrm = msub.add_parser("remove", help="remove an installed model", description="Remove a model.")
    mrm.add_argument("name", metavar="NAME")
    _models_dir_option(mrm)
    mrm.set_defaults(run=_cmd_models_remove)

    tr = sub.add_parser(
        "transcribe",
        help="speech to events (JSON Lines on stdout)",
        description=(
            "Recognise a call on this PC and write events as JSON Lines: 'utterance' (partial and "
            "final, with word timings), 'level' (loudness about 10 per second per channel), and "
            "'error'/'status' when a device comes and goes. A mono WAV is the agent; a stereo WAV is "
            "agent (left) and customer (right). Ctrl-C stops cleanly, flushing final results."
        ),
    )
    tr.add_argument("audio", nargs="?", metavar="AUDIO.wav", help="a WAV file to transcribe")
    tr.add_argument("--device", metavar="SPEC", help="live input for the agent (see: devices)")
    tr.add_argument("--far-end", metavar="SPEC", help="live input for the customer's side")
    tr.add_argument(
        "--split-stereo",
        action="store_true",
        help="--device is stereo: left is the agent, right the customer",
    )
    tr.add_argument("--model", metavar="NAME_OR_PATH", help="installed model name or model folder")
    tr.add_argument("--realtime", action="store_true", help="pace a file like a live call")
    tr.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    tr.add_argument(
        "--cti-port",
        type=int,
        metavar="PORT",
        help="run the CTI bridge on ws://127.0.0.1:PORT/ (0 picks a free port)",
    )
    tr.add_argument("--cti-token", metavar="SECRET", help="token the CTI client must present")
    _models_dir_option(tr)
    tr.set_defaults(run=_cmd_transcribe)

    an = sub.add_parser(
        "analyze",
        help="events in, coaching flags out (JSON Lines)",
        description=(
            "Read events as JSON Lines (a file, or - for stdin: e.g. the output of transcribe, plus "
            "call/mute events from a softphone) and write every input event followed by the flags it "
            "raises. Malformed lines are reported on stderr with their line number and skipped."
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
    an.set_defaults(run=_cmd_analyze)

    add_kb_commands(sub, _Parser)
    add_marquee_commands(sub, _Parser)

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
    _models_dir_option(rcheck)
    rcheck.set_defaults(run=_cmd_rules_check)
    return parser


# -- devices -----------------------------------------------------------------------


def _cmd_devices(args: argparse.Namespace) -> int:
    from audio.devices import list_input_devices

    devices = list_input_devices()
    if args.json:
        for device in devices:
            print(json.dumps(device.to_json(), ensure_ascii=False))
        return EXIT_OK
    if not devices:
        print("no audio input devices found", file=sys.stderr)
        return EXIT_FAILURE
    width = max(len(d.id) for d in devices)
    for d in devices:
        mark = "*" if d.is_default else " "
        kind = "loopback" if d.loopback else "input"
        print(
            f"{mark} {d.id:<{width}}  {d.channels:>2} ch  {d.default_rate:>6} Hz  {kind:<8}  {d.description}"
        )
    return EXIT_OK


# -- models ------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from audio.models import ModelStore

    root = Path(args.models_dir) if getattr(args, "models_dir", None) else None
    return ModelStore(root=root, mirror=getattr(args, "mirror", None))


def _cmd_models_list(args: argparse.Namespace) -> int:
    from audio.models import CATALOG

    store = _store(args)
    installed = store.installed()
    names = {m.name for m in installed}
    if args.json:
        for m in installed:
            print(json.dumps({"installed": True, **m.to_json()}))
        for e in CATALOG:
            if e.name not in names:
                print(
                    json.dumps(
                        {
                            "installed": False,
                            "name": e.name,
                            "lang": e.lang,
                            "approx_mb": e.approx_mb,
                            "url": e.url(store.mirror),
                        }
                    )
                )
        return EXIT_OK
    print(f"Installed (in {store.root}):" if installed else f"No models installed in {store.root}.")
    for m in installed:
        where = "pip package" if m.origin == "package" else "folder"
        print(f"  {m.name:<32} {m.lang or '?':<6} {where:<11} {m.path}")
    print("Available to install (agent-assist models install NAME):")
    for e in CATALOG:
        if e.name not in names:
            print(f"  {e.name:<32} {e.lang:<6} ~{e.approx_mb} MB  {e.note}")
    return EXIT_OK


def _progress_printer(stream: TextIO) -> Callable[[int, int | None], None]:
    last = [0.0]
    tty = stream.isatty()

    def show(done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if now - last[0] < (0.1 if tty else 5.0) and not finished:
            return
        last[0] = now
        if total:
            pct = 100 * done / total
            bar = "#" * int(pct / 4)
            text = f"  [{bar:<25}] {pct:5.1f}%  {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            text = f"  {done / 1e6:.1f} MB"
        stream.write(("\r" + text) if tty else (text + "\n"))
        if finished and tty:
            stream.write("\n")
        stream.flush()

    return show


def _cmd_models_install(args: argparse.Namespace) -> int:
    if bool(args.name) == bool(args.source):
        raise UsageError("give either a catalog NAME or --from URL_OR_PATH")
    store = _store(args)
    source = args.source or args.name
    print(f"Installing {source} into {store.root} ...", file=sys.stderr)
    model = store.install(
        source, name=args.install_name, sha256=args.sha256, progress=_progress_printer(sys.stderr)
    )
    print(f"Installed {model.name} at {model.path}", file=sys.stderr)
    return EXIT_OK


def _cmd_models_remove(args: argparse.Namespace) -> int:
    path = _store(args).remove(args.name)
    print(f"Removed {args.name} ({path})", file=sys.stderr)
    return EXIT_OK


# -- transcribe -------------------------------------------------------------------


def _cmd_transcribe(args: argparse.Namespace) -> int:
    if bool(args.audio) == bool(args.device):
        raise UsageError("give either an AUDIO.wav file or --device SPEC")
    if args.audio and (args.far_end or args.split_stereo):
        raise UsageError("--far-end and --split-stereo apply to --device, not to a file")
    if args.far_end and args.split_stereo:
        raise UsageError("use either --far-end or --split-stereo, not both")
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration must be positive")

    from audio.devices import resolve_device
    from audio.pipeline import Listener
    from audio.recognizer import load_model
    from audio.wavfile import WavReader

    if args.audio:
        WavReader(args.audio).close()  # a bad file fails now, before the model loads
        agent = customer = None
    else:
        agent = resolve_device(args.device)
        customer = resolve_device(args.far_end) if args.far_end else None
    model = load_model(_store(args).find(args.model).path)
    if args.audio:
        listener = Listener.from_wav(args.audio, model=model, realtime=args.realtime)
    else:
        assert agent is not None
        listener = Listener.from_devices(
            model=model, agent=agent, customer=customer, split_stereo=args.split_stereo
        )
    bridge = None
    if args.cti_port is not None:
        from agent_assist.cti.bridge import CtiBridge

        bridge = CtiBridge(
            on_event=listener.inject,
            now=listener.clock.now,
            port=args.cti_port,
            token=args.cti_token,
        )
        port = bridge.start()
        print(
            f"agent-assist: CTI bridge listening on ws://127.0.0.1:{port}/",
            file=sys.stderr,
            flush=True,
        )
    try:
        return _stream(listener, duration=args.duration)
    finally:
        if bridge is not None:
            bridge.stop()


def _stream(listener: Any, *, duration: float | None) -> int:
    """Write the listener's events to stdout until it ends; Ctrl-C flushes and ends."""
    from agent_assist.events import encode

    out = sys.stdout
    listener.start()
    timer = threading.Timer(duration, listener.stop) if duration else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    stopped = False
    while True:
        try:
            for event in listener.events():
                out.write(encode(event) + "\n")
                out.flush()
            break
        except KeyboardInterrupt:
            if stopped:  # a second Ctrl-C: give up on flushing
                return 130
            stopped = True
            listener.stop()  # then keep draining: the workers flush their finals
    drops = {k: v for k, v in listener.dropped.items() if v}
    if drops:
        print(f"warning: audio dropped because recognition fell behind: {drops}", file=sys.stderr)
    return EXIT_OK


# -- analyze ----------------------------------------------------------------------


def _cmd_analyze(args: argparse.Namespace) -> int:
    from agent_assist.errors import EventFormatError
    from agent_assist.events import decode, encode
    from agent_assist.risk.pack import load_pack
    from agent_assist.session import CallSession

    pack = load_pack(args.rules)
    session = CallSession(pack=pack, search=_knowledge_search(args) if args.suggest else None)
    try:
        source = (
            sys.stdin
            if args.events == "-"
            else open(args.events, encoding="utf-8", errors="replace")  # noqa: SIM115
        )
    except OSError as exc:
        raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
    bad = good = 0
    with source:
        for number, line in enumerate(source, start=1):
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
            for out in session.feed(event):
                sys.stdout.write(encode(out) + "\n")
    if bad and not good:
        print(f"agent-assist: {args.events}: no valid events", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _knowledge_search(args: argparse.Namespace) -> Callable[[str], list[Any]]:
    """The local knowledge cache as the session's search (articles best first)."""
    from agent_assist.cli.kb import open_kb
    from agent_assist.events import ArticleRef

    kb = open_kb(args.db)

    def search(query: str) -> list[ArticleRef]:
        return [
            ArticleRef(h.id, h.title, h.score, h.snippet, h.department, h.authority)
            for h in kb.search(query, limit=6)
        ]

    return search


def _cmd_rules_check(args: argparse.Namespace) -> int:
    from agent_assist.risk.pack import load_pack, words_out_of_vocabulary
    from audio.recognizer import load_model

    pack = load_pack(args.rules)
    print(f"{pack.name} ({pack.language}): valid; from {' + '.join(pack.sources)}")
    installed = _store(args).find(args.model)
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
