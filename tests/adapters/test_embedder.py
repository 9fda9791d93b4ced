"""The offline embedder against vectors from the full-precision model (tests/data/minilm_reference.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent_assist.errors import KnowledgeError
from kb_cache.embedder import DIMENSIONS, Embedder

REFERENCE = json.loads((Path(__file__).parents[1] / "data" / "minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_int8_vectors_stay_close_to_the_full_precision_model(embedder: Embedder) -> None:
    # int8 products (scripts/build-embedding-model) move a vector by a cosine of about 0.01;
    # the least faithful are the degenerate texts ("" and "hello"), at about 0.98
    ours = embedder.embed(REFERENCE["sentences"])
    reference = np.array(REFERENCE["vectors"], dtype=np.float32)
    cosines = np.sum(ours * reference, axis=1)
    report = list(zip(REFERENCE["sentences"], cosines.round(4), strict=True))
    assert cosines.min() >= 0.97, report
    assert cosines.mean() >= 0.99, report


def test_int8_similarities_stay_close_to_the_full_precision_model(embedder: Embedder) -> None:
    # what search compares: the cosine between two texts
    ours = embedder.embed(REFERENCE["sentences"])
    reference = np.array(REFERENCE["vectors"], dtype=np.float32)
    drift = np.abs(ours @ ours.T - reference @ reference.T)
    assert drift.max() <= 0.05


def test_vectors_are_unit_length_and_the_right_size(embedder: Embedder) -> None:
    vectors = embedder.embed(["my card has not arrived", "hello"])
    assert vectors.shape == (2, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_a_vector(embedder: Embedder) -> None:
    texts = ["short", "a somewhat longer sentence about a card that never arrived", "pin blocked"]
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_similar_questions_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    a, b, c = embedder.embed(
        ["where is my new card", "my card still hasn't come", "change my address"]
    )
    assert a @ b > a @ c + 0.2


def test_no_texts_is_an_empty_array(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, DIMENSIONS)


def test_the_shipped_model_is_the_one_its_checksum_names() -> None:
    import hashlib

    from kb_cache.embedder import MODEL_FILE, MODEL_SHA256

    assert hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest() == MODEL_SHA256


def test_a_damaged_shipped_model_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kb_cache.embedder as embedder_module

    damaged = tmp_path / "minilm-l6-v2-int8.onnx"
    original = embedder_module.MODEL_FILE.read_bytes()
    damaged.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    monkeypatch.setattr(embedder_module, "MODEL_FILE", damaged)
    with pytest.raises(KnowledgeError, match=r"is damaged .* reinstall Agent Assist"):
        Embedder().embed(["x"])


def test_a_missing_shipped_model_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kb_cache.embedder as embedder_module

    monkeypatch.setattr(embedder_module, "MODEL_FILE", tmp_path / "gone.onnx")
    with pytest.raises(KnowledgeError, match="is missing; reinstall Agent Assist"):
        Embedder().model_id  # noqa: B018


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(KnowledgeError, match="cannot load the embedding model"):
        Embedder(model_path=bad).embed(["x"])
