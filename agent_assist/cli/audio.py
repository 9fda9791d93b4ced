"""``agent-assist devices``, ``models ...`` and ``transcribe``: listening on this PC."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from agent_assist.errors import UsageError

__all__ = [
    "add_audio_commands",
    "chosen_model",
    "machine_option",
    "model_store",
    "models_dir_option",
]

EXIT_OK, EXIT_FAILURE = 0, 1


def models_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        metavar="DIR",
        help="models directory (default: AGENT_ASSIST_MODELS_DIR or the user data dir)",
    )


def machine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--machine",
        action="store_true",
        help="the machine-wide models folder every user shares (IT; needs root/Administrator)",
    )


def add_audio_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
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
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    mlist = msub.add_parser(
        "list",
        help="catalog and installed models",
        description="Show the catalog of official models and what is installed.",
    )
    mlist.add_argument("--json", action="store_true", help="machine-readable output")
    models_dir_option(mlist)
    mlist.set_defaults(run=_cmd_models_list)
    minst = msub.add_parser(
        "install",
        help="install a model",
        description=(
            "Install a model by catalog NAME (downloaded from the official site, or from the site's "
            "mirror: models.mirror in the site policy, a URL or a folder), or --from a URL, a zip "
            "file, a signed bundle or a model folder. Downloads resume after a break; a failed "
            "install leaves installed models untouched. --machine installs it for every user."
        ),
    )
    minst.add_argument("name", nargs="?", metavar="NAME", help="catalog name (see: models list)")
    minst.add_argument(
        "--from", dest="source", metavar="URL_OR_PATH", help="URL, zip file or folder"
    )
    minst.add_argument("--sha256", metavar="HEX", help="expected SHA-256 of the archive")
    minst.add_argument("--as", dest="install_name", metavar="NAME", help="install under this name")
    minst.add_argument(
        "--mirror",
        metavar="URL_OR_DIR",
        help="base URL or folder replacing the official download site (default: models.mirror)",
    )
    models_dir_option(minst)
    machine_option(minst)
    minst.set_defaults(run=_cmd_models_install)
    mrm = msub.add_parser("remove", help="remove an installed model", description="Remove a model.")
    mrm.add_argument("name", metavar="NAME")
    models_dir_option(mrm)
    machine_option(mrm)
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
    tr.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="installed model name or model folder (default: models.path from the settings)",
    )
    tr.add_argument("--realtime", action="store_true", help="pace a file like a live call")
    tr.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    tr.add_argument(
        "--cti-port",
        type=int,
        metavar="PORT",
        help="run the CTI bridge on ws://127.0.0.1:PORT/ (0 picks a free port)",
    )
    tr.add_argument("--cti-token", metavar="SECRET", help="token the CTI client must present")
    models_dir_option(tr)
    tr.set_defaults(run=_cmd_transcribe)


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


def model_store(args: argparse.Namespace) -> Any:
    """The model store the command means: --models-dir / --machine, the site's mirror."""
    from pathlib import Path

    from agent_assist.policy import current_settings
    from audio.models import ModelStore, machine_models_dir

    settings = current_settings()
    mirror = getattr(args, "mirror", None)
    if (
        mirror is not None
        and settings.locked("models.mirror")
        and mirror != settings.get_str("models.mirror")
    ):
        raise UsageError("models.mirror is locked by the site policy; --mirror cannot change it")
    mirror = mirror or settings.get_str("models.mirror") or None
    if getattr(args, "machine", False) and getattr(args, "models_dir", None):
        raise UsageError("use either --machine or --models-dir, not both")
    root = Path(args.models_dir) if getattr(args, "models_dir", None) else None
    if getattr(args, "machine", False):
        root = machine_models_dir()
    return ModelStore(root=root, mirror=mirror)


def chosen_model(args: argparse.Namespace) -> str | None:
    """--model, else the settings' models.path, else None (the first installed model)."""
    if getattr(args, "model", None):
        return str(args.model)
    from agent_assist.policy import current_settings

    return current_settings().get_str("models.path") or None


def _cmd_models_list(args: argparse.Namespace) -> int:
    from audio.models import CATALOG

    store = model_store(args)
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
        where = {"package": "pip package", "machine": "all users"}.get(m.origin, "folder")
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
    store = model_store(args)
    source = args.source or args.name
    print(f"Installing {source} into {store.root} ...", file=sys.stderr)
    model = store.install(
        source, name=args.install_name, sha256=args.sha256, progress=_progress_printer(sys.stderr)
    )
    print(f"Installed {model.name} at {model.path}", file=sys.stderr)
    return EXIT_OK


def _cmd_models_remove(args: argparse.Namespace) -> int:
    path = model_store(args).remove(args.name)
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
    model = load_model(model_store(args).find(chosen_model(args)).path)
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
