"""This machine's effective settings: the machine-wide policy (file and registry) and the user's.

:func:`current_settings` is what the app and every command use. It finds the
site policy where IT put it (:mod:`agent_assist.locations`), adds the Windows
registry's policy on Windows (:mod:`agent_assist.winpolicy`), and lets
``AGENT_ASSIST_SITE_POLICY`` name another file only when the machine has no
policy of its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from agent_assist.config import PolicyLayer, Settings, load_settings
from agent_assist.locations import machine_policy_present, site_policy_path, user_settings_path
from agent_assist.winpolicy import Registry, WinRegistry, registry_policy

__all__ = ["current_settings", "machine_policy_in_force", "registry_layers"]


def registry_layers(
    registry: Registry | None = None, *, platform: str | None = None
) -> tuple[PolicyLayer, ...]:
    """The registry's policy layers: from ``registry``, or the real one on Windows, else none."""
    if registry is None:
        if (platform or sys.platform) != "win32" or sys.platform != "win32":
            return ()
        registry = WinRegistry()
    return registry_policy(registry)


def machine_policy_in_force(
    registry: Registry | None = None, *, platform: str | None = None
) -> bool:
    """True if IT installed a machine-wide policy: the environment then cannot move it."""
    layers = registry_layers(registry, platform=platform)
    return machine_policy_present(registry_policy=bool(layers), platform=platform)


def current_settings(
    *,
    user: str | os.PathLike[str] | None = None,
    registry: Registry | None = None,
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The effective settings of this machine and user (``user``: another user settings file)."""
    layers = registry_layers(registry, platform=platform)
    site = site_policy_path(environ=environ, platform=platform, registry_policy=bool(layers))
    user_path = Path(user) if user is not None else user_settings_path(environ=environ)
    return load_settings(site=site, user=user_path, machine=layers)
