"""The stored vectors (int8) and the vector index: exact scores, and cells that keep recall."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kb_cache.vectors import CENTROID_WEIGHT, VectorIndex, decode, encode


def unit(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return out


def clustered(articles: int, per: int, seed: int = 3) -> npt.NDArray[np.float32]:
    """Unit vectors around a few topics (as sentence embeddings are), ``per`` per article."""
    rng = np.random.default_rng(seed)
    topics = unit(rng.standard_normal((40, 384)).astype(np.float32))
    centre = topics[rng.integers(0, 40, articles)] + 0.6 * unit(
        rng.standard_normal((articles, 384)).astype(np.float32)
    )
    units = np.repeat(centre, per, axis=0) + 0.5 * unit(
        rng.standard_normal((articles * per, 384)).astype(np.float32)
    )
    return unit(units.astype(np.float32))


def index_of(vectors: npt.NDArray[np.float32], per: int, **options: int) -> VectorIndex:
    codes = decode([encode(v) for v in vectors])
    owner = np.repeat(np.arange(len(vectors) // per), per).astype(np.int32)
    return VectorIndex(codes, owner, [f"a{i}" for i in range(len(vectors) // per)], **options)


def test_int8_storage_keeps_cosines_within_a_hundredth() -> None:
    vectors = clustered(50, 4)
    stored = unit(decode([encode(v) for v in vectors]).astype(np.float32))
    assert float(np.max(np.abs(np.sum(stored * vectors, axis=1) - 1.0))) < 0.01


def test_float16_vectors_of_older_caches_are_read() -> None:
    vector = clustered(1, 1)[0]
    (code,) = decode([vector.astype(np.float16).tobytes()])
    assert float(unit(code.astype(np.float32)) @ vector) > 0.999


def test_an_articles_score_is_its_centroid_and_two_nearest_units() -> None:
    vectors = clustered(10, 3)
    index = index_of(vectors, 3)
    query = vectors[4]
    scores = index.score(query, range(10))
    stored = unit(decode([encode(v) for v in vectors]).astype(np.float32))
    for article in (0, 1):
        units = stored[article * 3 : article * 3 + 3]
        sims = np.sort(units @ query)[::-1]
        centre = units.sum(axis=0)
        want = CENTROID_WEIGHT * float(centre @ query) / float(np.linalg.norm(centre)) + (
            1 - CENTROID_WEIGHT
        ) * float(sims[:2].mean())
        assert abs(scores[article][0] - max(0.0, want)) < 1e-3  # centroids kept as float16
        assert abs(scores[article][1] - max(0.0, float(sims[0]))) < 1e-5


def test_cells_find_what_brute_force_finds() -> None:
    vectors = clustered(4000, 5)  # 20,000 units
    exact = index_of(vectors, 5)
    cells = index_of(vectors, 5, cells=64)
    rng = np.random.default_rng(9)
    queries = unit(vectors[rng.choice(len(vectors), 50)] + 0.3 * unit(
        rng.standard_normal((50, 384)).astype(np.float32)
    ))  # fmt: skip
    found = 0
    for q in queries:
        twentieth = np.sort(exact.rows(exact.nearest(q, 20)) @ q)[0]
        found += int(np.sum(cells.rows(cells.nearest(q, 20)) @ q >= twentieth - 1e-6))
    assert found / (50 * 20) > 0.9  # recall@20 of the nearest units
    q = queries[0]
    top_exact = sorted(exact.score(q, exact.candidates(q)).items(), key=lambda kv: -kv[1][0])[0]
    top_cells = sorted(cells.score(q, cells.candidates(q)).items(), key=lambda kv: -kv[1][0])[0]
    assert top_exact[0] == top_cells[0]
    assert abs(top_exact[1][0] - top_cells[1][0]) < 1e-5  # scored exactly either way
