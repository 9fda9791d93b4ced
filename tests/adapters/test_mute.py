"""The OS microphone mute: a real PulseAudio source set and read back; the Windows Core Audio
path's COM plumbing against fake COM objects (it cannot run on Linux)."""

from __future__ import annotations

import ctypes
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent_assist.errors import MuteError
from audio.mute import (
    CLSID_MM_DEVICE_ENUMERATOR,
    GUID,
    IID_IAUDIO_ENDPOINT_VOLUME,
    IID_IMM_DEVICE_ENUMERATOR,
    VTABLE,
    PulseMute,
    WindowsEndpointMute,
    system_mute,
)

pytestmark = pytest.mark.pulse


@pytest.fixture
def microphone(pulse_server: None) -> Iterator[str]:
    """A PulseAudio null source: a real capture source with a real mute switch."""
    name = f"aa_mic_{uuid.uuid4().hex[:8]}"
    module = subprocess.run(
        ["pactl", "load-module", "module-null-source", f"source_name={name}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    yield name
    subprocess.run(["pactl", "unload-module", module], check=False)


def pactl_says_muted(name: str) -> bool:
    out = subprocess.run(
        ["pactl", "get-source-mute", name], capture_output=True, text=True, check=True
    )
    return out.stdout.strip().endswith("yes")


def test_mute_sets_the_sources_switch_and_reads_it_back(microphone: str) -> None:
    mic = PulseMute(microphone)
    assert mic.is_muted() is False
    assert mic.set_muted(True) is True
    assert pactl_says_muted(microphone)  # the server itself says so, not just our object
    assert mic.set_muted(False) is False
    assert not pactl_says_muted(microphone)


def test_the_configured_pulse_microphone_is_the_one_muted(microphone: str) -> None:
    mic = system_mute(f"pulse:{microphone}")
    try:
        assert mic.set_muted(True) is True
        assert pactl_says_muted(microphone)
        assert mic.target  # the source's description, for the agent to read
    finally:
        mic.set_muted(False)
        mic.close()


def test_a_microphone_the_server_does_not_have_is_one_clear_error(pulse_server: None) -> None:
    with pytest.raises(MuteError, match="no microphone called aa_nowhere"):
        system_mute("pulse:aa_nowhere")


def test_a_failed_mute_says_why(pulse_server: None) -> None:
    with pytest.raises(MuteError, match=r"cannot mute aa_gone: .*No such entity"):
        PulseMute("aa_gone").set_muted(True)


# -- Windows Core Audio, against fake COM objects ------------------------------------------


class FakeComObject:
    """A COM object in memory: a pointer to a vtable of ctypes callbacks."""

    def __init__(self, methods: dict[int, tuple[Any, tuple[Any, ...], Callable[..., int]]]):
        size = max(methods) + 1
        self._callbacks = {
            index: ctypes.CFUNCTYPE(restype, ctypes.c_void_p, *argtypes)(function)
            for index, (restype, argtypes, function) in methods.items()
        }
        self._vtable = (ctypes.c_void_p * size)(
            *[
                ctypes.cast(self._callbacks[i], ctypes.c_void_p).value if i in methods else None
                for i in range(size)
            ]
        )
        self._object = (ctypes.c_void_p * 1)(ctypes.addressof(self._vtable))
        self.address = ctypes.addressof(self._object)


class FakeCoreAudio:
    """ole32 plus an enumerator, a capture device and its endpoint volume, recording calls."""

    def __init__(self, *, activate_result: int = 0) -> None:
        self.calls: list[str] = []
        self.muted = 0
        out = ctypes.POINTER(ctypes.c_void_p)

        def release(name: str) -> Callable[[int], int]:
            def run(this: int) -> int:
                self.calls.append(f"release {name}")
                return 0

            return run

        def set_mute(this: int, value: int, context: int | None) -> int:
            self.calls.append(f"SetMute {value}")
            self.muted = value
            return 0

        def get_mute(this: int, state: Any) -> int:
            state[0] = self.muted
            return 0

        slot = VTABLE
        self.volume = FakeComObject({
            slot["IUnknown.Release"]: (ctypes.c_ulong, (), release("volume")),
            slot["IAudioEndpointVolume.SetMute"]: (ctypes.c_long, (ctypes.c_int, ctypes.c_void_p), set_mute),
            slot["IAudioEndpointVolume.GetMute"]: (ctypes.c_long, (ctypes.POINTER(ctypes.c_int),), get_mute),
        })  # fmt: skip

        def activate(this: int, iid: Any, context: int, params: int | None, result: Any) -> int:
            self.calls.append(f"Activate {_guid_text(iid[0])}")
            if activate_result >= 0:
                result[0] = self.volume.address
            return activate_result

        self.device = FakeComObject({
            slot["IUnknown.Release"]: (ctypes.c_ulong, (), release("device")),
            slot["IMMDevice.Activate"]: (ctypes.c_long, (ctypes.POINTER(GUID), ctypes.c_uint32, ctypes.c_void_p, out), activate),
        })  # fmt: skip

        def get_default(this: int, flow: int, role: int, result: Any) -> int:
            self.calls.append(f"GetDefaultAudioEndpoint flow={flow} role={role}")
            result[0] = self.device.address
            return 0

        self.enumerator = FakeComObject({
            slot["IUnknown.Release"]: (ctypes.c_ulong, (), release("enumerator")),
            slot["IMMDeviceEnumerator.GetDefaultAudioEndpoint"]: (ctypes.c_long, (ctypes.c_int, ctypes.c_int, out), get_default),
        })  # fmt: skip

    # ole32
    def CoInitializeEx(self, reserved: Any, flags: int) -> int:
        self.calls.append("CoInitializeEx")
        return 0

    def CoCreateInstance(self, clsid: Any, outer: Any, context: int, iid: Any, out: Any) -> int:
        self.calls.append(f"CoCreateInstance {_guid_text(clsid._obj)} {_guid_text(iid._obj)}")
        out[0] = self.enumerator.address
        return 0

    def CoUninitialize(self) -> None:
        self.calls.append("CoUninitialize")


def _guid_text(guid: GUID) -> str:
    return "{" + str(uuid.UUID(bytes_le=bytes(guid))).upper() + "}"


def test_the_windows_endpoint_mute_calls_core_audio_in_the_documented_order() -> None:
    fake = FakeCoreAudio()
    mic = WindowsEndpointMute(ole32=fake, functype=ctypes.CFUNCTYPE)
    assert mic.set_muted(True) is True
    assert mic.is_muted() is True
    assert mic.set_muted(False) is False
    mic.close()
    mic.close()  # idempotent
    assert fake.calls == [
        "CoInitializeEx",
        f"CoCreateInstance {CLSID_MM_DEVICE_ENUMERATOR} {IID_IMM_DEVICE_ENUMERATOR}",
        "GetDefaultAudioEndpoint flow=1 role=2",  # eCapture, eCommunications: the softphone's mic
        f"Activate {IID_IAUDIO_ENDPOINT_VOLUME}",
        "SetMute 1",
        "SetMute 0",
        "release volume",
        "release device",
        "release enumerator",
        "CoUninitialize",
    ]


def test_a_refused_core_audio_call_is_one_clear_error_and_releases_what_it_got() -> None:
    fake = FakeCoreAudio(activate_result=-0x7FF8FFFB)  # E_ACCESSDENIED, 0x80070005
    with pytest.raises(MuteError, match=r"volume control \(HRESULT 0x80070005\)"):
        WindowsEndpointMute(ole32=fake, functype=ctypes.CFUNCTYPE)
    assert fake.calls[-3:] == ["release device", "release enumerator", "CoUninitialize"]


def test_without_windows_the_endpoint_mute_says_so() -> None:
    with pytest.raises(MuteError, match="only on Windows"):
        WindowsEndpointMute()
