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


def test_int8_vectors_match_the_full_precision_model(embedder: Embedder) -> None:
    ours = embedder.embed(REFERENCE["sentences"])
    reference = np.array(REFERENCE["vectors"], dtype=np.float32)
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() >= 0.99, list(zip(REFERENCE["sentences"], cosines.round(4), strict=True))


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


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(KnowledgeError, match="cannot load the embedding model"):
        Embedder(model_path=bad).embed(["x"])
