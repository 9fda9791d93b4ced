"""Reading articles for ``kb import`` and ``kb publish``: the ``--from`` option and the parse.

Apart from :mod:`agent_assist.cli.kb` so the knowledge-server commands can use it
without an import cycle.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["from_option", "read_articles"]


def from_option(p: argparse.ArgumentParser) -> None:
    """Add ``--from FORMAT`` (default: detected from the path)."""
    from kb_cache.formats import FORMATS

    p.add_argument(
        "--from",
        dest="fmt",
        choices=FORMATS,
        metavar="FORMAT",
        help=f"the export's format: {', '.join(FORMATS)} (default: detected)",
    )


def read_articles(path: str, fmt: str | None) -> tuple[list[Any], str]:
    """The articles of ``path`` (or the demo) and a note of what was skipped ('' if nothing)."""
    from kb_cache.demo import demo_articles
    from kb_cache.formats import parse

    if path == "demo" and fmt is None:
        return demo_articles(), ""
    parsed = parse(path, fmt)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(parsed.skipped.items()) if n)
    return parsed.articles, f" (skipped: {skipped})" if skipped else ""
