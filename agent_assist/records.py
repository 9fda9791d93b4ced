"""Frozen dataclasses <-> JSON-ready dicts, validated from their type hints (sans-I/O).

Shared by the event vocabulary (lenient: unknown fields are ignored, so newer
producers can talk to older consumers) and the marquee protocol (strict:
unknown fields are an error). Supported field types: ``str``, ``int``,
``float``, ``bool``, ``Literal[...]`` of strings, ``X | None``, ``tuple[X, ...]``
and nested dataclasses. Optional fields that are ``None`` are left out.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

__all__ = ["record_from_dict", "record_to_dict"]

ErrorFactory = Callable[[str], Exception]


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    hint: Any
    required: bool


_SPECS: dict[type, tuple[_FieldSpec, ...]] = {}


def _specs(cls: type) -> tuple[_FieldSpec, ...]:
    specs = _SPECS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        specs = tuple(
            _FieldSpec(
                f.name,
                hints[f.name],
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
        )
        _SPECS[cls] = specs
    return specs


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return record_to_dict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def record_to_dict(record: object) -> dict[str, object]:
    """The JSON-ready dict of a dataclass instance, fields in declaration order."""
    out: dict[str, object] = {}
    for spec in _specs(type(record)):
        value = getattr(record, spec.name)
        if value is None and not spec.required:
            continue
        out[spec.name] = _plain(value)
    return out


def _check(value: object, hint: Any, where: str, strict: bool, error: ErrorFactory) -> object:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _check(value, inner, where, strict, error)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if not isinstance(value, str) or value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise error(f"{where} must be one of {choices}, not {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise error(f"{where} must be a list")
        item_hint = typing.get_args(hint)[0]
        return tuple(
            _check(v, item_hint, f"{where}[{i}]", strict, error) for i, v in enumerate(value)
        )
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error(f"{where} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise error(f"{where} must be finite")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise error(f"{where} must be a whole number, not {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise error(f"{where} must be true or false, not {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise error(f"{where} must be a string, not {value!r}")
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise error(f"{where} must be an object")
        return record_from_dict(hint, value, where=where, strict=strict, error=error)
    raise TypeError(f"unsupported field type {hint!r}")  # a bug in a declaration, not input


def record_from_dict(
    cls: type,
    data: Mapping[str, object],
    *,
    where: str,
    strict: bool,
    error: ErrorFactory,
    ignore: tuple[str, ...] = (),
) -> Any:
    """Build ``cls`` from ``data``, validating every field; ``error(message)`` is raised.

    ``strict`` rejects keys the class does not declare (except those in ``ignore``).
    """
    specs = _specs(cls)
    if strict:
        known = {s.name for s in specs} | set(ignore)
        unknown = sorted(k for k in data if k not in known)
        if unknown:
            raise error(f"{where} has unknown field {unknown[0]!r}")
    kwargs: dict[str, object] = {}
    for spec in specs:
        if spec.name in data:
            kwargs[spec.name] = _check(
                data[spec.name], spec.hint, f"{where}.{spec.name}", strict, error
            )
        elif spec.required:
            raise error(f"{where} is missing {spec.name!r}")
    return cls(**kwargs)
