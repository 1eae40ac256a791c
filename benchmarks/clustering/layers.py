"""MiniLM's per-layer token outputs for a set of texts, cached (benchmarks of the sixth pass, issue #19).

One forward pass of the product's all-MiniLM-L6-v2 per text with every hidden layer kept; the layers named in
`LAYERS` are stored flat (`lengths[i]` token rows per text) with the token ids, so any pooling of any layer
can be scored later without re-embedding. The cache (npz, keyed by the texts' hash) is never committed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LAYERS = (1, 4, 5, 6)
"""Hidden layers kept: 1 (first transformer block), 4, 5 and 6 (the last, what the product mean-pools)."""
BATCH = 64


@dataclass(frozen=True)
class LayerTokens:
    """Token vectors of several layers for one set of texts, flat: text i owns `lengths[i]` rows."""

    layers: dict[int, np.ndarray]
    ids: np.ndarray
    lengths: np.ndarray

    @property
    def rows(self) -> np.ndarray:
        """The text each flat token row belongs to."""
        return np.repeat(np.arange(self.lengths.size), self.lengths)


def layer_tokens(model: Any, texts: list[str], cache_dir: Path | None) -> LayerTokens:
    """Per-layer token vectors of `texts` from a sentence-transformers MiniLM (`model`), cached under cache_dir."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cached = cache_dir / f"layers-{digest}.npz" if cache_dir else None
    if cached and cached.is_file():
        data = np.load(cached)
        return LayerTokens({k: data[f"layer{k}"] for k in LAYERS}, data["ids"], data["lengths"])
    import torch

    transformer = model[0]
    tokenizer, auto_model = transformer.tokenizer, transformer.auto_model
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
    per_text: list[dict[int, np.ndarray] | None] = [None] * len(texts)
    per_ids: list[np.ndarray | None] = [None] * len(texts)
    with torch.inference_mode():
        for start in range(0, len(texts), BATCH):
            batch = [int(i) for i in order[start : start + BATCH]]
            enc = tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=model.max_seq_length,
                return_tensors="pt",
            )
            out = auto_model(**enc, output_hidden_states=True)
            mask = enc["attention_mask"].numpy().astype(bool)
            for row, i in enumerate(batch):
                keep = mask[row]
                per_text[i] = {k: out.hidden_states[k][row].numpy()[keep] for k in LAYERS}
                per_ids[i] = enc["input_ids"][row].numpy()[keep]
    lengths = np.array([ids.size for ids in per_ids if ids is not None])
    layers = {k: np.concatenate([t[k] for t in per_text if t is not None]).astype(np.float32) for k in LAYERS}
    ids = np.concatenate([i for i in per_ids if i is not None]).astype(np.int64)
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, ids=ids, lengths=lengths, **{f"layer{k}": v for k, v in layers.items()})
    return LayerTokens(layers, ids, lengths)
