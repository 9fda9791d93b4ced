"""Guards for the dependency rules of ARCHITECTURE.md §1."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = [
    "agent_assist/events.py",
    "agent_assist/errors.py",
    "agent_assist/clock.py",
    "agent_assist/merge.py",
    "agent_assist/cti/protocol.py",
    "agent_assist/suggest.py",
    "agent_assist/records.py",
    "agent_assist/limits.py",
    "agent_assist/marquee/scope.py",
    *[str(p.relative_to(ROOT)) for p in (ROOT / "agent_assist/risk").glob("*.py")],
    *[
        name
        for name in (
            "agent_assist/session.py",
            "agent_assist/privacy.py",
            "agent_assist/config.py",
            "agent_assist/marquee/protocol.py",
        )
        if (ROOT / name).exists()
    ],
]
ADAPTER_LIBS = {"PySide6", "sounddevice", "vosk", "websockets", "sqlite_utils", "numpy"}
ADAPTERS = {"audio", "kb_cache", "ui"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("module", CORE)
def test_core_imports_only_the_standard_library_and_the_core(module: str) -> None:
    imported = _imports(ROOT / module)
    assert not imported & (ADAPTER_LIBS | ADAPTERS), (
        f"{module} imports {imported & (ADAPTER_LIBS | ADAPTERS)}"
    )
    outside = {name for name in imported if name not in sys.stdlib_module_names} - {"agent_assist"}
    assert not outside, f"{module} imports non-stdlib {outside}"


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_adapters_never_import_each_other_or_the_composition_root(adapter: str) -> None:
    for path in (ROOT / adapter).rglob("*.py"):
        imported = _imports(path)
        assert not imported & (ADAPTERS - {adapter}), f"{path} imports another adapter"
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                root = ".".join(node.module.split(".")[:2])
                assert root not in ("agent_assist.cli", "agent_assist.app"), path


def test_cli_starts_without_importing_heavy_libraries() -> None:
    code = (
        "import sys; from agent_assist import cli; cli.build_parser(); "
        "print(sorted(m for m in ('vosk','sounddevice','PySide6','numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
