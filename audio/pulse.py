"""PulseAudio / PipeWire sources through ``pactl`` (Linux).

PortAudio as shipped by distributions reaches the sound server only through
ALSA's ``pulse`` device, which records from the *default* source. Call-centre
PCs need more: the headset mic for the agent and a sink's ``.monitor`` (what
the softphone plays) for the customer. So we list sources with ``pactl``,
open ALSA ``pulse`` with ``PULSE_SOURCE`` naming the one we want, and watch the
server with ``pactl subscribe``: when a source disappears the server silently
moves our stream elsewhere, and only the server's own events tell us.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "PulseSource",
    "SourceWatcher",
    "default_source",
    "list_sources",
    "set_source_mute",
    "source_muted",
]

_SPEC = re.compile(r"(?P<channels>\d+)ch (?P<rate>\d+)Hz")


@dataclass(frozen=True, slots=True)
class PulseSource:
    """One capture source of the sound server; a ``monitor`` records what a sink plays."""

    name: str
    description: str
    channels: int
    rate: int
    monitor: bool


def _pactl(*args: str, timeout: float = 3.0) -> str | None:
    exe = shutil.which("pactl")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _parse_spec(spec: str) -> tuple[int, int]:
    match = _SPEC.search(spec)
    return (int(match["channels"]), int(match["rate"])) if match else (2, 44100)


def list_sources() -> list[PulseSource]:
    """The server's capture sources, or [] when no PulseAudio/PipeWire server answers."""
    out = _pactl("-f", "json", "list", "sources")
    if out is not None:
        try:
            return [_from_json(item) for item in json.loads(out)]
        except (ValueError, KeyError, TypeError):
            pass  # an older pactl without JSON: fall through to the short listing
    out = _pactl("list", "short", "sources")
    if out is None:
        return []
    sources = []
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) >= 4:
            channels, rate = _parse_spec(fields[3])
            name = fields[1]
            sources.append(PulseSource(name, name, channels, rate, name.endswith(".monitor")))
    return sources


def _from_json(item: dict[str, object]) -> PulseSource:
    channels, rate = _parse_spec(str(item.get("sample_specification", "")))
    name = str(item["name"])
    props = item.get("properties")
    device_class = props.get("device.class") if isinstance(props, dict) else None
    monitor = device_class == "monitor" or name.endswith(".monitor")
    return PulseSource(name, str(item.get("description") or name), channels, rate, monitor)


def default_source() -> str | None:
    """Name of the server's default source, if a server answers."""
    out = _pactl("get-default-source")
    if out is None:
        return None
    return out.strip() or None


def source_muted(name: str) -> bool | None:
    """Whether the OS has muted source ``name`` (None when the server cannot say)."""
    out = _pactl("get-source-mute", name)
    if out is None:
        return None
    answer = out.strip().lower()
    return True if answer.endswith("yes") else False if answer.endswith("no") else None


def set_source_mute(name: str, muted: bool, *, timeout: float = 3.0) -> str | None:
    """Mute or unmute source ``name`` (``@DEFAULT_SOURCE@``: the default one); returns None
    when the server accepted it, else why not (one line: no pactl, no server, no such source)."""
    exe = shutil.which("pactl")
    if exe is None:
        return "pactl is not installed (Debian/Ubuntu: apt install pulseaudio-utils)"
    try:
        done = subprocess.run(
            [exe, "set-source-mute", name, "1" if muted else "0"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"the sound server did not answer within {timeout:g} s"
    except OSError as exc:
        return f"cannot run pactl: {exc.strerror}"
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"pactl failed (exit {done.returncode})"


class SourceWatcher:
    """Calls ``on_change()`` (from its own thread) whenever the server's sources change.

    Runs ``pactl subscribe``; if that cannot start, ``running`` is False and
    callers should fall back to polling :func:`list_sources`.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while ``pactl subscribe`` runs."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start watching PulseAudio's source events (without pactl, nothing happens)."""
        exe = shutil.which("pactl")
        if exe is None:
            return
        try:
            self._proc = subprocess.Popen(
                [exe, "subscribe"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            self._proc = None
            return
        self._thread = threading.Thread(target=self._read, name="pulse-watch", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        for line in proc.stdout:
            if " on source " in line or " on server " in line:
                self._on_change()

    def stop(self) -> None:
        """Stop watching; waits up to 2 s, then kills the watcher."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
