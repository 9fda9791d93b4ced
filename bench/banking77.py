"""Where the BANKING77 training file is (shared/data beside the checkout or a worktree above it)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["train_csv"]


def train_csv() -> Path:
    """``AGENT_ASSIST_BANKING77`` if set, else the first ``shared/data/banking77/train.csv`` above."""
    override = os.environ.get("AGENT_ASSIST_BANKING77")
    if override:
        return Path(override)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "data" / "banking77" / "train.csv"
        if candidate.is_file():
            return candidate
    return here.parents[2] / "shared" / "data" / "banking77" / "train.csv"
