"""Stored embeddings and the in-memory index the semantic search reads.

**On disk** each vector is 384 signed bytes: the unit vector scaled so its
largest component is 127 and rounded (int8). Cosine is invariant to scale, so
the search re-normalises what it reads; the rounding moves cosines by about
0.001 (bench/kb.py measures it). Caches written before schema 2 hold float16
vectors (768 bytes); they are still read.

**The index** holds every unit vector (titles, tag lines, passages, trigger
and learned phrasings) grouped by article. An article's semantic score for a
query is ``CENTROID_WEIGHT`` x the cosine to the mean of its units plus the
rest x the mean cosine of its ``TOP_UNITS`` nearest units: the mean rewards an
article that is about the question as a whole, the nearest units the step that
answers it. (Chosen on the dev split of bench/kb_eval.py, never its held-out
queries.)

Articles are scored exactly, but only the candidates: those owning one of the
``NEIGHBOURS`` units nearest to the query, plus any the caller adds (keyword
hits). Up to ``BRUTE_FORCE_MAX`` units the nearest are found by brute force
over a float32 matrix; above it (a cache of tens of thousands of articles), an
inverted-file index (k-means cells, the ``probe`` nearest cells searched) over
the int8 codes keeps memory at a byte per dimension and the search in
milliseconds; bench/kb.py measures its recall against brute force.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "BRUTE_FORCE_MAX",
    "CENTROID_WEIGHT",
    "TOP_UNITS",
    "VectorIndex",
    "decode",
    "encode",
]

DIMENSIONS = 384
CENTROID_WEIGHT = 0.3
TOP_UNITS = 2
NEIGHBOURS = 64
BRUTE_FORCE_MAX = 60_000
Floats = npt.NDArray[np.float32]


def encode(vector: Floats) -> bytes:
    """A unit vector as 384 int8 bytes (largest component = 127)."""
    peak = float(np.abs(vector).max()) or 1.0
    return np.round(vector * (127.0 / peak)).astype(np.int8).tobytes()


def decode(blobs: Sequence[bytes]) -> npt.NDArray[np.int8]:
    """Stored vectors as an int8 matrix (float16 vectors of older caches are converted)."""
    out = np.zeros((len(blobs), DIMENSIONS), dtype=np.int8)
    int8 = [i for i, b in enumerate(blobs) if len(b) == DIMENSIONS]
    if int8:
        out[int8] = np.frombuffer(b"".join(blobs[i] for i in int8), dtype=np.int8).reshape(
            -1, DIMENSIONS
        )
    legacy = [i for i, b in enumerate(blobs) if len(b) != DIMENSIONS]
    if legacy:
        values = np.frombuffer(b"".join(blobs[i] for i in legacy), dtype=np.float16)
        values = values.reshape(-1, DIMENSIONS).astype(np.float32)
        peak = np.maximum(np.abs(values).max(axis=1, keepdims=True), 1e-9)
        out[legacy] = np.round(values * (127.0 / peak)).astype(np.int8)
    return out


class VectorIndex:
    """Unit vectors of ``ids`` (article ids); ``owner[i]`` is unit i's article (sorted)."""

    def __init__(
        self,
        codes: npt.NDArray[np.int8],
        owner: npt.NDArray[np.int32],
        ids: list[str],
        *,
        cells: int | None = None,
        probe: int = 12,
        seed: int = 0,
    ) -> None:
        if len(owner) and np.any(np.diff(owner) < 0):
            raise ValueError("units must be grouped by article")
        self.ids = ids
        self.codes = codes
        self.owner = owner
        norms = np.linalg.norm(codes.astype(np.float32), axis=1)
        self.scale = (1.0 / np.maximum(norms, 1e-9)).astype(np.float32)
        bounds = np.searchsorted(owner, np.arange(len(ids) + 1))
        self.starts, self.ends = bounds[:-1], bounds[1:]
        self.probe = probe
        self._dense: Floats | None = None
        self._cell_centres: Floats | None = None
        self._cell_order: npt.NDArray[np.int64] | None = None
        self._cell_bounds: npt.NDArray[np.int64] | None = None
        if len(codes) <= BRUTE_FORCE_MAX and cells is None:
            self._dense = self.rows(np.arange(len(codes)))
        elif len(codes):
            self._build_cells(cells or max(64, int(np.sqrt(len(codes)))), seed)

    def __len__(self) -> int:
        return len(self.codes)

    def rows(self, index: npt.NDArray[np.int64]) -> Floats:
        """Units ``index`` as unit float32 vectors."""
        rows: Floats = self.codes[index].astype(np.float32) * self.scale[index, None]
        return rows

    def _build_cells(self, cells: int, seed: int) -> None:
        """k-means cells (on a sample) and every unit's cell, units stored cell by cell."""
        rng = np.random.default_rng(seed)
        sample = self.rows(rng.choice(len(self.codes), min(len(self.codes), 40 * cells), False))
        centres = sample[rng.choice(len(sample), cells, replace=False)]
        for _ in range(6):
            assign = np.argmax(sample @ centres.T, axis=1)
            for c in range(cells):
                members = sample[assign == c]
                if len(members):
                    centres[c] = members.mean(axis=0)
            centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-9)
        cell = np.empty(len(self.codes), dtype=np.int64)
        for start in range(0, len(self.codes), 32_768):
            block = self.rows(np.arange(start, min(start + 32_768, len(self.codes))))
            cell[start : start + len(block)] = np.argmax(block @ centres.T, axis=1)
        self._cell_order = np.argsort(cell, kind="stable")
        self._cell_bounds = np.searchsorted(cell[self._cell_order], np.arange(cells + 1))
        self._cell_centres = centres

    def nearest(self, query: Floats, k: int = NEIGHBOURS) -> npt.NDArray[np.int64]:
        """Indices of (about) the ``k`` units nearest to ``query``, by cosine."""
        if not len(self.codes):
            return np.zeros(0, dtype=np.int64)
        if self._dense is not None:
            pool = np.arange(len(self.codes))
            similarity = self._dense @ query
        else:
            assert self._cell_centres is not None
            assert self._cell_order is not None
            assert self._cell_bounds is not None
            near = np.argsort(-(self._cell_centres @ query))[: self.probe]
            pool = np.concatenate(
                [self._cell_order[self._cell_bounds[c] : self._cell_bounds[c + 1]] for c in near]
            )
            similarity = self.rows(pool) @ query
        k = min(k, len(pool))
        if not k:
            return np.zeros(0, dtype=np.int64)
        best = np.argpartition(-similarity, k - 1)[:k]
        return np.asarray(pool[best], dtype=np.int64)

    def candidates(self, query: Floats, k: int = NEIGHBOURS) -> set[int]:
        """Articles (positions in ``ids``) owning one of the ``k`` units nearest to ``query``."""
        return {int(a) for a in self.owner[self.nearest(query, k)]}

    def score(self, query: Floats, articles: Iterable[int]) -> dict[int, tuple[float, float]]:
        """(semantic score, cosine of the nearest unit) of each article, both in [0, 1]."""
        out: dict[int, tuple[float, float]] = {}
        for a in articles:
            start, end = int(self.starts[a]), int(self.ends[a])
            if start == end:
                continue
            units = (
                self._dense[start:end]
                if self._dense is not None
                else self.rows(np.arange(start, end))
            )
            similarity = units @ query
            centre = units.sum(axis=0)
            centre_cos = float(centre @ query) / max(float(np.linalg.norm(centre)), 1e-9)
            top = np.sort(similarity)[::-1][:TOP_UNITS]
            semantic = CENTROID_WEIGHT * centre_cos + (1 - CENTROID_WEIGHT) * float(top.mean())
            out[a] = (max(0.0, semantic), max(0.0, float(top[0])))
        return out
