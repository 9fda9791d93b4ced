"""Exporting every article in an import format (so an export re-imports unchanged)."""

from __future__ import annotations

import csv
import json
from typing import TextIO

import sqlite_utils

__all__ = ["export"]

_COLUMNS = ("id", "title", "body", "tags", "triggers", "department", "authority")


def export(db: sqlite_utils.Database, out: TextIO, *, fmt: str = "jsonl") -> int:
    """Write all articles to ``out`` as ``jsonl`` or ``csv``; returns how many."""
    rows = list(db.execute(f"SELECT {', '.join(_COLUMNS)} FROM articles ORDER BY id").fetchall())
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(_COLUMNS)
        for row in rows:
            values = list(row)
            values[3] = "|".join(json.loads(values[3]))
            values[4] = "|".join(json.loads(values[4]))
            writer.writerow(["" if v is None else v for v in values])
    else:
        for row in rows:
            record = dict(zip(_COLUMNS, row, strict=True))
            record["tags"] = json.loads(record["tags"])
            record["triggers"] = json.loads(record["triggers"])
            out.write(
                json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False)
                + "\n"
            )
    return len(rows)
