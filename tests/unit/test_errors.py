"""One exception tree: every exception class in the code is in it, drawn where its docstring says."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from agent_assist import errors
from agent_assist.errors import AgentAssistError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent_assist", "audio", "kb_cache", "ui")


def _drawn_tree() -> dict[str, str]:
    """{class name: parent name} as drawn in agent_assist/errors.py's docstring."""
    parents: dict[str, str] = {}
    path: list[str] = ["AgentAssistError"]
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    ((?:[│ ]   )*)[├└]── (\w+)", line)  # the block is indented 4
        if match is None:
            continue
        depth = len(match.group(1)) // 4 + 1
        del path[depth:]
        parents[match.group(2)] = path[-1]
        path.append(match.group(2))
    return parents


def _exception_classes() -> list[type[BaseException]]:
    """Every exception class defined at module level in the application's packages."""
    found: list[type[BaseException]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "__main__.py":
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            names = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.bases]
            if not names:
                continue
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = importlib.import_module(dotted.removesuffix(".__init__"))
            for name in names:
                cls = getattr(module, name)
                if isinstance(cls, type) and issubclass(cls, BaseException):
                    found.append(cls)
    return found


EXCEPTIONS = _exception_classes()


def test_the_scan_finds_the_exceptions_outside_errors_py() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"AgentAssistError", "ProtocolError", "PinMismatchError"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_exception_is_in_the_tree(cls: type[BaseException]) -> None:
    assert issubclass(cls, AgentAssistError), f"{cls.__module__}.{cls.__name__} is outside it"


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_exception_is_drawn_under_its_parent(cls: type[BaseException]) -> None:
    if cls is AgentAssistError:
        return
    drawn = _drawn_tree()
    assert cls.__name__ in drawn, f"{cls.__name__} is not drawn in agent_assist/errors.py"
    parent = next(c for c in cls.__mro__[1:] if issubclass(c, AgentAssistError))
    assert drawn[cls.__name__] == parent.__name__


def test_everything_drawn_exists() -> None:
    assert set(_drawn_tree()) == {c.__name__ for c in EXCEPTIONS} - {"AgentAssistError"}


def test_a_pin_mismatch_is_still_an_ssl_verification_error() -> None:
    """TLS layers must fail the handshake as for any untrusted certificate."""
    import ssl

    from agent_assist.marquee.tls import PinMismatchError

    assert issubclass(PinMismatchError, ssl.SSLCertVerificationError)
