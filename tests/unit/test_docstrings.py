"""Docstrings state the contract of every public name of the core and the adapters.

Public: a module, and every class, function or method whose name does not start
with ``_``, in a module whose path has no part starting with ``_`` (``__init__``
counts as public). The composition root (``agent_assist/app``, ``agent_assist/cli``)
is left out: it wires, it does not offer an API.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent_assist", "audio", "kb_cache", "ui")
COMPOSITION_ROOT = ("agent_assist/app", "agent_assist/cli", "agent_assist/__main__.py")


def _modules() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if str(rel).startswith(COMPOSITION_ROOT):
                continue
            if any(p.startswith("_") and p != "__init__.py" for p in rel.parts):
                continue
            found.append(path)
    return found


def _undocumented(tree: ast.Module) -> list[str]:
    missing = [] if ast.get_docstring(tree) else ["(the module)"]

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name.startswith("_"):
                continue
            if ast.get_docstring(node) is None:
                missing.append(f"{prefix}{node.name} (line {node.lineno})")
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return missing


MODULES = _modules()


def test_the_scan_covers_the_core_and_every_adapter() -> None:
    names = {str(p.relative_to(ROOT)) for p in MODULES}
    assert {
        "agent_assist/events.py",
        "agent_assist/marquee/state.py",
        "audio/recognizer.py",
    } <= names
    assert {"kb_cache/search.py", "ui/ticker.py"} <= names
    assert not any(n.startswith(("agent_assist/app/", "agent_assist/cli/")) for n in names)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_public_name_has_a_docstring(path: Path) -> None:
    missing = _undocumented(ast.parse(path.read_text(), filename=str(path)))
    assert not missing, f"{path.relative_to(ROOT)}: no docstring on " + ", ".join(missing)


def test_the_check_finds_a_missing_docstring() -> None:
    tree = ast.parse(
        '"""Doc."""\nclass A:\n    """Doc."""\n    def f(self): pass\n    def _g(self): pass\n'
    )
    assert _undocumented(tree) == ["A.f (line 4)"]
