"""Bounds on untrusted input (sans-I/O): JSON size and nesting depth, plain text.

Every reader of outside data (the marquee protocol, event JSON Lines, knowledge
imports and sync payloads) parses JSON through :func:`loads`, so a line nested
200,000 deep or a 50 MB line is one clear error instead of a RecursionError or
a memory blow-up. :func:`text_problem` says why a string is not plain text:
an unpaired surrogate (which cannot be stored or re-encoded as UTF-8), a control
character, a bidirectional override or a zero-width character or BOM (which can
make text display as something it is not), or a line break where one line is
expected.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from agent_assist.errors import AgentAssistError

__all__ = [
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "MAX_LINE",
    "MAX_RATIO",
    "MAX_UNPACKED",
    "LimitError",
    "archive_problem",
    "check_depth",
    "loads",
    "text_problem",
]

MAX_LINE = 1 << 20  # bytes in one line of JSON Lines input (analyze, kb import): 1 MiB
MAX_DEPTH = 32  # nested JSON arrays/objects accepted by default
MAX_UNPACKED = (
    8 << 30
)  # bytes an archive (model, bundle) may unpack to: the largest Vosk model is ~3 GB
MAX_RATIO = 100  # unpacked / packed size: models compress ~2:1, zip bombs 1000:1 and more
MAX_ENTRIES = 100_000  # files in one archive
# a whole JSON string (skipped: brackets inside do not count), or a bracket
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


_KINDS = {"Cc": "a control character", "Co": "private use", "Cn": "unassigned"}


class LimitError(AgentAssistError, ValueError):
    """Input over a documented bound (size, nesting depth); the message says which.

    Also a ValueError, so readers that treat malformed input as a ValueError refuse it too;
    each reader translates it at its edge (e.g. into ProtocolError or KnowledgeImportError).
    """


def check_depth(text: str, limit: int) -> None:
    """Raise LimitError if JSON ``text`` nests arrays/objects deeper than ``limit``.

    Linear in the text, and free for the common case (fewer brackets than ``limit``).
    Brackets inside strings do not count.
    """
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for match in _TOKENS.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                raise LimitError(f"nested deeper than {limit} levels")
        elif char in "]}":
            depth -= 1


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` with bounds: at most ``max_bytes`` and ``max_depth`` levels of nesting.

    Raises ValueError (LimitError for a bound, json.JSONDecodeError or
    UnicodeDecodeError for malformed input) and nothing else. NaN and Infinity
    are refused; integers longer than Python's digit limit are a ValueError too.
    """
    if len(data) > max_bytes:
        raise LimitError(f"larger than {_size(max_bytes)}")
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    check_depth(text, max_depth)
    return json.loads(text, parse_constant=_no_constants)


def _size(n: int) -> str:
    if n >= 1 << 30 and n % (1 << 30) == 0:
        return f"{n >> 30} GiB"
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n} bytes"


def archive_problem(
    *,
    unpacked: int,
    packed: int,
    entries: int,
    max_unpacked: int = MAX_UNPACKED,
    max_ratio: float = MAX_RATIO,
    max_entries: int = MAX_ENTRIES,
) -> str | None:
    """Why an archive of ``packed`` bytes declaring ``unpacked`` bytes in ``entries`` files must
    not be unpacked (None if it may)."""
    if entries > max_entries:
        return f"it holds {entries} files, more than {max_entries}"
    if unpacked > max_unpacked:
        return f"it would unpack to {unpacked / 2**30:.1f} GiB, more than {_size(max_unpacked)}"
    if unpacked > max_ratio * max(packed, 1) and unpacked > 1 << 20:
        return (
            f"it would unpack {packed} bytes to {unpacked} ({unpacked / max(packed, 1):.0f}:1, "
            f"more than {max_ratio:g}:1): a zip bomb?"
        )
    return None


def text_problem(text: str, *, lines: bool = False) -> str | None:
    """Why ``text`` is not plain text (None if it is).

    Refused: unpaired surrogates, control characters (tabs too), bidirectional
    controls and overrides, zero-width characters and the BOM, and (unless
    ``lines``) line breaks. ``str.isprintable`` is the test: it is False for
    exactly the Unicode categories Cc, Cf, Cs, Co, Cn, Zl and Zp.
    """
    if text.isprintable():
        return None
    for char in text:
        if lines and char == "\n":
            continue
        if not char.isprintable():
            if char in "\r\n\u2028\u2029":
                return "must be one line"
            if "\ud800" <= char <= "\udfff":
                return "contains an unpaired surrogate (not valid Unicode text)"
            name = unicodedata.name(char, "") or _KINDS.get(unicodedata.category(char), "")
            return (
                f"contains U+{ord(char):04X}{f' ({name})' if name else ''}, which is not plain text"
            )
    return None
