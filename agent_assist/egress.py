"""Nothing leaves the PC that the site did not allow: third-party telemetry off, first.

Agent Assist connects to exactly three kinds of places, all set by the site:
the marquee server (``server.url``), the update feed (``updates.url``) and the
speech-model mirror (``models.mirror``). Everything else is loopback (the demo's
embedded server, the CTI bridge) or a local socket (PulseAudio, D-Bus, X11).

Some dependencies would send or write more on their own. What each could do,
and how it is off (README "Privacy" has the same list for IT):

=====================  ==========================================  ==========================
dependency             what it could send or write                 how it is off
=====================  ==========================================  ==========================
onnxruntime >= 1.32    1DS telemetry: DNS look-ups and HTTPS to    ``ORT_DISABLE_TELEMETRY=1``
                       ``mobile.events.data.microsoft.com``; a     before the library is
                       device id and an event cache under          imported (it reads the
                       ``~/.cache/Microsoft/DeveloperTools``       variable at import time)
tokenizers             nothing from ``Tokenizer.from_file`` (we    ``HF_HUB_OFFLINE=1`` and
                       ship the file); the Hugging Face hub is     ``HF_HUB_DISABLE_TELEMETRY=1``
                       reached only by ``from_pretrained``         in case a later version
                                                                   reaches for the hub
Qt / PySide6           no telemetry; local sockets to the display  nothing to switch off; no
                       server and the accessibility bus; settings  QtNetwork module is used
                       (QSettings) in our own config folder
Mesa (Qt on OpenGL)    a shader cache under ``~/.cache/mesa_*``    ``MESA_SHADER_CACHE_DISABLE``
vosk / Kaldi           nothing: reads the model folder             -
sounddevice/PortAudio  the local sound server's socket only        -
keyring                the OS secret store, over local D-Bus       -
websockets             only the URL it is given (server.url)       -
=====================  ==========================================  ==========================

:func:`switch_off_telemetry` runs when the ``agent_assist`` package is imported,
which every entry point does first (the console script, ``python -m
agent_assist``; the frozen app also runs it from a PyInstaller runtime hook
before any other code). Every adapter package imports ``agent_assist`` first, so
no import order reaches onnxruntime before it. If some host program imported
onnxruntime *before* us without the switch, :func:`telemetry_was_loaded_on`
says so and the embedder refuses to run (fail closed: keyword search still
answers) rather than send.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

__all__ = ["SWITCHES", "switch_off_telemetry", "telemetry_was_loaded_on"]

SWITCHES: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "MESA_SHADER_CACHE_DISABLE": "true",
}
"""Environment variables that switch a dependency's telemetry, downloads or caches off."""

_loaded_before: set[str] = set()


def switch_off_telemetry(environ: MutableMapping[str, str] | None = None) -> None:
    """Set every variable in :data:`SWITCHES` (overriding any other value) in ``environ``.

    ``environ`` defaults to ``os.environ``, so child processes inherit the switches too.
    Idempotent. Notes libraries that were already imported without their switch.
    """
    env = os.environ if environ is None else environ
    if environ is None and "onnxruntime" in sys.modules and env.get("ORT_DISABLE_TELEMETRY") != "1":
        _loaded_before.add("onnxruntime")
    for name, value in SWITCHES.items():
        env[name] = value


def telemetry_was_loaded_on(module: str) -> bool:
    """True if ``module`` was imported before its telemetry switch was set in this process."""
    return module in _loaded_before
