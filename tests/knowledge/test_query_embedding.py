"""The single-text (query) path of the shared embedder must give the vectors `encode` gives."""

from __future__ import annotations

import numpy as np
import pytest

from selfheal.embedding import DenseEmbedder, SentenceTransformerEmbedder

TEXTS = [
    "",
    "x",
    "POST /webhooks/order-created returns 403 after the signing secret rotated",
    "KubeAPIDown: Kube API Down. Meaning.\nThe API server has disappeared from Prometheus target discovery.",
    "Zahlungsanbieter lehnt Autorisierung ab (502) – Kasse hängt, 決済エラー",
    " ".join(["checkout latency p95 above 2 s with 504 from the gateway"] * 60),  # past max_seq_length
]


def test_single_text_matches_batch_encode(embedder: DenseEmbedder) -> None:
    if not isinstance(embedder, SentenceTransformerEmbedder):
        pytest.skip("not the sentence-transformers embedder")
    assert embedder._single_encoder() is not None, "the traced query encoder was not built"
    single = np.vstack([embedder.embed([t]) for t in TEXTS])
    batch = embedder._model.encode(TEXTS, normalize_embeddings=True, show_progress_bar=False)
    assert single.shape == (len(TEXTS), embedder.dim)
    assert np.allclose(single, batch, atol=1e-5)
    assert np.allclose(np.linalg.norm(single, axis=1), 1.0, atol=1e-5)
