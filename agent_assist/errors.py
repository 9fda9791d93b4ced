"""The one exception tree of Agent Assist.

Every adapter translates its library's errors into these at its edge, so the
CLI and the UI only ever catch :class:`AgentAssistError` and show its message::

    AgentAssistError                 str(err) is one clear sentence for the user
    ├── UsageError                   bad arguments or input the user can fix (CLI exit 2)
    ├── EventFormatError             a JSON Lines event that is not valid (has .line)
    ├── RulePackError                a rule pack that is not valid (has .path and .line)
    ├── ScriptPackError              a call-script pack that is not valid (has .path and .line)
    ├── PhraseSyntaxError            a rule phrase that cannot be compiled (also a ValueError)
    ├── LimitError                   input over a documented bound: size, nesting depth (also a ValueError)
    ├── SettingsError                a setting that is not valid, or a user settings file we cannot update
    │   ├── SettingLockedError       the site policy locks this key: user settings cannot change it
    │   └── RegistryUnreadable       a policy key in the Windows registry exists but cannot be read
    ├── KnowledgeError               the knowledge cache: unreadable, or a request it cannot serve
    │   ├── KnowledgeImportError     a bad record in an import (has .path and .line); nothing stored
    │   ├── SyncError                a sync payload that is corrupt or out of order; cache unchanged
    │   ├── KnowledgeConflict        a cache claims a knowledge version the server never had
    │   └── SubmissionRejected       the server refuses a submitted resolution for good
    ├── RetryLaterError              cannot be done right now (offline, rate limited, busy): kept for later
    ├── UpdateSourceError            the update source cannot be reached or read (nothing was checked)
    ├── VerificationError            a signature, size or hash that does not match: nothing trusted
    │   └── UpdateRefused            an update that must not be installed (expired, older, wrong channel)
    ├── MarqueeError                 the marquee server, its protocol or its shared state
    │   ├── ProtocolError            a message that breaks the marquee protocol (has .code)
    │   ├── ServerRefused            the server answered a request with an error (has .code)
    │   ├── NoAnswerError            the server did not answer in time
    │   ├── ConnectionDropped        the connection failed or ended early (unclear: a keyed retry is safe)
    │   ├── PinMismatchError         the server's certificate is not the pinned one (also an SSL error)
    │   └── BackendUnavailableError  the shared state (Redis) cannot be reached right now
    ├── AudioError                   anything about sound input
    │   ├── DeviceNotFoundError      no input device matches the name/index asked for
    │   ├── DeviceError              a device failed to open or stopped delivering audio
    │   ├── AudioFormatError         an audio file we cannot read
    │   └── MuteError                the operating system would not mute or unmute the microphone
    └── ModelError                   anything about speech models
        ├── ModelNotFoundError       no model by that name/path (message says how to install)
        ├── ModelLoadError           Vosk refused to load a model folder
        └── ModelInstallError        an install failed; the installed models are untouched
            ├── DownloadError        network/HTTP failure or an incomplete download
            ├── ChecksumError        SHA-256 differs from the one expected
            └── UnsafeArchiveError   an archive entry escapes its folder, or is a link

``ProtocolError`` lives in :mod:`agent_assist.marquee.protocol`, ``LimitError``
in :mod:`agent_assist.limits`,
``PinMismatchError`` in :mod:`agent_assist.marquee.tls`, ``UpdateRefused`` and
``UpdateSourceError`` in :mod:`agent_assist.update` and ``RegistryUnreadable``
in :mod:`agent_assist.winpolicy`, beside what raises them; every other class is
here. A function called with arguments no caller
should pass raises the built-in ``ValueError``/``TypeError``/``KeyError``, as
Python's own library does: that is a bug in the caller, not a user's mistake
(an edge that passes user input on translates it, e.g. to ``UsageError``).
``tests/unit/test_errors.py`` checks that every exception class in the code is
in this tree and drawn here.
"""

from __future__ import annotations

__all__ = [
    "AgentAssistError",
    "AudioError",
    "AudioFormatError",
    "BackendUnavailableError",
    "ChecksumError",
    "ConnectionDropped",
    "DeviceError",
    "DeviceNotFoundError",
    "DownloadError",
    "EventFormatError",
    "KnowledgeConflict",
    "KnowledgeError",
    "KnowledgeImportError",
    "MarqueeError",
    "ModelError",
    "ModelInstallError",
    "ModelLoadError",
    "ModelNotFoundError",
    "MuteError",
    "NoAnswerError",
    "PhraseSyntaxError",
    "RetryLaterError",
    "RulePackError",
    "ScriptPackError",
    "ServerRefused",
    "SettingLockedError",
    "SettingsError",
    "SubmissionRejected",
    "SyncError",
    "UnsafeArchiveError",
    "UsageError",
    "VerificationError",
]


class AgentAssistError(Exception):
    """Base of every error Agent Assist raises on purpose; the message is user-facing."""


class UsageError(AgentAssistError):
    """The user asked for something that cannot work as asked (CLI exit code 2)."""


class EventFormatError(AgentAssistError):
    """A wire event is malformed. ``line`` is its 1-based line number when known."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class RulePackError(AgentAssistError):
    """A rule pack is invalid; ``path`` and ``line`` (1-based) say where, when known."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class ScriptPackError(AgentAssistError):
    """A call-script pack is invalid; ``path`` and ``line`` (1-based) say where, when known."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class PhraseSyntaxError(AgentAssistError, ValueError):
    """A rule phrase pattern cannot be compiled; the message says why (the pack loader adds where)."""


class SettingsError(AgentAssistError):
    """A setting cannot be stored as asked: unknown key, invalid value, or unreadable file."""


class SettingLockedError(SettingsError):
    """The site policy locks this key, so user settings may not change it."""


class KnowledgeError(AgentAssistError):
    """The knowledge cache cannot do what was asked."""


class KnowledgeImportError(KnowledgeError):
    """A record in an import is invalid; ``path`` and ``line`` say where. Nothing was stored."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class SyncError(KnowledgeError):
    """A sync payload was rejected; the cache is exactly as it was."""


class KnowledgeConflict(KnowledgeError):
    """A client's cache claims a version the server never had (e.g. the server was reset)."""


class SubmissionRejected(KnowledgeError):
    """The server refuses a submitted resolution for good (not a network error): it is not retried."""


class RetryLaterError(AgentAssistError):
    """It cannot be done right now (offline, rate limited, server busy); nothing is lost: try again."""


class VerificationError(AgentAssistError):
    """A signature, size or hash does not match what was signed: nothing is trusted or installed."""


class MarqueeError(AgentAssistError):
    """The marquee server, its protocol or its shared state."""


class ServerRefused(MarqueeError):
    """The marquee server answered a request with an error message; ``code`` says why."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class NoAnswerError(MarqueeError):
    """The marquee server did not answer in time."""


class ConnectionDropped(MarqueeError):
    """The connection to the marquee server could not be made or ended early: an unclear
    failure (a request may or may not have been carried out), worth a keyed retry."""


class BackendUnavailableError(MarqueeError):
    """The marquee server's shared state (Redis) cannot be reached right now."""


class AudioError(AgentAssistError):
    """Sound input failed."""


class DeviceNotFoundError(AudioError):
    """No input device matches the requested name or index."""


class DeviceError(AudioError):
    """A device could not be opened, or stopped delivering audio."""


class AudioFormatError(AudioError):
    """An audio file is missing, unreadable, or in a format we do not decode."""


class MuteError(AudioError):
    """The operating system would not mute or unmute the microphone, or cannot say whether it is."""


class ModelError(AgentAssistError):
    """Speech-model trouble."""


class ModelNotFoundError(ModelError):
    """No model matches the requested name or path."""


class ModelLoadError(ModelError):
    """A model folder exists but Vosk cannot load it."""


class ModelInstallError(ModelError):
    """Installing a model failed; previously installed models are left as they were."""


class DownloadError(ModelInstallError):
    """The download failed or arrived incomplete."""


class ChecksumError(ModelInstallError):
    """The downloaded archive does not have the expected SHA-256."""


class UnsafeArchiveError(ModelInstallError):
    """An archive entry would be written outside the target folder, or is a link."""
