"""The representation benchmark's pooling (benchmarks/clustering/views.py), on hand-made token vectors."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.clustering.views import (
    SPECIAL_TOKENS,
    TokenSet,
    idf_weight,
    mean_weight,
    subset,
    zipf_weight,
)

CLS, SEP = 101, 102
CARD, ARRIVE, DECLINE, PIN = 2000, 2001, 2002, 2003


def _token_set(texts: list[list[int]], vectors: dict[int, list[float]]) -> TokenSet:
    ids = np.array([t for text in texts for t in [CLS, *text, SEP]], dtype=np.int64)
    width = len(next(iter(vectors.values())))
    marker = [0.0] * (width - 1) + [1.0]
    table = {CLS: marker, SEP: marker, **vectors}
    return TokenSet(
        "toy",
        [" ".join(map(str, text)) for text in texts],
        np.arange(len(texts)),
        None,
        np.array([table[int(i)] for i in ids], dtype=np.float32),
        ids,
        np.array([len(text) + 2 for text in texts], dtype=np.int64),
    )


def test_mean_weight_reproduces_mean_pooling() -> None:
    data = _token_set([[CARD, ARRIVE], [CARD]], {CARD: [1.0, 0.0, 0.0], ARRIVE: [0.0, 1.0, 0.0]})
    pooled = data.pooled(mean_weight)
    expected = np.array([[1, 1, 2], [1, 0, 2]], dtype=np.float64)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, expected, atol=1e-6)


def test_idf_weight_drops_special_tokens_and_down_weights_the_common_word() -> None:
    df = np.zeros(PIN + 1, dtype=np.int64)
    df[CARD], df[ARRIVE] = 100, 2
    weight = idf_weight(df, 100)(np.array([CLS, CARD, ARRIVE, PIN, 40_000], dtype=np.int64))
    assert weight[0] == 0
    assert weight[1] == pytest.approx(np.log(101 / 101) + 1)
    assert weight[2] == pytest.approx(np.log(101 / 3) + 1)
    assert weight[3] == weight[4] == pytest.approx(np.log(101) + 1)  # unseen: as rare as can be
    assert set(SPECIAL_TOKENS) >= {CLS, SEP}


def test_idf_pooling_separates_texts_that_share_their_common_word() -> None:
    """Two intents ("card arrived?" / "card declined") whose sentences are dominated by the word every text
    of the batch has: mean pooling puts them close, IDF pooling far apart."""
    others = list(range(3000, 3008))
    vectors = {CARD: [1.0, 0.0, 0.0, 0.0], ARRIVE: [0.0, 1.0, 0.0, 0.0], DECLINE: [0.0, -1.0, 0.0, 0.0]}
    vectors |= {t: [0.0, 0.0, 0.0, 1.0] for t in others}
    texts = [[CARD, CARD, CARD, ARRIVE], [CARD, CARD, CARD, DECLINE]] + [[CARD, t] for t in others]
    data = _token_set(texts, vectors)
    mean = data.pooled(mean_weight)
    idf = data.pooled(idf_weight(data.document_frequency(), len(texts)))
    assert float(mean[0] @ mean[1]) > 0.6
    assert float(idf[0] @ idf[1]) < float(mean[0] @ mean[1]) - 0.3


def test_document_frequency_counts_texts_not_occurrences() -> None:
    data = _token_set([[CARD, CARD], [CARD, PIN]], {CARD: [1.0, 0.0, 0.0], PIN: [0.0, 1.0, 0.0]})
    df = data.document_frequency()
    assert (df[CARD], df[PIN], df[CLS]) == (2, 1, 2)


def test_subset_keeps_each_texts_tokens() -> None:
    data = _token_set(
        [[CARD], [ARRIVE, PIN], [DECLINE]], {t: [1.0, 0.0, 0.0] for t in (CARD, ARRIVE, DECLINE, PIN)}
    )
    part = subset(data, np.array([1]))
    assert part.ids.tolist() == [CLS, ARRIVE, PIN, SEP]
    assert part.lengths.tolist() == [4]


def test_zipf_weight_grows_with_vocabulary_rank() -> None:
    weight = zipf_weight(np.array([CLS, 1996, 2500, 20_000], dtype=np.int64))
    assert weight[0] == 0
    assert weight[1] < weight[2] < weight[3]
