"""The sixth pass's pooling benchmark (benchmarks/clustering/pooling.py), on hand-made token vectors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "clustering"))
# the benchmark scripts import their siblings by name
from layers import LayerTokens
from pooling import SHORT_STOP_WORDS, batch_idf, content_mask, pooled_mean

VOCABULARY = ["[PAD]", "[CLS]", "[SEP]", "the", "top", "up", "?", "it", "##em", "not", "card"]


class _Tokenizer:
    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [VOCABULARY[i] if i < len(VOCABULARY) else "[unused]" for i in ids]


def _ids(*tokens: str) -> np.ndarray:
    return np.array([VOCABULARY.index(t) for t in tokens], dtype=np.int64)


def test_content_mask_drops_function_words_punctuation_and_specials_but_keeps_negations_and_word_pieces() -> (
    None
):
    ids = _ids("[CLS]", "the", "top", "up", "?", "it", "##em", "not", "card", "[SEP]")
    kept = [VOCABULARY[i] for i in ids[content_mask(_Tokenizer(), ids)]]
    assert kept == [
        "it",
        "##em",
        "not",
        "card",
    ]  # "it" starts the longer word "item"; "top" is on sklearn's list
    short = [VOCABULARY[i] for i in ids[content_mask(_Tokenizer(), ids, SHORT_STOP_WORDS)]]
    assert short == ["top", "it", "##em", "not", "card"]


def _tokens(vectors: list[list[float]], ids: np.ndarray, lengths: list[int]) -> LayerTokens:
    layer = np.array(vectors, dtype=np.float32)
    return LayerTokens({6: layer, 5: 3 * layer}, ids, np.array(lengths))


def test_weighted_mean_ignores_zero_weight_tokens_and_falls_back_to_the_plain_mean() -> None:
    ids = _ids("[CLS]", "card", "[SEP]", "[CLS]", "the", "[SEP]")
    tokens = _tokens([[0, 1], [1, 0], [0, 1], [0, 1], [1, 1], [0, 1]], ids, [3, 3])
    weight = np.array([0, 1, 0, 0, 0, 0], dtype=np.float64)
    out = pooled_mean(tokens, (6,), weight)
    assert np.allclose(out[0], [1, 0])  # only "card" counts
    assert np.allclose(out[1], np.array([1, 3]) / np.sqrt(10))  # all weights 0: the plain mean
    assert np.allclose(pooled_mean(tokens, (5, 6)), pooled_mean(tokens, (6,)))  # layer 5 = 3 x layer 6 here


def test_batch_idf_weights_rare_tokens_above_common_ones_and_zeroes_what_is_not_kept() -> None:
    ids = _ids("[CLS]", "card", "the", "[SEP]", "[CLS]", "the", "[SEP]")
    tokens = _tokens([[1, 0]] * 7, ids, [4, 3])
    keep = ~np.isin(ids, _ids("[CLS]", "[SEP]"))
    w = batch_idf(tokens, keep)
    assert w[2] == pytest.approx(1.0)  # "the" is in both texts: log(3/3) + 1
    assert w[1] == pytest.approx(np.log(3 / 2) + 1)
    assert w[0] == 0 and w[3] == 0
