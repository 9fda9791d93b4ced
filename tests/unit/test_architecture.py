"""Guards for the dependency rules of ARCHITECTURE.md §1."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = [
    "agent_assist/egress.py",
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
    *[str(p.relative_to(ROOT)) for p in (ROOT / "agent_assist/scripts").glob("*.py")],
    "agent_assist/summary.py",
    "agent_assist/session.py",
    "agent_assist/privacy.py",
    "agent_assist/config.py",
    "agent_assist/schema.py",
    "agent_assist/locations.py",
    "agent_assist/winpolicy.py",
    "agent_assist/policy.py",
    "agent_assist/marquee/protocol.py",
    "agent_assist/marquee/state.py",
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
    assert (ROOT / module).is_file(), f"core module {module} is missing"  # moved? update CORE
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


# -- the import graph: no app/ui -> cli, no cycles -------------------------------------------

PACKAGES = ("agent_assist", "audio", "kb_cache", "ui")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def _imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports anywhere in it (top level, functions,
    TYPE_CHECKING blocks): ``from a.b import c`` counts as a.b.c when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:  # the deepest project module it names
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imported_modules(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: the graph may be deeper than the recursion limit
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert _cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_lazy_and_relative_imports() -> None:
    graph = _import_graph()
    assert "kb_cache.cache" in graph["agent_assist.cli.kb"]  # imported inside a function
    assert "agent_assist.app.knowledge" in graph["agent_assist.app.main"]
    assert "ui.agent_window" in graph["agent_assist.app.main"]  # under TYPE_CHECKING


def test_there_are_no_import_cycles_anywhere() -> None:
    assert _cycles(_import_graph()) == []


@pytest.mark.parametrize("package", ["agent_assist.app", "ui", "audio", "kb_cache"])
def test_only_the_command_line_imports_the_command_line(package: str) -> None:
    """The app and the adapters call libraries (kb_cache, ...), never agent_assist.cli."""
    graph = _import_graph()
    offenders = {
        name: sorted(
            t for t in targets if t == "agent_assist.cli" or t.startswith("agent_assist.cli.")
        )
        for name, targets in graph.items()
        if name == package or name.startswith(package + ".")
    }
    assert {name: cli for name, cli in offenders.items() if cli} == {}
