"""Representative tickets: the ones nearest a theme's centre, without near-duplicates."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

REPRESENTATIVES = 3
DUPLICATE_SIMILARITY = 0.95

_NON_WORD = re.compile(r"\W+")


def _fingerprint(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def nearest_distinct(
    members: npt.NDArray[np.int64],
    similarity: npt.NDArray[np.float32],
    vectors: npt.NDArray[np.float32],
    texts: Sequence[str],
    n: int = REPRESENTATIVES,
) -> list[int]:
    """Up to `n` member indices, nearest the centre first, skipping texts that repeat an earlier pick
    (same words, or cosine similarity above DUPLICATE_SIMILARITY)."""
    order = members[np.argsort(-similarity[members], kind="stable")]
    picked: list[int] = []
    seen: set[str] = set()
    for index in order:
        i = int(index)
        key = _fingerprint(texts[i])
        if key in seen:
            continue
        if any(float(vectors[i] @ vectors[j]) > DUPLICATE_SIMILARITY for j in picked):
            continue
        seen.add(key)
        picked.append(i)
        if len(picked) == n:
            break
    return picked
