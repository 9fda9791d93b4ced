"""Input devices: what can be captured, and finding one by name or index.

Two kinds of device are listed:

* ``portaudio`` devices, as PortAudio (through sounddevice) sees them;
* ``pulse`` sources of a PulseAudio/PipeWire server, including monitors of
  playback devices: that is how the customer's side (the far end the
  softphone plays) is captured on Linux. They are opened through ALSA's
  ``pulse`` device.

A device is chosen by a *spec*: an index (``3``), an id (``pa:3``,
``pulse:alsa_input.usb-Jabra.mono``), an exact name, ``default``, or a
fragment of a name or description that matches exactly one device.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from agent_assist.errors import AudioError, DeviceNotFoundError
from audio import pulse

__all__ = ["InputDevice", "list_input_devices", "portaudio", "resolve_device"]

Backend = Literal["portaudio", "pulse"]
PULSE_BRIDGE = "pulse"  # the ALSA plugin device through which PortAudio reaches the server


@dataclass(frozen=True, slots=True)
class InputDevice:
    """A capture device. ``id`` is a stable spec that selects exactly this device."""

    id: str
    name: str
    description: str
    backend: Backend
    channels: int
    default_rate: int
    is_default: bool
    loopback: bool

    def to_json(self) -> dict[str, Any]:
        """The device as a JSON object (``devices --json``)."""
        return asdict(self)


def portaudio() -> Any:
    """Import sounddevice, translating a missing PortAudio into a clear AudioError."""
    try:
        import sounddevice
    except OSError as exc:
        raise AudioError(
            f"PortAudio is not available ({exc}); install it (Debian/Ubuntu: apt install libportaudio2)"
        ) from None
    return sounddevice


def _portaudio_devices() -> Iterator[InputDevice]:
    sd = portaudio()
    try:
        default_in = sd.default.device[0]
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list sound devices: {exc}") from None
    for info in devices:
        if info["max_input_channels"] < 1:
            continue
        hostapi = hostapis[info["hostapi"]]["name"]
        name = str(info["name"])
        yield InputDevice(
            id=f"pa:{info['index']}",
            name=name,
            description=f"{name} ({hostapi})",
            backend="portaudio",
            channels=int(info["max_input_channels"]),
            default_rate=int(info["default_samplerate"]),
            is_default=info["index"] == default_in,
            loopback="monitor" in name.lower() or "loopback" in name.lower(),
        )


def _pulse_devices(bridge_available: bool) -> Iterator[InputDevice]:
    if not bridge_available:
        return
    default = pulse.default_source()
    for src in pulse.list_sources():
        yield InputDevice(
            id=f"pulse:{src.name}",
            name=src.name,
            description=src.description,
            backend="pulse",
            channels=src.channels,
            default_rate=src.rate,
            is_default=src.name == default,
            loopback=src.monitor,
        )


def list_input_devices() -> list[InputDevice]:
    """Every capture device we can open: PortAudio's, then the sound server's sources."""
    pa = list(_portaudio_devices())
    bridge = any(d.name == PULSE_BRIDGE for d in pa)
    server = list(_pulse_devices(bridge))
    if server:  # the sound server owns the default; PortAudio's "default" is just its bridge
        pa = [d if not d.is_default else _not_default(d) for d in pa]
    return pa + server


def _not_default(device: InputDevice) -> InputDevice:
    fields = device.to_json()
    fields["is_default"] = False
    return InputDevice(**fields)


def resolve_device(spec: str | int, devices: list[InputDevice] | None = None) -> InputDevice:
    """Find the device ``spec`` names (see module docstring); raise DeviceNotFoundError."""
    devices = list_input_devices() if devices is None else devices
    text = str(spec).strip()
    if text.isdigit():
        text = f"pa:{text}"
    if text == "default":
        for d in devices:
            if d.is_default:
                return d
        raise DeviceNotFoundError(
            "there is no default input device; pick one from: agent-assist devices"
        )
    for d in devices:
        if text in (d.id, d.name):
            return d
    needle = text.lower()
    matches = [d for d in devices if needle in d.name.lower() or needle in d.description.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceNotFoundError(
            f"no input device matches {text!r}; list them with: agent-assist devices"
        )
    names = ", ".join(d.id for d in matches[:6])
    raise DeviceNotFoundError(f"{text!r} matches {len(matches)} devices ({names}); use an id")
