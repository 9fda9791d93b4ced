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
    "matvec",
]

DIMENSIONS = 384
CENTROID_WEIGHT = 0.3
TOP_UNITS = 2
NEIGHBOURS = 200  # units whose articles are scored (copies of one text are common at scale)
BRUTE_FORCE_MAX = 60_000
PROBE = 8  # cells searched per query
PROJECTED = 64  # dimensions the cells are found in
UNITS_PER_CELL = 1000
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
    """Unit vectors of ``ids`` (article ids); ``owner[i]`` is unit i's article (sorted by it)."""

    def __init__(
        self,
        codes: npt.NDArray[np.int8],
        owner: npt.NDArray[np.int32],
        ids: list[str],
        *,
        cells: int | None = None,
        probe: int = PROBE,
        seed: int = 0,
    ) -> None:
        if len(owner) and np.any(np.diff(owner) < 0):
            raise ValueError("units must be grouped by article")
        self.ids = ids
        self.probe = probe
        bounds = np.searchsorted(owner, np.arange(len(ids) + 1))
        self.starts, self.ends = bounds[:-1], bounds[1:]
        self._dense: Floats | None = None
        self._centres: Floats | None = None  # cells' centres, in the projected space
        self._project: Floats | None = None
        self._cell_bounds: npt.NDArray[np.int64] | None = None
        self.codes, self.owner = codes, owner
        self.by_article = np.arange(len(codes), dtype=np.int64)  # unit positions, by article
        self.scale = self._scales(codes)
        if len(codes) <= BRUTE_FORCE_MAX and cells is None:
            self._dense = self.rows(np.arange(len(codes)))
        elif len(codes):
            self._build_cells(cells or _cells_for(len(codes)), seed)
        self._article_centres = self._centres_of_articles()
        self._last: tuple[Floats, Floats] | None = None  # (query, every unit's similarity)

    def _centres_of_articles(self) -> Floats:
        """Each article's units summed and normalised (float16: 768 bytes an article)."""
        out = np.zeros((len(self.ids), DIMENSIONS), dtype=np.float32)
        present = np.flatnonzero(self.ends > self.starts)
        for block in np.array_split(present, max(1, len(present) // 4096)):
            if not len(block):
                continue
            lengths = self.ends[block] - self.starts[block]
            firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            rows = self.rows(self._positions(block, lengths, firsts))
            out[block] = np.add.reduceat(rows, firsts, axis=0)
        centres: Floats = _unit(out).astype(np.float16)
        return centres

    def _positions(
        self,
        articles: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
        firsts: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Positions (in :attr:`codes`) of the units of ``articles``, article after article."""
        index = np.repeat(self.starts[articles] - firsts, lengths) + np.arange(int(lengths.sum()))
        positions: npt.NDArray[np.int64] = self.by_article[index]
        return positions

    @staticmethod
    def _scales(codes: npt.NDArray[np.int8]) -> Floats:
        norms = np.empty(len(codes), dtype=np.float32)
        for start in range(0, len(codes), 65_536):
            block = codes[start : start + 65_536].astype(np.float32)
            norms[start : start + len(block)] = np.linalg.norm(block, axis=1)
        scale: Floats = (1.0 / np.maximum(norms, 1e-9)).astype(np.float32)
        return scale

    def __len__(self) -> int:
        return len(self.codes)

    def rows(self, index: npt.NDArray[np.int64]) -> Floats:
        """Units at positions ``index`` (of :attr:`codes`) as unit float32 vectors."""
        rows: Floats = self.codes[index].astype(np.float32) * self.scale[index, None]
        return rows

    def _build_cells(self, cells: int, seed: int) -> None:
        """k-means cells, found in a ``PROJECTED``-dimension projection (principal components
        of a sample) so that assigning hundreds of thousands of units takes seconds; then the
        units are stored cell by cell, so a probed cell is one contiguous block."""
        rng = np.random.default_rng(seed)
        sample = self.rows(rng.choice(len(self.codes), min(len(self.codes), 30 * cells), False))
        centred = sample - sample.mean(axis=0)
        _, vectors = np.linalg.eigh(centred.T @ centred)
        self._project = np.ascontiguousarray(vectors[:, ::-1][:, :PROJECTED], dtype=np.float32)
        points = _unit(sample @ self._project)
        centres = points[rng.choice(len(points), cells, replace=False)]
        for _ in range(8):
            assign = np.argmax(points @ centres.T, axis=1)
            sums = np.zeros_like(centres)
            np.add.at(sums, assign, points)
            empty = ~np.any(sums, axis=1)
            sums[empty] = centres[empty]
            centres = _unit(sums)
        cell = np.empty(len(self.codes), dtype=np.int64)
        for start in range(0, len(self.codes), 32_768):
            block = self.rows(np.arange(start, min(start + 32_768, len(self.codes))))
            cell[start : start + len(block)] = np.argmax(
                _unit(block @ self._project) @ centres.T, axis=1
            )
        order = np.argsort(cell, kind="stable")
        self.codes, self.scale, self.owner = self.codes[order], self.scale[order], self.owner[order]
        self.by_article = np.argsort(self.owner, kind="stable")  # positions grouped by article
        self._cell_bounds = np.searchsorted(cell[order], np.arange(cells + 1))
        self._centres = centres

    def nearest(self, query: Floats, k: int = NEIGHBOURS) -> npt.NDArray[np.int64]:
        """Positions (in :attr:`codes`) of (about) the ``k`` units nearest to ``query``."""
        if not len(self.codes):
            return np.zeros(0, dtype=np.int64)
        if self._dense is not None:
            pool = np.arange(len(self.codes))
            similarity = matvec(self._dense, query)
            self._last = (query, similarity)  # score() reads these instead of the vectors
        else:
            assert self._centres is not None
            assert self._project is not None
            assert self._cell_bounds is not None
            probe = min(self.probe, len(self._centres) - 1)
            near = np.argpartition(-(self._centres @ _unit(query @ self._project)), probe)
            blocks = [(self._cell_bounds[c], self._cell_bounds[c + 1]) for c in near[:probe]]
            pool = np.concatenate([np.arange(a, b) for a, b in blocks])
            codes = np.concatenate([self.codes[a:b] for a, b in blocks])  # contiguous copies
            scale = np.concatenate([self.scale[a:b] for a, b in blocks])
            similarity = matvec(codes.astype(np.float32), query) * scale
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
        chosen = np.unique(np.fromiter(articles, dtype=np.int64))
        chosen = chosen[self.ends[chosen] > self.starts[chosen]]
        if not len(chosen):
            return {}
        lengths = self.ends[chosen] - self.starts[chosen]
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # each article's first row
        positions = self._positions(chosen, lengths, offsets)
        if self._last is not None and self._last[0] is query:
            similarity = self._last[1][positions]  # every unit was compared already
        elif self._dense is not None:
            similarity = matvec(self._dense[positions], query)
        else:
            similarity = matvec(self.rows(positions), query)
        centre_cos = matvec(self._article_centres[chosen].astype(np.float32), query)
        segment = np.repeat(np.arange(len(chosen)), lengths)
        ranked = similarity[np.lexsort((-similarity, segment))]  # each article's best first
        best = ranked[offsets]
        second = np.where(lengths > 1, ranked[np.minimum(offsets + 1, len(ranked) - 1)], best)
        top = (best + second) / 2 if TOP_UNITS == 2 else best
        semantic = CENTROID_WEIGHT * centre_cos + (1 - CENTROID_WEIGHT) * top
        return {
            int(a): (max(0.0, float(s)), max(0.0, float(b)))
            for a, s, b in zip(chosen, semantic, best, strict=True)
        }


def matvec(matrix: Floats, vector: Floats, *, block: int = 512) -> Floats:
    """``matrix @ vector``, in blocks of ``block`` rows.

    OpenBLAS runs a larger matrix-vector product on several threads; waking them
    after the embedder ran cost 5-10 ms of CPU per search on a busy 2-core machine
    (bench/kb.py), while blocks this small run on the calling thread in well under
    a millisecond per 2,000 rows.
    """
    if len(matrix) <= block:
        small: Floats = matrix @ vector
        return small
    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), block):
        out[start : start + block] = matrix[start : start + block] @ vector
    return out


def _unit(vectors: Floats) -> Floats:
    out: Floats = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-9)
    return out


def _cells_for(units: int) -> int:
    """About one cell per ``UNITS_PER_CELL`` units (the fewer cells, the faster the build)."""
    return int(min(1024, max(64, units // UNITS_PER_CELL)))
