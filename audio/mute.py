"""The microphone's mute switch in the operating system, behind one small interface (no Qt).

An agent who presses **Mute** believes the customer can no longer hear them. So
the app's mute is the operating system's own microphone mute, the switch the
softphone's audio also goes through, and it counts only once it has been read
back (ARCHITECTURE.md §9). One interface, :class:`MicMute`, two implementations:

* **PulseAudio / PipeWire** (Linux; PipeWire through ``pipewire-pulse``):
  :class:`PulseMute` sets and reads a source's mute with ``pactl
  set-source-mute`` / ``get-source-mute``, the same switch the desktop's sound
  settings and a headset's mute key flip.
* **Windows Core Audio**: :class:`WindowsEndpointMute` calls
  ``IAudioEndpointVolume::SetMute`` / ``GetMute`` on the default
  *communications* capture endpoint (the microphone softphones record from)
  through ctypes: ``CoCreateInstance(MMDeviceEnumerator)`` ->
  ``IMMDeviceEnumerator::GetDefaultAudioEndpoint(eCapture, eCommunications)`` ->
  ``IMMDevice::Activate(IAudioEndpointVolume)``. No extra package: the vtable
  slots are those of the Windows SDK headers (``mmdeviceapi.h``,
  ``endpointvolume.h``), listed in :data:`VTABLE`. It cannot run on the Linux
  build machines; its COM plumbing is exercised there against fake COM objects
  built from ctypes callbacks (``tests/adapters/test_mute.py``).

:func:`system_mute` picks the one this machine has for the configured
microphone, or raises :class:`MuteError` saying why there is none (the app then
labels its control honestly, "Mark me as muted", and tells only the risk engine).

Every call blocks (a subprocess, a COM call) and a COM object belongs to the
thread that created it: make and use a MicMute on one worker thread, never the
GUI thread.
"""

from __future__ import annotations

import ctypes
import sys
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from agent_assist.errors import AgentAssistError, MuteError
from audio import pulse

__all__ = [
    "DEFAULT_SOURCE",
    "VTABLE",
    "MicMute",
    "PulseMute",
    "WindowsEndpointMute",
    "system_mute",
]

DEFAULT_SOURCE = "@DEFAULT_SOURCE@"  # pactl's name for the server's default source


class MicMute(Protocol):
    """The operating system's mute switch of one microphone."""

    @property
    def target(self) -> str:
        """What is muted, in words for the agent (e.g. "Jabra Evolve 20 (default)")."""
        ...

    def is_muted(self) -> bool:
        """Read the switch; raises MuteError when the system cannot say."""
        ...

    def set_muted(self, muted: bool) -> bool:
        """Set the switch, then read it back: returns what the system now says."""
        ...

    def close(self) -> None:
        """Release what the switch holds (COM objects); idempotent."""
        ...


# -- PulseAudio / PipeWire ----------------------------------------------------------------


class PulseMute:
    """A PulseAudio/PipeWire source's mute (``pactl``); ``source`` defaults to the default one."""

    def __init__(self, source: str = DEFAULT_SOURCE, *, target: str | None = None) -> None:
        self.source = source
        self._target = target or source

    @property
    def target(self) -> str:
        """The source's description, for the window (e.g. "Headset microphone")."""
        return self._target

    def is_muted(self) -> bool:
        """Read the source's mute state from the sound server now. Blocking."""
        muted = pulse.source_muted(self.source)
        if muted is None:
            raise MuteError(f"the sound server cannot say whether {self.target} is muted")
        return muted

    def set_muted(self, muted: bool) -> bool:
        """Set the source's mute, then read it back; returns the state read. Blocking."""
        why = pulse.set_source_mute(self.source, muted)
        if why is not None:
            raise MuteError(f"cannot {'mute' if muted else 'unmute'} {self.target}: {why}")
        return self.is_muted()

    def close(self) -> None:
        """Nothing to release: each call is its own ``pactl``."""


def _pulse_mute(device: str) -> PulseMute:
    """The sound-server source behind ``device`` (a spec as in ``audio.input``)."""
    from audio.devices import PULSE_BRIDGE, resolve_device

    spec = device.strip()
    source = DEFAULT_SOURCE
    if spec.startswith("pulse:"):
        source = spec.removeprefix("pulse:")
    elif spec and spec != "default":
        try:
            found = resolve_device(spec)
        except AgentAssistError as exc:
            raise MuteError(f"cannot find the microphone to mute: {exc}") from None
        if found.backend == "pulse":
            source = found.name
        elif found.name not in (PULSE_BRIDGE, "default"):
            raise MuteError(
                f"{found.name} is not reached through the sound server, so only its own mute "
                "button can mute it"
            )
    name = pulse.default_source() if source == DEFAULT_SOURCE else source
    described = {s.name: s.description for s in pulse.list_sources()}
    if name is None or name not in described:
        raise MuteError(
            "no PulseAudio or PipeWire sound server answers"
            if not described
            else f"the sound server has no microphone called {name}"
        )
    mic = PulseMute(name, target=described[name] or name)
    mic.is_muted()  # the switch answers: this is a mute we can confirm
    return mic


# -- Windows Core Audio -------------------------------------------------------------------

#: Vtable slots (after IUnknown's QueryInterface 0, AddRef 1, Release 2) from the SDK headers.
VTABLE = {
    "IUnknown.Release": 2,
    "IMMDeviceEnumerator.GetDefaultAudioEndpoint": 4,  # EnumAudioEndpoints is 3
    "IMMDevice.Activate": 3,
    "IAudioEndpointVolume.SetMute": 14,  # after 3 Register/Unregister/GetChannelCount + 8 volume
    "IAudioEndpointVolume.GetMute": 15,
}
CLSID_MM_DEVICE_ENUMERATOR = "{BCDE0395-E52F-467C-8E3D-C4579291692E}"
IID_IMM_DEVICE_ENUMERATOR = "{A95664D2-9614-4F35-A746-DE8DB63617E6}"
IID_IAUDIO_ENDPOINT_VOLUME = "{5CDF2C82-841E-4546-9722-0CF74078229A}"
E_CAPTURE, E_COMMUNICATIONS = 1, 2  # EDataFlow.eCapture, ERole.eCommunications
CLSCTX_ALL = 0x17  # INPROC_SERVER | INPROC_HANDLER | LOCAL_SERVER | REMOTE_SERVER
COINIT_MULTITHREADED = 0x0
RPC_E_CHANGED_MODE = -0x7FFEFEFA  # 0x80010106: COM already initialised here as an STA: usable


class GUID(ctypes.Structure):
    """A Windows GUID, laid out as in ``guiddef.h``."""

    _fields_ = (
        ("data1", ctypes.c_uint32),
        ("data2", ctypes.c_uint16),
        ("data3", ctypes.c_uint16),
        ("data4", ctypes.c_ubyte * 8),
    )

    @classmethod
    def parse(cls, text: str) -> GUID:
        """A GUID from its text form ``{xxxxxxxx-xxxx-...}``."""
        return cls.from_buffer_copy(uuid.UUID(text).bytes_le)


class Ole32(Protocol):
    """The three ole32 functions used (``ctypes.windll.ole32``; a fake in tests)."""

    def CoInitializeEx(self, reserved: Any, flags: int) -> int:
        """COM initialisation of the calling thread (HRESULT)."""

    def CoCreateInstance(self, clsid: Any, outer: Any, context: int, iid: Any, out: Any) -> int:
        """Create a COM object of class ``clsid`` with interface ``iid`` into ``out`` (HRESULT)."""

    def CoUninitialize(self) -> None:
        """Undo CoInitializeEx on the calling thread."""


def _check(hresult: int, what: str) -> None:
    if hresult < 0:
        raise MuteError(f"Windows refused {what} (HRESULT 0x{hresult & 0xFFFFFFFF:08X})")


class WindowsEndpointMute:
    """The default communications microphone's endpoint mute (Windows Core Audio, ctypes).

    ``ole32`` and ``functype`` are for tests on other systems (fake COM objects whose
    methods are ``ctypes.CFUNCTYPE`` callbacks: on 64-bit Windows, stdcall is the C
    convention); on Windows they default to ``ctypes.windll.ole32`` and ``WINFUNCTYPE``.
    """

    def __init__(
        self, *, ole32: Ole32 | None = None, functype: Callable[..., Any] | None = None
    ) -> None:
        if ole32 is None or functype is None:
            if sys.platform != "win32":
                raise MuteError("Windows Core Audio exists only on Windows")
            # getattr: these exist only in Windows builds of ctypes
            ole32 = ole32 or getattr(ctypes, "windll").ole32  # noqa: B009
            functype = functype or getattr(ctypes, "WINFUNCTYPE")  # noqa: B009
        self._ole32, self._functype = ole32, functype
        self._objects: list[int] = []
        hresult = ole32.CoInitializeEx(None, COINIT_MULTITHREADED)
        if hresult < 0 and hresult != RPC_E_CHANGED_MODE:
            _check(hresult, "starting COM")
        self._com = hresult >= 0  # ours to uninitialise
        try:
            enumerator = ctypes.c_void_p()
            _check(
                ole32.CoCreateInstance(
                    ctypes.byref(GUID.parse(CLSID_MM_DEVICE_ENUMERATOR)),
                    None,
                    CLSCTX_ALL,
                    ctypes.byref(GUID.parse(IID_IMM_DEVICE_ENUMERATOR)),
                    ctypes.pointer(enumerator),
                ),
                "opening the audio devices",
            )
            self._hold(enumerator)
            device = ctypes.c_void_p()
            get_default = self._method(
                enumerator,
                "IMMDeviceEnumerator.GetDefaultAudioEndpoint",
                ctypes.c_int,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_void_p),
            )
            _check(
                get_default(E_CAPTURE, E_COMMUNICATIONS, ctypes.pointer(device)),
                "finding the default communications microphone",
            )
            self._hold(device)
            volume = ctypes.c_void_p()
            activate = self._method(
                device,
                "IMMDevice.Activate",
                ctypes.POINTER(GUID),
                ctypes.c_uint32,
                ctypes.c_void_p,
                ctypes.POINTER(ctypes.c_void_p),
            )
            iid = GUID.parse(IID_IAUDIO_ENDPOINT_VOLUME)
            _check(
                activate(ctypes.pointer(iid), CLSCTX_ALL, None, ctypes.pointer(volume)),
                "opening the microphone's volume control",
            )
            self._hold(volume)
        except BaseException:
            self.close()
            raise
        self._volume = volume

    @property
    def target(self) -> str:
        """The default capture endpoint, in words."""
        return "the default communications microphone"

    def is_muted(self) -> bool:
        """IAudioEndpointVolume::GetMute on the default capture endpoint. Blocking."""
        state = ctypes.c_int()
        get_mute = self._method(
            self._volume, "IAudioEndpointVolume.GetMute", ctypes.POINTER(ctypes.c_int)
        )
        _check(get_mute(ctypes.pointer(state)), "reading the microphone's mute")
        return bool(state.value)

    def set_muted(self, muted: bool) -> bool:
        """IAudioEndpointVolume::SetMute, then GetMute; returns the state read back."""
        set_mute = self._method(
            self._volume, "IAudioEndpointVolume.SetMute", ctypes.c_int, ctypes.c_void_p
        )
        _check(set_mute(1 if muted else 0, None), "muting the microphone")
        return self.is_muted()

    def close(self) -> None:
        """Release the COM objects and uninitialise COM on this thread (the one that opened it)."""
        while self._objects:
            address = self._objects.pop()
            release = self._method(
                ctypes.c_void_p(address), "IUnknown.Release", restype=ctypes.c_ulong
            )
            release()
        if self._com:
            self._com = False
            self._ole32.CoUninitialize()

    def _hold(self, pointer: ctypes.c_void_p) -> None:
        if not pointer.value:
            raise MuteError("Windows returned no audio object")
        self._objects.append(pointer.value)

    def _method(
        self,
        obj: ctypes.c_void_p,
        name: str,
        *argtypes: Any,
        restype: Any = ctypes.c_long,  # HRESULT
    ) -> Callable[..., int]:
        """The COM method at ``VTABLE[name]`` of ``obj``, bound to it."""
        vtable = ctypes.cast(obj, ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p)))[0]
        function = self._functype(restype, ctypes.c_void_p, *argtypes)(vtable[VTABLE[name]])
        return lambda *args: int(function(obj, *args))


# -- the one for this machine --------------------------------------------------------------


def system_mute(device: str = "default") -> MicMute:
    """The OS mute of the microphone ``device`` names (an ``audio.input`` spec; "" or
    "default": the default one). Blocking. Raises MuteError saying why there is none."""
    if sys.platform == "win32":
        return WindowsEndpointMute()
    if sys.platform.startswith("linux"):
        return _pulse_mute(device)
    raise MuteError(f"Agent Assist cannot mute the microphone on {sys.platform} yet")
