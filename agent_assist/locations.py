"""Where things live: the machine-wide places IT owns and each user's own files.

Machine-wide (writable only by root / Administrators; IT or an installer fills them)::

                policy_dir (site.toml, release.pub)      data_dir (models/, updates/)
    Linux       /etc/agent-assist                        /var/lib/agent-assist
    Windows     %ProgramData%\\AgentAssist               %ProgramData%\\AgentAssist
    macOS       /Library/Application Support/AgentAssist (both)

On Windows, %ProgramData% is asked of the shell (the known folder), never read
from the environment, which any user can change for their own processes.

A *machine-wide policy exists* when ``site.toml`` or ``release.pub`` is in the
policy folder (or, on Windows, Group Policy or the MSI wrote registry values;
see :mod:`agent_assist.winpolicy`). Then the environment cannot move the site
policy or the trusted release key: ``AGENT_ASSIST_SITE_POLICY`` and
``AGENT_ASSIST_RELEASE_KEY`` are honoured only on machines without one (for
development and tests).

Tests point the machine-wide places at a temporary folder with
:func:`use_machine_paths` (a test-only seam in this module, deliberately not an
environment variable a user could set). Standard library only.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RELEASE_KEY_ENV",
    "SITE_POLICY_ENV",
    "USER_SETTINGS_ENV",
    "MachinePaths",
    "machine_paths",
    "machine_policy_present",
    "site_policy_path",
    "use_machine_paths",
    "user_settings_path",
]

SITE_POLICY_ENV = "AGENT_ASSIST_SITE_POLICY"
USER_SETTINGS_ENV = "AGENT_ASSIST_USER_SETTINGS"
RELEASE_KEY_ENV = "AGENT_ASSIST_RELEASE_KEY"


@dataclass(frozen=True)
class MachinePaths:
    """The machine-wide folders: ``policy_dir`` (site.toml, release.pub) and ``data_dir``."""

    policy_dir: Path
    data_dir: Path

    @property
    def site_policy(self) -> Path:
        """The machine-wide site policy file (``site.toml`` in the policy folder)."""
        return _child(self.policy_dir, "site.toml")

    @property
    def release_key(self) -> Path:
        """The trusted release key IT installs (``release.pub`` in the policy folder)."""
        return _child(self.policy_dir, "release.pub")

    @property
    def models(self) -> Path:
        """The machine-wide models folder every user reads."""
        return _child(self.data_dir, "models")

    @property
    def updates(self) -> Path:
        """Where verified update packages are staged for every user."""
        return _child(self.data_dir, "updates")


def _child(base: Path, name: str) -> Path:
    # Windows paths computed on another system (tests, docs) keep their back-slashes
    text = str(base)
    return Path(ntpath.join(text, name)) if "\\" in text and "/" not in text else base / name


_override: MachinePaths | None = None  # test seam: set only through use_machine_paths()


@contextmanager
def use_machine_paths(paths: MachinePaths | None) -> Iterator[MachinePaths | None]:
    """For tests: treat ``paths`` as the machine-wide folders while the block runs.

    ``None`` restores the real places (for tests of the per-platform paths themselves).
    """
    global _override
    previous, _override = _override, paths
    try:
        yield paths
    finally:
        _override = previous


def machine_paths(*, platform: str | None = None) -> MachinePaths:
    """The machine-wide folders of ``platform`` (default: this machine's sys.platform)."""
    if _override is not None:
        return _override
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        base = Path(ntpath.join(_program_data(), "AgentAssist"))
        return MachinePaths(base, base)
    if platform == "darwin":
        base = Path("/Library/Application Support/AgentAssist")
        return MachinePaths(base, base)
    return MachinePaths(Path("/etc/agent-assist"), Path("/var/lib/agent-assist"))


def _program_data() -> str:
    """%ProgramData% from the shell's known folder (FOLDERID_ProgramData), not the environment."""
    if sys.platform != "win32":  # computing Windows paths elsewhere (tests, docs)
        return "C:\\ProgramData"
    import ctypes  # written for Windows; not run by this project's tests (see packaging/README.md)
    import uuid

    class _Guid(ctypes.Structure):
        _fields_ = [("bytes", ctypes.c_ubyte * 16)]

    guid = _Guid()
    ctypes.memmove(guid.bytes, uuid.UUID("{62AB5D82-FDC1-4DC3-A9DD-070D1D495D97}").bytes_le, 16)
    found = ctypes.c_wchar_p()
    shell32 = ctypes.windll.shell32  # type: ignore[attr-defined,unused-ignore]
    ole32 = ctypes.windll.ole32  # type: ignore[attr-defined,unused-ignore]
    if shell32.SHGetKnownFolderPath(ctypes.byref(guid), 0, None, ctypes.byref(found)) != 0:
        return "C:\\ProgramData"
    try:
        return str(found.value)
    finally:
        ole32.CoTaskMemFree(found)


def _exists(path: Path) -> bool:
    """True if ``path`` exists, or something is there that cannot even be looked at.

    A policy IT locked down too tightly (a folder without read access) counts as
    present, so it fails closed instead of vanishing.
    """
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def machine_policy_present(*, registry_policy: bool = False, platform: str | None = None) -> bool:
    """True if IT installed a machine-wide policy (site.toml, release.pub or registry values)."""
    paths = machine_paths(platform=platform)
    return registry_policy or _exists(paths.site_policy) or _exists(paths.release_key)


def site_policy_path(
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    registry_policy: bool = False,
) -> Path:
    """The machine-wide ``site.toml``; ``AGENT_ASSIST_SITE_POLICY`` only where there is none."""
    env = os.environ if environ is None else environ
    machine = machine_paths(platform=platform).site_policy
    if machine_policy_present(registry_policy=registry_policy, platform=platform):
        return machine
    return Path(env[SITE_POLICY_ENV]) if env.get(SITE_POLICY_ENV) else machine


def user_settings_path(
    *, environ: Mapping[str, str] | None = None, platform: str | None = None
) -> Path:
    """``AGENT_ASSIST_USER_SETTINGS``, else settings.toml in the user config dir.

    The dir is platformdirs' ``user_config_dir("agent-assist", appauthor=False)``,
    computed here with the standard library because this module is core. (A user
    may move their own settings: they are theirs to change anyway.)
    """
    env = os.environ if environ is None else environ
    if env.get(USER_SETTINGS_ENV):
        return Path(env[USER_SETTINGS_ENV])
    platform = sys.platform if platform is None else platform
    home = env.get("HOME") or os.path.expanduser("~")
    if platform == "win32":
        base = env.get("LOCALAPPDATA") or ntpath.join(
            env.get("USERPROFILE") or home, "AppData", "Local"
        )
        return Path(ntpath.join(base, "agent-assist", "settings.toml"))
    if platform == "darwin":
        base = posixpath.join(home, "Library", "Application Support")
    else:
        base = env.get("XDG_CONFIG_HOME", "").strip() or posixpath.join(home, ".config")
    return Path(posixpath.join(base, "agent-assist", "settings.toml"))
