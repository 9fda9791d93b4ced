"""The Windows registry as site policy: Group Policy and the MSI's silent-install values.

Two places, read behind the small :class:`Registry` interface (the real one uses
``winreg``; tests use a dictionary)::

    HKLM\\SOFTWARE\\Policies\\AgentAssist\\<table>   value <name>     Group Policy (the ADMX
                                                                     templates write these);
                                                                     every value set is locked
    HKLM\\SOFTWARE\\AgentAssist\\SitePolicy          ServerUrl, ServerPin, CaFile, ModelPath,
                                                    Locked            what msiexec was given

Types follow the schema: ``bool`` and ``int`` keys are REG_DWORD (0 or 1 for
bool), ``str`` and ``float`` keys are REG_SZ (a float as text, e.g. "1.25").
Empty strings mean "not set" (the MSI records every property, given or not).
A key that exists but cannot be opened or read makes its layer ``failed``: the
site policy then fails closed (see :mod:`agent_assist.config`).

Written for Windows and tested here with a fake registry only: the winreg
adapter (:class:`WinRegistry`) has not run on a Windows machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from agent_assist.config import PolicyLayer
from agent_assist.errors import SettingsError
from agent_assist.schema import SCHEMA, TABLES

__all__ = [
    "GPO_KEY",
    "MSI_KEY",
    "MSI_VALUES",
    "Registry",
    "RegistryUnreadable",
    "WinRegistry",
    "registry_policy",
]

GPO_KEY = "SOFTWARE\\Policies\\AgentAssist"
MSI_KEY = "SOFTWARE\\AgentAssist\\SitePolicy"
#: MSI registry value -> setting (the silent-install properties SERVER_URL etc.)
MSI_VALUES = {
    "ServerUrl": "server.url",
    "ServerPin": "server.pin_sha256",
    "CaFile": "server.ca_file",
    "ModelPath": "models.path",
}


class RegistryUnreadable(SettingsError):
    """A key exists but could not be opened or read (e.g. access denied)."""


class Registry(Protocol):
    """Read-only HKEY_LOCAL_MACHINE, as much of it as policy reading needs."""

    def values(self, key: str) -> Mapping[str, object] | None:
        """The values of ``key`` (name -> int or str), or None when the key does not exist.

        Raises RegistryUnreadable when the key exists but cannot be read.
        """
        ...


class WinRegistry:
    """The real registry through ``winreg`` (64-bit view). Windows only; not run here."""

    def values(self, key: str) -> Mapping[str, object] | None:
        """See :meth:`Registry.values`: HKLM's 64-bit view through ``winreg``."""
        import winreg  # type: ignore[import-not-found,unused-ignore]

        access = winreg.KEY_READ | winreg.KEY_WOW64_64KEY  # type: ignore[attr-defined,unused-ignore]
        try:
            handle = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key, 0, access)  # type: ignore[attr-defined,unused-ignore]
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RegistryUnreadable(f"HKLM\\{key}: {exc.strerror or exc}") from None
        found: dict[str, object] = {}
        with handle:
            index = 0
            while True:
                try:
                    name, value, _kind = winreg.EnumValue(handle, index)  # type: ignore[attr-defined,unused-ignore]
                except OSError:  # no more values
                    break
                found[str(name)] = value
                index += 1
        return found


def _convert(key: str, raw: object, where: str) -> tuple[object | None, str | None]:
    """A registry value as the schema's type, or an error sentence; (None, None) = not set."""
    kind = SCHEMA[key].kind
    if isinstance(raw, str) and not raw.strip():
        return None, None
    if kind == "bool":
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw), None
        return None, f"{where}: {key} must be a DWORD 0 or 1, not {raw!r}"
    if kind == "int":
        if isinstance(raw, int):
            return raw, None
        return None, f"{where}: {key} must be a DWORD, not {raw!r}"
    if kind == "float":
        try:
            return float(str(raw)), None
        except ValueError:
            return None, f"{where}: {key} must be a number, not {raw!r}"
    if isinstance(raw, str):
        return raw, None
    return None, f"{where}: {key} must be a string value (REG_SZ), not {raw!r}"


def _gpo_layer(registry: Registry) -> PolicyLayer | None:
    name = f"HKLM\\{GPO_KEY}"
    values: dict[str, object] = {}
    configured: set[str] = set()  # a policy set to a bad value still locks its key (at default)
    problems: list[str] = []
    found = False
    try:
        root = registry.values(GPO_KEY)
        found = root is not None
        for table in sorted(TABLES):
            table_values = registry.values(f"{GPO_KEY}\\{table}")
            if table_values is None:
                continue
            found = True
            for value_name, raw in table_values.items():
                key = f"{table}.{value_name}"
                if key not in SCHEMA:
                    problems.append(f"{name}\\{table}: unknown value {value_name}")
                    continue
                configured.add(key)
                converted, error = _convert(key, raw, f"{name}\\{table}")
                if error:
                    problems.append(error)
                elif converted is not None:
                    values[key] = converted
    except RegistryUnreadable as exc:
        return PolicyLayer(name, problems=(f"{exc}; safe settings apply",), failed=True)
    if not found:
        return None
    # Group Policy is mandatory by nature: whatever it sets, users cannot change.
    return PolicyLayer(name, values, frozenset(configured), tuple(problems), above_file=True)


def _msi_layer(registry: Registry) -> PolicyLayer | None:
    name = f"HKLM\\{MSI_KEY}"
    try:
        raw = registry.values(MSI_KEY)
    except RegistryUnreadable as exc:
        return PolicyLayer(name, problems=(f"{exc}; safe settings apply",), failed=True)
    if raw is None:
        return None
    values: dict[str, object] = {}
    problems: list[str] = []
    for value_name, key in MSI_VALUES.items():
        if value_name in raw:
            converted, error = _convert(key, raw[value_name], name)
            if error:
                problems.append(error)
            elif converted is not None:
                values[key] = converted
    locked: set[str] = set()
    text = raw.get("Locked", "")
    for item in str(text).replace(",", " ").split():
        keys = [k for k in SCHEMA if k.startswith(item[:-1])] if item.endswith(".*") else [item]
        if not keys or not all(k in SCHEMA for k in keys):
            problems.append(f"{name}: Locked names an unknown setting {item}")
        locked.update(k for k in keys if k in SCHEMA)
    return PolicyLayer(name, values, frozenset(locked), tuple(problems), above_file=False)


def registry_policy(registry: Registry) -> tuple[PolicyLayer, ...]:
    """The registry's policy layers (MSI values below site.toml, Group Policy above it)."""
    return tuple(layer for layer in (_msi_layer(registry), _gpo_layer(registry)) if layer)
