"""Run a command under ``strace -f`` and report every connection and file write it made.

The egress tests (tests/e2e/test_egress.py) use it to prove that Agent Assist talks
only to loopback, local sockets and the server the site configured, and writes
only inside its own folders. strace sees what the process asks the kernel for,
whatever library asks: a DNS look-up is a ``connect``/``sendto`` to port 53, a
telemetry cache is an ``openat(..., O_CREAT)``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Connection", "Trace", "app_environment", "have_strace", "parse_trace", "traced"]

_SYSCALLS = (
    "connect,sendto,sendmsg,sendmmsg,open,openat,openat2,creat,mkdir,mkdirat,"
    "rename,renameat,renameat2,link,linkat,symlink,symlinkat"
)
_LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<call>\w+)\((?P<args>.*)$")
_INET4 = re.compile(r'sin_port=htons\((?P<port>\d+)\), sin_addr=inet_addr\("(?P<addr>[^"]+)"\)')
_INET6 = re.compile(
    r'sin6_port=htons\((?P<port>\d+)\).*?inet_pton\(AF_INET6, "(?P<addr>[^"]+)"', re.S
)
_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PYCACHE = re.compile(r"/__pycache__(/[^/]+\.pyc(\.\d+)?)?$")
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")


@dataclass(frozen=True)
class Connection:
    """One ``connect``/``send*`` to an internet address (AF_INET or AF_INET6)."""

    call: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback."""
        ip = ipaddress.ip_address(self.address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_loopback


@dataclass
class Trace:
    """What a traced command did: its exit code, output, connections and written paths."""

    returncode: int
    stdout: str
    stderr: str
    connections: list[Connection] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # absolute paths opened for writing/made

    def outside_loopback(self, *, allowed: Iterable[tuple[str, int]] = ()) -> list[Connection]:
        """Connections to anything but loopback and the ``allowed`` (address, port) pairs."""
        allow = set(allowed)
        return [c for c in self.connections if not c.loopback and (c.address, c.port) not in allow]

    def written_outside(self, folders: Iterable[Path | str]) -> list[str]:
        """Written paths not inside any of ``folders`` (the app's own and the test's own)."""
        roots = [os.path.realpath(f) for f in folders]
        out = []
        for path in self.written:
            real = os.path.realpath(path)
            if _harmless(real):
                continue
            if not any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
                out.append(path)
        return sorted(set(out))


def _harmless(path: str) -> bool:
    """Writes that are the operating system's or Python's own, not data the app keeps.

    /dev (null, tty, shared memory for the sound server) and /proc are kernel
    interfaces; ``__pycache__`` is Python caching the bytecode of its own modules.
    """
    return path.startswith(("/dev/", "/proc/")) or _PYCACHE.search(path) is not None


def have_strace() -> bool:
    """True if strace is installed (scripts/bootstrap installs it)."""
    return shutil.which("strace") is not None


def app_environment(home: Path) -> dict[str, str]:
    """A fresh profile under ``home``: HOME, every XDG folder and TMPDIR point inside it.

    The app's own folders are then ``home/.local/share/agent-assist`` (data),
    ``home/.config/agent-assist`` (config), ``home/.cache/agent-assist`` (cache),
    ``home/.local/state/agent-assist`` (logs) and ``home/tmp/agent-assist-*``.
    """
    folders = {
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_RUNTIME_DIR": home / "run",
        "TMPDIR": home / "tmp",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    (home / "run").chmod(0o700)
    keep = ("PATH", "LANG", "LC_ALL", "PULSE_SERVER", "DISPLAY", "QT_QPA_PLATFORM")
    env = {k: v for k, v in os.environ.items() if k in keep}
    # the variables the app sets itself must not come from the test's own environment
    env.update({k: str(v) for k, v in folders.items()})
    env["HOME"] = str(home)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def traced(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    timeout: float,
    stdin: str | None = None,
) -> Trace:
    """Run ``command`` under ``strace -f``; the raw trace is kept in ``log`` for a failure's report."""
    argv = ["strace", "-f", "-qq", "-s", "256", "-e", f"trace={_SYSCALLS}", "-o", str(log)]
    done = subprocess.run(
        [*argv, "--", *command],
        env=dict(env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    trace = Trace(done.returncode, done.stdout, done.stderr)
    parse_trace(log.read_text(encoding="utf-8", errors="replace"), trace, cwd=cwd)
    return trace


def parse_trace(text: str, trace: Trace, *, cwd: Path) -> None:
    """Add the connections and written paths of strace output ``text`` to ``trace``."""
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue  # "<... resumed>" lines carry no arguments we need
        call, args = m.group("call"), m.group("args")
        if call in ("connect", "sendto", "sendmsg", "sendmmsg"):
            for pattern in (_INET4, _INET6):
                for hit in pattern.finditer(args):
                    trace.connections.append(
                        Connection(call, hit.group("addr"), int(hit.group("port")))
                    )
            continue
        paths = [p.encode().decode("unicode_escape") for p in _PATH.findall(args)]
        if not paths:
            continue
        if call in ("open", "openat", "openat2", "creat"):
            if call != "creat" and not any(flag in args for flag in _WRITE_FLAGS):
                continue
            targets = paths[:1]
        elif call in ("rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat"):
            targets = paths[-1:]
        else:  # mkdir, mkdirat
            targets = paths[:1]
        for target in targets:
            trace.written.append(target if target.startswith("/") else str(cwd / target))
