"""Agent Assist: an on-device, real-time assistant for call-centre agents.

The package root holds the sans-I/O core (events, errors, risk engine, session,
privacy, configuration) and the composition root (``app``, ``cli``). Adapters
that own outside things live beside it: ``audio`` (sound devices and Vosk),
``kb_cache`` (the SQLite knowledge cache) and ``ui`` (PySide6).

Importing this package switches third-party telemetry off before any
dependency can load (:mod:`agent_assist.egress`).
"""

from agent_assist.egress import switch_off_telemetry as _switch_off_telemetry

_switch_off_telemetry()

__version__ = "0.1.0"
