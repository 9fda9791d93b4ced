"""Killed mid-write: a real ``kill -9`` of an import or a sync leaves the old or the new cache.

Each run copies a cache of 5,000 "old" articles, starts writing 20,000 "new" ones in a
subprocess and kills it (SIGKILL: no cleanup) at a random moment, some while the
write-ahead log is growing. Afterwards the cache must hold exactly the old articles
or exactly the new ones, with its full-text index agreeing: never a mixture. The sync
also carries approved customer phrasings (one per new article): they arrive with the
articles in the same transaction, or not at all.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb_cache.store import open_cache

pytestmark = pytest.mark.slow
OLD, NEW = 5_000, 20_000
PHRASINGS = {"import": 0, "sync": NEW}  # approved phrasings a complete write leaves


def records(count: int, label: str) -> list[dict[str, object]]:
    return [
        {
            "id": f"art-{i:05d}",
            "title": f"Article {i} {label}",
            "body": f"{label} steps. " * 20,
            "triggers": [f"how do I {label} thing {i}"],
        }
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("atomic")
    (folder / "old.jsonl").write_text("\n".join(json.dumps(r) for r in records(OLD, "old")))
    (folder / "new.jsonl").write_text("\n".join(json.dumps(r) for r in records(NEW, "new")))
    payload = {
        "format": 1,
        "since": 0,
        "version": 7,
        "articles": records(NEW, "new"),
        "deleted": [],
        "phrasings": [
            {"article_id": f"art-{i:05d}", "text": f"my new thing {i} is stuck"} for i in range(NEW)
        ],
    }
    (folder / "sync.json").write_text(json.dumps(payload))
    out = subprocess.run(
        [sys.executable, "-m", "agent_assist", "kb", "import", str(folder / "old.jsonl"),
         "--db", str(folder / "base.db"), "--no-embed"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return folder


def state(db_path: Path, how: str) -> str:
    """'old', 'new', or a description of the mixture found."""
    db = open_cache(db_path)
    titles = {row[0]: row[1] for row in db.execute("SELECT id, title FROM articles")}
    indexed = db.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
    learned = db.execute("SELECT count(*) FROM phrasings WHERE state = 'approved'").fetchone()[0]
    db.conn.close()
    for label, count, phrasings in (("old", OLD, 0), ("new", NEW, PHRASINGS[how])):
        want = {f"art-{i:05d}": f"Article {i} {label}" for i in range(count)}
        if titles == want and indexed == count and learned == phrasings:
            return label
    return f"mixed: {len(titles)} articles, {indexed} indexed, {learned} phrasings"


def kill_during(command: list[str], db_path: Path, *, after_wal: bool, rng: random.Random) -> int:
    """Start ``command``, SIGKILL it at a random moment; returns its exit code."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = db_path.with_name(db_path.name + "-wal")
    start = time.monotonic()
    if after_wal:  # wait until the transaction is being written
        size = wal.stat().st_size if wal.exists() else 0
        while process.poll() is None and time.monotonic() - start < 30:
            if wal.exists() and wal.stat().st_size > size + 64 * 1024:
                break
            time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.8 if after_wal else 2.5))
    process.send_signal(signal.SIGKILL)
    return process.wait(30)


@pytest.mark.parametrize("how", ["import", "sync"])
def test_a_write_killed_at_any_moment_leaves_old_or_new(
    prepared: Path, tmp_path: Path, how: str
) -> None:
    rng = random.Random(13)
    outcomes = []
    for run in range(6):
        db_path = tmp_path / f"{how}-{run}.db"
        shutil.copy(prepared / "base.db", db_path)
        if how == "import":
            command = [sys.executable, "-m", "agent_assist", "kb", "import",
                       str(prepared / "new.jsonl"), "--db", str(db_path), "--no-embed"]  # fmt: skip
        else:
            command = [sys.executable, "-c",
                       "import sys; from kb_cache.store import open_cache; from kb_cache.sync import apply_sync; "
                       "apply_sync(open_cache(sys.argv[1]), open(sys.argv[2], 'rb').read(), embedder=None)",
                       str(db_path), str(prepared / "sync.json")]  # fmt: skip
        code = kill_during(command, db_path, after_wal=run % 2 == 1, rng=rng)
        outcomes.append((code, state(db_path, how)))
    db_path = tmp_path / f"{how}-whole.db"  # and left alone, the same write gives "new"
    shutil.copy(prepared / "base.db", db_path)
    command[command.index(str(tmp_path / f"{how}-5.db"))] = str(db_path)
    assert subprocess.run(command, capture_output=True, timeout=300, check=False).returncode == 0
    assert state(db_path, how) == "new"
    assert all(found in ("old", "new") for _, found in outcomes), outcomes
    killed = [found for code, found in outcomes if code == -signal.SIGKILL]
    assert "old" in killed  # the kills did land before the commit (the test tested something)
