"""Layered settings: built-in defaults < site policy (IT) < user settings; locked keys.

Three layers, each a flat schema of dotted keys (``ui.theme``, ``server.url``;
see :mod:`agent_assist.schema`)::

    built-in defaults   safe on their own (nothing shared, nothing stored, no server)
    site policy         machine-wide, written by IT (an installer, GPO, MDM):
                          site.toml in the policy folder (agent_assist.locations):
                            Linux    /etc/agent-assist/site.toml
                            Windows  %ProgramData%\\AgentAssist\\site.toml
                            macOS    /Library/Application Support/AgentAssist/site.toml
                          on Windows also the registry (agent_assist.winpolicy):
                            the MSI's values < site.toml < Group Policy (always locked)
                        AGENT_ASSIST_SITE_POLICY names another file only on a machine
                        without a machine-wide policy (development and tests)
    user settings       TOML the app writes for one user (settings.toml in the user config dir),
                        or the file named by AGENT_ASSIST_USER_SETTINGS

A later layer wins, except for the keys the site policy lists in its top-level
``locked = [...]`` (a key, or ``"table.*"`` for a whole table): the user value
of a locked key is ignored (a notice says so) and :func:`save_user_setting`
refuses it with :class:`SettingLockedError`. A locked key the policy does not
set stays at its built-in default. ``locked`` must come before the first
``[table]`` header, or TOML files it under that table.

**The site policy fails closed.** A site policy that cannot be read as a whole
(unreadable, not UTF-8, not valid TOML, a malformed ``locked`` list, a registry
key that cannot be opened) locks every key of the ``server``, ``privacy`` and
``updates`` tables: to the policy's own value where it could be read, else to
the safe default. :attr:`Settings.failed_closed` is then true and
:attr:`Settings.policy_problem` is the one line the app shows in a banner
(:data:`POLICY_UNREADABLE`); the details are in :attr:`Settings.problems`.

Otherwise nothing here stops the app. A missing file is an empty layer; a key
that is unknown or has a bad value is ignored on its own. Each problem is one
line in :attr:`Settings.problems` naming the file and line, e.g.
``/etc/agent-assist/site.toml line 4: privacy.flag_feed must be true or false,
not "yes"``. ``agent-assist policy show --check`` prints them and exits 1, so IT
can check a policy before rolling it out. Files are UTF-8 (a BOM is accepted).

Sans-I/O apart from reading the two files and writing the user file; standard
library only. ``packaging/site.toml.example`` documents every key for IT.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent_assist.errors import SettingLockedError, SettingsError
from agent_assist.locations import (
    SITE_POLICY_ENV,
    USER_SETTINGS_ENV,
    site_policy_path,
    user_settings_path,
)
from agent_assist.schema import FAIL_CLOSED_TABLES, SCHEMA, Spec, Value
from agent_assist.schema import TABLES as _TABLES

__all__ = [
    "POLICY_UNREADABLE",
    "SCHEMA",
    "SITE_POLICY_ENV",
    "USER_SETTINGS_ENV",
    "PolicyLayer",
    "Setting",
    "Settings",
    "Source",
    "Spec",
    "Value",
    "load_settings",
    "remove_user_setting",
    "save_user_setting",
    "site_policy_path",
    "user_settings_path",
]

Source = Literal["default", "site", "user"]
Kind = Literal["bool", "int", "float", "str"]

#: What the app shows (and ``policy show`` prints) when the machine-wide policy cannot be read.
POLICY_UNREADABLE = "Site policy could not be read \N{EM DASH} safe settings apply; tell IT"


@dataclass(frozen=True)
class Setting:
    """The effective value of one key and where it came from (``path`` is None for defaults)."""

    key: str
    value: Value
    source: Source
    path: str | None
    locked: bool


@dataclass(frozen=True)
class Settings:
    """Effective settings (immutable). Every key of :data:`SCHEMA` is present.

    ``problems``: one line per error in a file (file and line); the app runs anyway.
    ``notices``: user values ignored because the site policy locks their key.
    ``failed_closed``: the machine-wide policy could not be read, so the ``server``,
    ``privacy`` and ``updates`` tables are locked to safe values (see the module docstring).
    """

    entries: tuple[Setting, ...]
    site_path: str | None = None
    user_path: str | None = None
    problems: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    failed_closed: bool = False
    machine: tuple[PolicyLayer, ...] = field(default=(), repr=False, compare=False)
    _index: Mapping[str, Setting] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.key: s for s in self.entries})

    def __iter__(self) -> Iterator[Setting]:
        return iter(self.entries)

    def setting(self, key: str) -> Setting:
        """The entry for ``key``; KeyError names the key when it is not in the schema."""
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f"unknown setting {key}") from None

    def get(self, key: str) -> Value:
        """The effective value of ``key`` (KeyError for a key that does not exist)."""
        return self.setting(key).value

    @property
    def policy_problem(self) -> str | None:
        """The one line to show on screen when the site policy failed closed, else None."""
        return POLICY_UNREADABLE if self.failed_closed else None

    def source(self, key: str) -> Source:
        """Which layer the value of ``key`` comes from: default, site or user."""
        return self.setting(key).source

    def path(self, key: str) -> str | None:
        """The file the value came from, or None for a built-in default."""
        return self.setting(key).path

    def locked(self, key: str) -> bool:
        """True when the site policy locks ``key``: user settings cannot change it."""
        return self.setting(key).locked

    def get_bool(self, key: str) -> bool:
        """The value of the bool setting ``key`` (TypeError for another kind)."""
        return bool(self._typed(key, "bool"))

    def get_int(self, key: str) -> int:
        """The value of the int setting ``key`` (TypeError for another kind)."""
        return int(self._typed(key, "int"))

    def get_float(self, key: str) -> float:
        """The value of the float setting ``key`` (TypeError for another kind)."""
        return float(self._typed(key, "float"))

    def get_str(self, key: str) -> str:
        """The value of the str setting ``key`` (TypeError for another kind)."""
        return str(self._typed(key, "str"))

    def _typed(self, key: str, kind: Kind) -> Value:
        value = self.get(key)
        if SCHEMA[key].kind != kind:
            raise TypeError(f"{key} is a {SCHEMA[key].kind} setting, not {kind}")
        return value


# -- loading ------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyLayer:
    """Machine policy from somewhere other than site.toml (the Windows registry).

    ``name`` is shown as the value's source (e.g. ``HKLM\\SOFTWARE\\Policies\\AgentAssist``);
    ``values`` are raw dotted-key values, checked against the schema like the file's;
    ``failed``: the source exists but could not be read (the policy fails closed);
    ``above_file``: wins over site.toml (Group Policy) or not (the MSI's values).
    """

    name: str
    values: Mapping[str, object] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()
    failed: bool = False
    above_file: bool = True


@dataclass
class _Layer:
    path: str
    values: dict[str, Value] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line or 0, message)
    failed: bool = False  # could not be read as a whole: the site policy fails closed

    def problem(self, message: str, key: str | None = None, *, line: int | None = None) -> None:
        line = line or (_line_of(self.lines, key) if key else None)
        where = f"{self.path} line {line}" if line else self.path
        self.problems.append((line or 0, f"{where}: {message}"))

    def sorted_problems(self) -> list[str]:
        return [message for _, message in sorted(self.problems, key=lambda p: p[0])]


def _from_policy_layer(source: PolicyLayer) -> _Layer:
    layer = _Layer(source.name, locked=set(source.locked), failed=source.failed)
    layer.problems = [(0, problem) for problem in source.problems]
    for key, raw in source.values.items():
        if key not in SCHEMA:
            layer.problem(_unknown(key))
            continue
        checked, error = _check(key, raw)
        if error:
            layer.problem(error)
        else:
            layer.values[key] = checked
    return layer


def load_settings(
    *,
    site: str | os.PathLike[str] | None,
    user: str | os.PathLike[str] | None,
    machine: Sequence[PolicyLayer] = (),
) -> Settings:
    """Effective settings from the site policy and user settings files (None: no such layer).

    ``machine``: further site-policy layers (the Windows registry), each below or
    above the site file. Never raises for bad files: see the module docstring and
    :attr:`Settings.problems`.
    """
    file_layer = [_read(site, is_site=True)] if site is not None else []
    extra = [(_from_policy_layer(m), m.above_file) for m in machine]
    site_layers = [
        *(layer for layer, above in extra if not above),
        *file_layer,
        *(layer for layer, above in extra if above),
    ]  # lowest precedence first
    user_layer = _read(user, is_site=False) if user is not None else None
    failed = any(layer.failed for layer in site_layers)
    locked = set().union(*(layer.locked for layer in site_layers))
    if failed:
        locked |= {key for key in SCHEMA if key.split(".")[0] in FAIL_CLOSED_TABLES}
    entries: list[Setting] = []
    notices: list[str] = []
    for key, spec in SCHEMA.items():
        entry = Setting(key, spec.default, "default", None, key in locked)
        for layer in site_layers:
            if key in layer.values:
                entry = Setting(key, layer.values[key], "site", layer.path, entry.locked)
        if user_layer and key in user_layer.values:
            if entry.locked:
                line = _line_of(user_layer.lines, key)
                where = f"{user_layer.path} line {line}" if line else user_layer.path
                why = "the site policy could not be read" if failed else "the site policy"
                notices.append(f"{where}: {key} is locked by {why}; the user value is ignored")
            else:
                entry = Setting(key, user_layer.values[key], "user", user_layer.path, False)
        entries.append(entry)
    problems = [
        *(p for layer in site_layers for p in layer.sorted_problems()),
        *(user_layer.sorted_problems() if user_layer else ()),
    ]
    return Settings(
        tuple(entries),
        site_path=file_layer[0].path if file_layer else None,
        user_path=user_layer.path if user_layer else None,
        problems=tuple(problems),
        notices=tuple(notices),
        failed_closed=failed,
        machine=tuple(machine),
    )


def _read(path: str | os.PathLike[str], *, is_site: bool) -> _Layer:
    layer = _Layer(os.fspath(path))
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return layer  # no file: an empty layer, which is normal
    except UnicodeDecodeError:
        layer.problem("not UTF-8 text (save it as UTF-8); the whole file is ignored")
        layer.failed = is_site
        return layer
    except OSError as exc:
        layer.problem(f"cannot read the file ({exc.strerror or exc}); the whole file is ignored")
        layer.failed = is_site
        return layer
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "Invalid value (at line 4, column 9)" or "... (at end of document)"
        message, _, where = str(exc).partition(" (at ")
        found = re.match(r"line (\d+), column (\d+)", where)
        line = int(found.group(1)) if found else len(text.splitlines()) or None
        column = f" (column {found.group(2)})" if found else ""
        message = message[:1].lower() + message[1:]
        layer.problem(f"not valid TOML: {message}{column}; the whole file is ignored", line=line)
        layer.failed = is_site
        return layer
    layer.lines = _key_lines(text)
    for key, value in _flatten(data):
        if key == "locked":
            if is_site:
                _read_locked(layer, value, text)
            else:
                layer.problem("locked is only read from the site policy; ignored", key)
            continue
        if key not in SCHEMA:
            layer.problem(_unknown(key, table=isinstance(value, dict)), key)
            continue
        checked, error = _check(key, value)
        if error:
            layer.problem(error, key)
        else:
            layer.values[key] = checked
    return layer


def _flatten(data: Mapping[str, object]) -> Iterator[tuple[str, object]]:
    """Dotted (key, value) pairs: tables of the schema are opened, anything else is a leaf."""
    for name, value in data.items():
        if name in _TABLES and isinstance(value, dict):
            for sub, leaf in value.items():
                yield f"{name}.{sub}", leaf
        else:
            yield name, value


def _read_locked(layer: _Layer, value: object, text: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        layer.problem(
            f'locked must be a list of setting names, e.g. ["server.url"], not {_show(value)}',
            "locked",
        )
        layer.failed = True  # what IT meant to lock is unknown: fail closed
        return
    for name in value:
        keys = [k for k in SCHEMA if k.startswith(name[:-1])] if name.endswith(".*") else [name]
        if not keys or not all(k in SCHEMA for k in keys):
            line = _line_of_text(text, json.dumps(name)) or _line_of(layer.lines, "locked")
            layer.problem(f"locked: {_unknown(name)}", line=line)
        layer.locked.update(k for k in keys if k in SCHEMA)


def _unknown(key: str, *, table: bool = False) -> str:
    if table and key not in _TABLES and "." not in key:
        return f"unknown table [{key}] (expected one of {', '.join(sorted(_TABLES))})"
    parent, _, name = key.rpartition(".")
    if name == "locked" and parent in _TABLES:
        return f"unknown setting {key} (locked = [...] must come before the first [table])"
    if key in _TABLES:
        return f"{key} must be a table ([{key}]), not a single value"
    stars = [f"{t}.*" for t in _TABLES] if key.endswith("*") else []
    close = difflib.get_close_matches(key, [*SCHEMA, *stars], n=1)
    return f"unknown setting {key}" + (f" (did you mean {close[0]}?)" if close else "")


def _check(key: str, value: object) -> tuple[Value, str | None]:
    """The value converted to the key's type (int -> float), or an error sentence."""
    spec = SCHEMA[key]
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value, None
        return spec.default, f"{key} must be true or false, not {_show(value)}"
    if spec.kind in ("int", "float"):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not (whole or (spec.kind == "float" and isinstance(value, float))):
            noun = "a whole number" if spec.kind == "int" else "a number"
            return spec.default, f"{key} must be {noun}, not {_show(value)}"
        assert isinstance(value, int | float)
        assert spec.low is not None
        assert spec.high is not None
        number = float(value) if spec.kind == "float" else value
        if not spec.low <= number <= spec.high:  # NaN fails too
            low, high = (
                (spec.low, spec.high) if spec.kind == "float" else (int(spec.low), int(spec.high))
            )
            return spec.default, f"{key} must be between {low} and {high}, not {_show(value)}"
        return number, None
    if not isinstance(value, str):
        return spec.default, f"{key} must be a string (in double quotes), not {_show(value)}"
    if spec.choices and value not in spec.choices:
        choices = ", ".join(json.dumps(c) for c in spec.choices)
        return spec.default, f"{key} must be one of {choices}, not {_show(value)}"
    wanted = spec.check(value) if spec.check else None
    if wanted:
        return spec.default, f"{key} must be {wanted}, not {_show(value)}"
    if key == "server.pin_sha256":
        value = value.replace(":", "").lower()
    return value, None


def _show(value: object) -> str:
    try:
        return _toml(value)
    except TypeError:
        return repr(value)


# -- line numbers (tomllib gives none for values it accepted) -----------------------

_PART = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_HEADER = re.compile(rf"^\s*\[\[?\s*({_PART}(?:\s*\.\s*{_PART})*)\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def _dotted(text: str) -> str:
    return ".".join(p.strip("\"'") for p in re.findall(_PART, text))


def _key_lines(text: str) -> dict[str, int]:
    """First line (1-based) of every table header and key, by dotted name."""
    lines: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            table = _dotted(header.group(1))
            lines.setdefault(table, number)
        elif assign := _ASSIGN.match(line):
            key = _dotted(assign.group(1))
            lines.setdefault(f"{table}.{key}" if table else key, number)
    return lines


def _line_of(lines: Mapping[str, int], key: str) -> int | None:
    """The line of ``key``, else of its nearest enclosing table (inline tables, headers)."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        if (line := lines.get(".".join(parts[:end]))) is not None:
            return line
    return None


def _line_of_text(text: str, needle: str) -> int | None:
    return next((n for n, line in enumerate(text.splitlines(), 1) if needle in line), None)


# -- writing user settings ------------------------------------------------------------


def save_user_setting(
    path: str | os.PathLike[str], key: str, value: Value, *, settings: Settings
) -> Settings:
    """Set ``key`` in the user settings file at ``path``; returns the settings reloaded.

    Raises :class:`SettingLockedError` when the site policy in ``settings`` locks
    ``key``, and :class:`SettingsError` for an unknown key, an invalid value, or a
    user file that exists but is not valid TOML (it is left as it was). Other
    keys in the file are kept; comments are not. The write is atomic.
    """
    if key not in SCHEMA:
        raise SettingsError(_unknown(key))
    if settings.locked(key):
        raise SettingLockedError(
            f"{key} is locked by the site policy "
            f"({settings.path(key) or settings.site_path}); only IT can change it"
        )
    checked, error = _check(key, value)
    if error:
        raise SettingsError(error)
    return _update(path, key, checked, settings=settings)


def remove_user_setting(path: str | os.PathLike[str], key: str, *, settings: Settings) -> Settings:
    """Drop ``key`` from the user settings (back to the site or default value); reloads."""
    if key not in SCHEMA:
        raise SettingsError(_unknown(key))
    return _update(path, key, None, settings=settings)


def _update(
    path: str | os.PathLike[str], key: str, value: Value | None, *, settings: Settings
) -> Settings:
    target = Path(path)
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        data = {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(
            f"cannot update {target}: {exc}; fix or delete the file and try again"
        ) from None
    table, _, name = key.partition(".")
    section = data.get(table)
    if not isinstance(section, dict):
        section = data[table] = {}
    if value is None:
        section.pop(name, None)
        if not section:
            del data[table]
    else:
        section[name] = value
    text = "# Agent Assist user settings, written by the app (see: agent-assist policy show).\n"
    text += _dump(data)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as exc:
        raise SettingsError(f"cannot write {target}: {exc.strerror or exc}") from None
    return load_settings(site=settings.site_path, user=target, machine=settings.machine)


def _dump(data: Mapping[str, object], prefix: str = "") -> str:
    """TOML for a parsed document: plain values first, then one [table] per dict."""
    plain = [f"{_key(k)} = {_toml(v)}\n" for k, v in data.items() if not isinstance(v, dict)]
    out = "".join(plain)
    for name, value in data.items():
        if isinstance(value, dict):
            dotted = f"{prefix}{_key(name)}"
            if any(not isinstance(v, dict) for v in value.values()) or not value:
                out += f"\n[{dotted}]\n"
            out += _dump(value, f"{dotted}.")
    return out


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _string(name)


def _string(text: str) -> str:
    # JSON strings are TOML basic strings, except that TOML also forbids a raw DEL
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):  # TOML dates and times, kept from an existing file
        return str(value.isoformat())
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
