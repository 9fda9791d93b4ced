"""Finding the right article from how customers actually talk.

Two signals, fused:

* **keyword**: FTS5 BM25 over title, body, triggers and tags (Porter stemming),
  the best score scaled to 1: exact product names, error codes and numbers;
* **semantic**: the query's embedding against every stored unit of an article
  (title, tag line, body passages, trigger and learned phrasings), scored by
  :class:`~kb_cache.vectors.VectorIndex`: a question matches the step that
  answers it even when the article has no example phrasings.

``score = KEYWORD_WEIGHT * keyword + (1 - KEYWORD_WEIGHT) * semantic``. The
weight was chosen on the dev split of bench/kb_eval.py (never on its held-out
queries): a little keyword evidence adds a few points in both modes, more of
it costs accuracy. Without an embedder or stored vectors, or with
``mode="keyword"``, only the keyword signal is used.

A search is *answered* when its best article has a unit close to the query
(cosine >= ``ANSWERED_COSINE``), or, keyword-only, when anything matched at all.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import sqlite_utils

from agent_assist.events import ArticleRef
from agent_assist.privacy import scrub
from agent_assist.suggest import SearchRequest, SearchResults
from kb_cache.embedder import DIMENSIONS, Embedder
from kb_cache.importer import text_hash
from kb_cache.passages import passages
from kb_cache.store import get_meta, now_iso
from kb_cache.vectors import VectorIndex, decode

__all__ = ["ANSWERED_COSINE", "KEYWORD_WEIGHT", "Hit", "KnowledgeBase"]

KEYWORD_WEIGHT = 0.1
ANSWERED_COSINE = 0.55
_FTS_WEIGHTS = "3.0, 1.0, 2.0, 1.0"  # title, body, triggers, tags (the FTS columns, in order)
_TERM = re.compile(r"\w+")
# function words decide BM25 in a small cache ("my", "i"); queries of nothing else keep them
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "mine",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "but",
        "so",
        "if",
        "not",
        "no",
        "can",
        "could",
        "would",
        "should",
        "will",
        "just",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "how",
        "why",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "have",
        "has",
        "had",
        "get",
        "got",
        "im",
    ]
)
_COMMON_DF = 2000  # articles a query term may match before it counts as noise
_RANKED = 2000  # matches BM25 ranks at most (see KnowledgeBase._bm25)
_ENOUGH = 10  # keyword hits from titles, triggers and tags that make searching bodies unnecessary
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: ``score`` in [0, 1]; ``snippet`` has matches in **bold**."""

    id: str
    title: str
    score: float
    snippet: str
    department: str | None
    authority: str | None
    keyword: float
    semantic: float
    closest: float  # cosine of the nearest stored phrasing (0 without embeddings)
    script: str | None = None  # the call script the article names (its tag "script:NAME")

    def to_json(self) -> dict[str, object]:
        """The hit as a JSON object (``kb search --json``)."""
        return {
            "id": self.id,
            "title": self.title,
            "score": self.score,
            "snippet": self.snippet,
            "department": self.department,
            "authority": self.authority,
        }

    def to_ref(self) -> ArticleRef:
        """The hit as the event vocabulary's article reference (what the agent is shown)."""
        return ArticleRef(
            self.id, self.title, self.score, self.snippet, self.department, self.authority,
            script=self.script,
        )  # fmt: skip


class _Index:
    """The :class:`VectorIndex` of a cache, reloaded when its content version changes."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.index = VectorIndex(np.zeros((0, DIMENSIONS), np.int8), np.zeros(0, np.int32), [])
        self.position: dict[str, int] = {}

    def refresh(self, db: sqlite_utils.Database, model: str) -> VectorIndex:
        """The index of the cache's vectors (none if another embedding ``model`` made them)."""
        version = get_meta(db, "content_version", "0")
        if version == self.version:
            return self.index
        made_by = get_meta(db, "embed_model")
        query = "SELECT article_id, vec FROM vectors ORDER BY article_id"
        rows = db.execute(query).fetchall() if made_by in (None, model) else []
        ids: list[str] = []
        owner = np.zeros(len(rows), dtype=np.int32)
        for i, (article_id, _) in enumerate(rows):
            if not ids or ids[-1] != article_id:
                ids.append(article_id)
            owner[i] = len(ids) - 1
        self.index = VectorIndex(decode([row[1] for row in rows]), owner, ids)
        self.position = {article_id: i for i, article_id in enumerate(ids)}
        self.version = version
        return self.index


class KnowledgeBase:
    """Searches one cache. Not thread-safe: use it from the thread that opened ``db``."""

    def __init__(self, db: sqlite_utils.Database, *, embedder: Embedder | None = None) -> None:
        self.db = db
        self.embedder = embedder
        self._index = _Index()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def search(
        self,
        query: str,
        *,
        limit: int = 3,
        mode: Literal["hybrid", "keyword", "semantic"] = "hybrid",
        log: bool = False,
    ) -> list[Hit]:
        """The best ``limit`` articles for ``query``; ``log`` records it for the report.

        ``mode``: both signals fused (``hybrid``), or one alone (for measuring them).
        """
        terms = [t.lower() for t in _TERM.findall(query)][:32]
        embedding = None
        if mode != "keyword" and self.embedder is not None and query.strip():
            # the model and SQLite both release the GIL: embed while the keyword query runs
            embedding = self._pool().submit(self.embedder.embed, [query])
        keyword = self._keyword(terms) if mode != "semantic" else {}
        semantic: dict[str, float] = {}
        closest: dict[str, float] = {}
        vector = embedding.result()[0] if embedding is not None else None
        if vector is not None:
            semantic, closest = self._semantic(vector, keyword)
        # without stored vectors (e.g. imported with --no-embed) keywords carry the whole score
        use_semantic = bool(semantic)
        weight = KEYWORD_WEIGHT if use_semantic else 1.0
        scores = {
            article_id: weight * keyword.get(article_id, 0.0)
            + (1 - weight) * semantic.get(article_id, 0.0)
            for article_id in set(keyword) | set(semantic)
        }
        best = sorted(scores, key=lambda a: (-scores[a], a))[:limit]
        hits = self._hits(
            best, scores, keyword, semantic, closest, terms, vector if semantic else None
        )
        if log:
            self._log(query, hits, semantic_available=use_semantic)
        return hits

    def answer(self, request: SearchRequest) -> SearchResults:
        """Perform a call session's search request (see :mod:`agent_assist.session`)."""
        hits = self.search(request.query, limit=request.limit)
        return SearchResults(request.id, request.t, tuple(h.to_ref() for h in hits))

    def _keyword(self, terms: list[str]) -> dict[str, float]:
        terms = list(dict.fromkeys([t for t in terms if t not in _STOPWORDS] or terms))
        if not terms:
            return {}
        quoted = [f'"{t}"' for t in self._informative(terms)]
        short = "{title triggers tags} : "
        # narrowest first: all words in the short fields (they weigh most), then any word in
        # them, then bodies too; a large cache never ranks every long body sharing a word
        stages = [short + "(" + " OR ".join(quoted) + ")", " OR ".join(quoted)]
        if len(quoted) > 1:
            stages.insert(0, short + "(" + " AND ".join(quoted) + ")")
        rows: list[tuple[str, float]] = []
        for expression in stages:
            rows = self._bm25(expression)
            if len(rows) >= _ENOUGH:
                break
        if not rows:
            return {}
        top = -rows[0][1] or 1.0
        return {row[0]: max(0.0, -row[1]) / top for row in rows}

    def _bm25(self, expression: str) -> list[tuple[str, float]]:
        """The 50 best matches by BM25 among the first ``_RANKED`` matches.

        Ranking every match of a term that thousands of articles share costs tens of
        milliseconds in a large cache, and such a term says little anyway; the
        semantic signal orders those articles.
        """
        rows = self.db.execute(
            f"SELECT rowid, bm25(articles_fts, {_FTS_WEIGHTS}) FROM articles_fts "
            "WHERE articles_fts MATCH ? LIMIT ?",
            [expression, _RANKED],
        ).fetchall()
        best = sorted(rows, key=lambda row: row[1])[:50]
        if not best:
            return []
        ids = dict(
            self.db.execute(
                f"SELECT rowid, id FROM articles WHERE rowid IN ({','.join('?' * len(best))})",
                [row[0] for row in best],
            ).fetchall()
        )
        return [(ids[row[0]], row[1]) for row in best if row[0] in ids]

    def _informative(self, terms: list[str]) -> list[str]:
        """Drop terms found in more than ``_COMMON_DF`` articles (keeping the two rarest).

        They carry little information and cost the most: BM25 is computed for every
        matching row. A cache the size of a real knowledge base never prunes anything.
        """
        if len(terms) <= 2:
            return terms
        df = {
            t: self.db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? LIMIT ?)",
                [f'"{t}"', _COMMON_DF + 1],
            ).fetchone()[0]
            for t in terms
        }
        rare = [t for t in terms if df[t] <= _COMMON_DF]
        return rare if len(rare) >= 2 else sorted(terms, key=lambda t: df[t])[:2]

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-embed")
        return self._executor

    def _semantic(
        self, vector: npt.NDArray[np.float32], keyword: dict[str, float]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Semantic scores (and nearest-unit cosines) of the articles near ``vector``.

        Keyword hits are scored too, so fusing never misses an article because
        its units were not among the nearest.
        """
        with self._lock:
            index = self._index.refresh(self.db, self.embedder.name if self.embedder else "")
            position = self._index.position
        if not len(index):
            return {}, {}
        candidates = index.candidates(vector)
        candidates.update(position[a] for a in keyword if a in position)
        scored = index.score(vector, candidates)
        semantic = {index.ids[a]: s for a, (s, _) in scored.items()}
        closest = {index.ids[a]: c for a, (_, c) in scored.items()}
        return semantic, closest

    def _hits(
        self,
        ids: list[str],
        scores: dict[str, float],
        keyword: dict[str, float],
        semantic: dict[str, float],
        closest: dict[str, float],
        terms: list[str],
        vector: npt.NDArray[np.float32] | None = None,
    ) -> list[Hit]:
        if not ids:
            return []
        rows = {
            row[0]: row
            for row in self.db.execute(
                f"SELECT id, title, body, department, authority, tags FROM articles WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        }
        return [
            Hit(
                id=a,
                title=rows[a][1],
                score=round(scores[a], 3),
                snippet=snippet(
                    rows[a][2], terms, best=self._nearest_passage(a, rows[a][2], vector)
                ),
                department=rows[a][3],
                authority=rows[a][4],
                keyword=round(keyword.get(a, 0.0), 3),
                semantic=round(semantic.get(a, 0.0), 3),
                closest=round(closest.get(a, 0.0), 3),
                script=script_tag(rows[a][5]),
            )
            for a in ids
            if a in rows
        ]

    def _nearest_passage(
        self, article_id: str, body: str, vector: npt.NDArray[np.float32] | None
    ) -> str | None:
        """The body passage nearest to the query (the step that answers it), if embedded."""
        if vector is None:
            return None
        texts = {text_hash("passage", p): p for p in passages(body)}
        if not texts:
            return None
        rows = self.db.execute(
            f"SELECT text_hash, vec FROM vectors WHERE article_id = ? AND text_hash IN "
            f"({','.join('?' * len(texts))})",
            [article_id, *texts],
        ).fetchall()
        if not rows:
            return None
        codes = decode([row[1] for row in rows]).astype(np.float32)
        similarity = (codes @ vector) / np.maximum(np.linalg.norm(codes, axis=1), 1e-9)
        return texts[rows[int(np.argmax(similarity))][0]]

    def _log(self, query: str, hits: list[Hit], *, semantic_available: bool) -> None:
        top = hits[0] if hits else None
        if top is None:
            answered = False
        elif semantic_available:
            answered = top.closest >= ANSWERED_COSINE
        else:
            answered = top.keyword > 0
        with self.db.conn:
            self.db.table("searches").insert(
                {
                    "at": now_iso(),
                    "day": datetime.now(UTC).date().isoformat(),
                    "query": scrub(query.strip())[:500],
                    "top_article": top.id if top else None,
                    "top_score": top.score if top else None,
                    "answered": int(answered),
                }
            )

    def article(self, article_id: str) -> dict[str, object] | None:
        """The full article (lists decoded), or None."""
        rows = list(self.db.table("articles").rows_where("id = ?", [article_id]))
        if not rows:
            return None
        row = dict(rows[0])
        row["tags"] = json.loads(row["tags"])
        row["triggers"] = json.loads(row["triggers"])
        return row


def script_tag(tags: str) -> str | None:
    """The call script an article names with the tag ``script:NAME`` (tags as stored: JSON)."""
    for tag in json.loads(tags or "[]"):
        if isinstance(tag, str) and tag.lower().startswith("script:") and tag[7:].strip():
            return tag[7:].strip()
    return None


def snippet(body: str, terms: list[str], *, width: int = 160, best: str | None = None) -> str:
    """``best`` (the passage nearest to the query) or else the body sentence sharing most
    words with the query, matches in **bold**."""
    # stopwords ("the", "and") would choose the sentence and bold half of it
    stems = {t[:5] for t in terms if len(t) > 2 and t not in _STOPWORDS}
    text = re.sub(r"[#*_`>]+", "", body)
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()] or [text.strip()]

    def overlap(sentence: str) -> int:
        return sum(w.lower()[:5] in stems for w in _TERM.findall(sentence))

    best = best or max(sentences, key=overlap)
    if len(best) > width:
        best = best[: width - 1].rsplit(" ", 1)[0] + "…"
    return re.sub(
        r"\w+",
        lambda m: (
            f"**{m.group()}**"
            if len(m.group()) > 2 and m.group().lower()[:5] in stems
            else m.group()
        ),
        best,
    )
