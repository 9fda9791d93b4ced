"""The settings schema: every key, its type, default, limits and one sentence of help.

The defaults are safe on their own: nothing is shared, nothing is stored, no
server is contacted. :mod:`agent_assist.config` reads the layers against this
schema; ``packaging/site.toml.example`` documents it for IT and the Group
Policy templates (``agent-assist policy templates``) are generated from it.
Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["FAIL_CLOSED_TABLES", "SCHEMA", "TABLES", "Kind", "Spec", "Value"]

Value = bool | int | float | str
Kind = Literal["bool", "int", "float", "str"]

#: When the machine-wide policy cannot be read, these tables are locked to their safe
#: defaults: users cannot point the app at another server or share more than the default.
#: (Display preferences stay theirs: a broken policy should not take away large text.)
FAIL_CLOSED_TABLES = ("server", "privacy", "share", "updates")

_VERSION = re.compile(r"^\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?$")


@dataclass(frozen=True)
class Spec:
    """One key of the schema: its type, default and limits (``low``..``high`` inclusive)."""

    key: str
    kind: Kind
    default: Value
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    check: Callable[[str], str | None] | None = None  # extra rule for strings: None = fine


def _ws_url(text: str) -> str | None:
    if not text:
        return None
    parts = urlsplit(text)
    return None if parts.scheme in ("ws", "wss") and parts.hostname else "a ws:// or wss:// URL"


def _url_or_folder(text: str) -> str | None:
    if "://" not in text:
        return None  # a folder (or empty: none)
    parts = urlsplit(text)
    return (
        None
        if parts.scheme in ("http", "https") and parts.hostname
        else "an http(s) URL or a folder"
    )


def _pin(text: str) -> str | None:
    ok = not text or re.fullmatch(r"[0-9a-f]{64}", text.replace(":", "").lower())
    return None if ok else "64 hexadecimal digits (the SHA-256 of the server certificate)"


def _version(text: str) -> str | None:
    return None if not text or _VERSION.match(text) else "a version like 1.2.3 (or empty)"


_SPECS = (
    Spec("server.url", "str", "", "The marquee (announcement) server, ws:// or wss://; empty: none.", check=_ws_url),
    Spec("server.ca_file", "str", "", "CA certificate (PEM) that signs the server's certificate; empty: the system store."),
    Spec("server.pin_sha256", "str", "", "SHA-256 of the server certificate (64 hex digits) to pin; empty: no pin.", check=_pin),
    Spec("server.token_in_keyring", "bool", True, "Keep each user's access token in the OS keyring, where there is one."),
    Spec("models.mirror", "str", "", "Where speech models are downloaded from: your mirror's http(s) URL or a folder; empty: the official site.", check=_url_or_folder),
    Spec("models.path", "str", "", "The speech model: an installed model's name or a model folder; empty: the app chooses."),
    Spec("knowledge.sync", "bool", True, "Keep the local knowledge cache in sync with the server."),
    Spec("knowledge.sync_interval_s", "int", 300, "Seconds between knowledge syncs.", low=30, high=86400),
    Spec("knowledge.db", "str", "", "Knowledge cache file; empty: knowledge.db in each user's data folder."),
    Spec("privacy.flag_feed", "bool", False, "Share flag summaries (kind, severity, time; never words) with supervisors."),
    Spec("privacy.store_transcripts", "bool", False, "Store call transcripts on this machine."),
    Spec("privacy.scrub_pii", "bool", True, "Remove card numbers, SSNs, e-mail addresses and phone numbers from anything stored or sent."),
    Spec("audio.input", "str", "", "Headset microphone (a device name from agent-assist devices); empty: the system default."),
    Spec("audio.far_end", "str", "", "The customer's side, e.g. a loopback/monitor device; empty: not captured."),
    Spec("coaching.dead_air_s", "float", 20.0, "Seconds of mute, hold or silence before the dead-air flag.", low=5.0, high=600.0),
    Spec("coaching.snooze_minutes", "int", 15, "Minutes the agent's snooze button silences coaching; 0: no snoozing.", low=0, high=240),
    Spec("ui.theme", "str", "system", "Colour theme.", choices=("system", "light", "dark", "high-contrast")),
    Spec("ui.font_scale", "float", 1.0, "Text size relative to normal.", low=0.75, high=2.0),
    Spec("ui.always_on_top", "bool", False, "Keep the assistant window above other windows."),
    Spec("ui.dock", "str", "right", "Where the window docks.", choices=("right", "left", "floating")),
    Spec("ui.compact", "bool", False, "Start in the compact strip (line state, one alert, announcements: about 120 px); lock it for small screens."),
    Spec("updates.enabled", "bool", True, "Check for signed updates (agent-assist update check, and the app once a day)."),
    Spec("updates.url", "str", "", "Where updates come from: an http(s) URL or a folder holding stable/ and pilot/; empty: /updates/ on the marquee server.", check=_url_or_folder),
    Spec("updates.channel", "str", "stable", "Update channel: pilot PCs get releases first.", choices=("stable", "pilot")),
    Spec("updates.auto", "bool", False, "Download and verify an offered update in the background, staged for installing."),
    Spec("updates.pin_version", "str", "", "Stay on (or go back to) exactly this version; empty: the newest.", check=_version),
    Spec("scripts.pack", "str", "", "The call-script pack (a TOML file); empty: the built-in example pack."),
    Spec("privacy.store_summaries", "bool", False, "Keep after-call summaries (numbers and the wrap-up note) on this machine."),
    Spec("privacy.learn_phrasings", "bool", False, "When an agent marks a suggestion Used it or Helpful, keep the customer's words (scrubbed) as a phrasing of that article and send it for supervisors' review."),
    Spec("share.stats", "bool", False, "Send each call's numbers (never words) to the server for team stats."),
)  # fmt: skip
SCHEMA: Mapping[str, Spec] = {spec.key: spec for spec in _SPECS}
TABLES = frozenset(key.split(".")[0] for key in SCHEMA)
