"""Oversized, over-nested and over-compressed input: one clear line, no traceback, nothing lost."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agent_assist.bundle import create_bundle, open_bundle
from agent_assist.errors import KnowledgeImportError, SyncError, UnsafeArchiveError
from agent_assist.limits import MAX_LINE
from agent_assist.signing import VerificationError, generate_key
from audio.models import ModelStore
from kb_cache.importer import parse_path
from kb_cache.store import open_cache
from kb_cache.sync import apply_sync
from tests.adapters.test_models import MODEL_FILES

GOOD_EVENT = '{"type":"call","t":0.0,"state":"started"}'


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", *args],
        input=stdin, capture_output=True, timeout=120, check=False,
    )  # fmt: skip


def test_analyze_skips_a_line_over_the_limit_and_goes_on(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    with open(events, "w") as f:
        f.write(GOOD_EVENT + "\n")
        f.write('{"type":"utterance","text":"' + "x" * (3 * MAX_LINE) + '"}\n')  # 3 MiB
        f.write(GOOD_EVENT.replace("0.0", "1.0") + "\n")
    done = run("analyze", str(events))
    assert done.returncode == 0
    assert done.stderr.decode().strip() == (
        f"agent-assist: {events}: line 2: longer than 1 MiB; skipped"
    )
    assert done.stdout.decode().splitlines() == [GOOD_EVENT, GOOD_EVENT.replace("0.0", "1.0")]


def test_analyze_reports_deep_nesting_by_line(tmp_path: Path) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    done = run("analyze", "-", stdin=f"{GOOD_EVENT}\n{deep}\n".encode())
    assert done.returncode == 0
    assert "Traceback" not in done.stderr.decode()
    assert "line 2: the line is nested deeper than 32 levels; skipped" in done.stderr.decode()


def test_kb_import_refuses_an_oversized_or_over_nested_line_by_file_and_line(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text(
        '{"id":"a","title":"t","body":"b"}\n{"id":"b","title":"' + "x" * MAX_LINE + '"}\n'
    )
    with pytest.raises(KnowledgeImportError, match=r"big\.jsonl:2: line longer than 1 MiB"):
        parse_path(big)
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"id":"a","title":"t","body":"b","tags":' + "[" * 100 + "]" * 100 + "}\n")
    with pytest.raises(KnowledgeImportError, match=r"deep\.jsonl:1: line nested deeper than 8"):
        parse_path(deep)


def test_kb_import_refuses_bad_text_and_an_oversized_csv_field(tmp_path: Path) -> None:
    surrogate = tmp_path / "s.jsonl"
    surrogate.write_text('{"id":"a","title":"t\\ud800","body":"b"}\n')
    with pytest.raises(KnowledgeImportError, match=r"s\.jsonl:1: 'title' contains U\+D800"):
        parse_path(surrogate)
    bidi = tmp_path / "b.jsonl"
    bidi.write_text('{"id":"a","title":"t","body":"pay \\u202e0001"}\n')
    with pytest.raises(KnowledgeImportError, match=r"'body' contains U\+202E"):
        parse_path(bidi)
    wide = tmp_path / "w.csv"
    wide.write_text("id,title,body\na,t," + "x" * (MAX_LINE + 10) + "\n")
    with pytest.raises(KnowledgeImportError, match=r"w\.csv:\d+: not valid CSV"):
        parse_path(wide)


def test_kb_import_cli_says_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    done = run("kb", "import", str(deep), "--db", str(tmp_path / "kb.db"), "--no-embed")
    assert done.returncode == 1
    assert done.stderr.decode().count("\n") == 1
    assert "nested deeper" in done.stderr.decode()


def test_a_deeply_nested_sync_payload_changes_nothing(tmp_path: Path) -> None:
    db = open_cache(tmp_path / "kb.db")
    payload = '{"format":1,"since":0,"version":1,"articles":' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(SyncError, match="nested deeper than 8"):
        apply_sync(db, payload, embedder=None)
    assert db["articles"].count == 0


def test_a_sync_phrasing_that_is_not_plain_text_changes_nothing(tmp_path: Path) -> None:
    db = open_cache(tmp_path / "kb.db")
    article = {"id": "card-arrival", "title": "Card arrival", "body": "Check the address."}
    payload = {
        "format": 1,
        "since": 0,
        "version": 1,
        "articles": [article],
        "phrasings": [
            {"article_id": "card-arrival", "text": "my card never came"},
            {"article_id": "card-arrival", "text": "where is my \u202ecard"},
        ],
    }
    with pytest.raises(SyncError, match=r"phrasing 1 contains U\+202E"):
        apply_sync(db, payload, embedder=None)
    assert db["articles"].count == 0
    assert db["phrasings"].count == 0


def zip_bomb(path: Path, size: int) -> Path:
    """A model-shaped zip whose graph file is ``size`` zero bytes (deflated ~1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in MODEL_FILES.items():
            zf.writestr(f"m/{name}", data)
        with zf.open("m/graph/zeros.bin", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(block)
    return path


def test_a_zip_bomb_model_is_refused_before_anything_is_unpacked(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "bomb.zip", 200 << 20)
    assert bomb.stat().st_size < 1 << 20
    store = ModelStore(root=tmp_path / "models")
    with pytest.raises(
        UnsafeArchiveError, match=r"bomb\.zip refused: it would unpack .* a zip bomb"
    ):
        store.install(str(bomb))
    assert [p.name for p in store.root.iterdir()] == []
    done = run("models", "install", "--from", str(bomb), "--models-dir", str(tmp_path / "m2"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr.decode()
    assert done.stderr.decode().splitlines()[-1].startswith("agent-assist: bomb.zip refused")


def test_a_signed_bundle_that_would_unpack_too_much_is_refused(tmp_path: Path) -> None:
    key = generate_key()
    model = tmp_path / "vosk-model-tiny-xx-0.1"
    for name, data in MODEL_FILES.items():
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_bytes(data)
    with open(model / "graph" / "zeros.bin", "wb") as f:
        f.truncate(200 << 20)  # sparse on disk, 200 MiB of zeros in the bundle
    bundle = tmp_path / "bundle.zip"
    create_bundle(bundle, key=key, name="site", version="1", model_dir=model)
    dest = tmp_path / "out"
    with pytest.raises(VerificationError, match="a zip bomb"):
        open_bundle(bundle, dest, key=key.public)
    assert not dest.exists() or not any(dest.rglob("*.bin"))
