from __future__ import annotations

import numpy as np

from selfheal.reason.cluster import class_tfidf_terms, label_from_terms
from selfheal.reason.cluster.representatives import nearest_distinct
from selfheal.reason.cluster.trend import classify_trend
from selfheal.reason.model import ThemeTrend


def test_class_tfidf_prefers_words_that_set_a_theme_apart() -> None:
    texts = [
        "webhook returns 403 for the order",
        "order webhook 403 forbidden",
        "the webhook for my order fails",
        "checkout is slow for my order",
        "slow checkout timeout on the order",
        "checkout timeout again",
    ]
    labels = np.array([0, 0, 0, 1, 1, 1])
    terms = class_tfidf_terms(texts, labels)
    assert terms[0][0] == "webhook"
    assert terms[1][0] == "checkout"
    assert "403" in terms[0][:3]
    assert "timeout" in terms[1][:4]
    assert "webhook" not in terms[1]
    assert "checkout" not in terms[0]


def test_unassigned_texts_are_not_named() -> None:
    terms = class_tfidf_terms(["a card", "a card again", "noise"], np.array([0, 0, -1]))
    assert set(terms) == {0}


def test_label_keeps_a_phrase_and_drops_its_words() -> None:
    assert (
        label_from_terms(["checkout", "checkout timeout", "slow", "504"]) == "checkout timeout / slow / 504"
    )
    assert label_from_terms([]) == "(no common words)"


def test_representatives_are_nearest_first_and_distinct() -> None:
    texts = ["card lost", "Card lost!", "my card was stolen", "card never arrived"]
    vectors = np.eye(4, dtype=np.float32)
    similarity = np.array([0.9, 0.95, 0.5, 0.7], dtype=np.float32)
    picked = nearest_distinct(np.arange(4), similarity, vectors, texts, n=3)
    assert picked == [1, 3, 2]  # "card lost" repeats "Card lost!" and is skipped


def test_representatives_skip_near_identical_vectors() -> None:
    vectors = np.array([[1, 0], [0.999, 0.04], [0, 1]], dtype=np.float32)
    picked = nearest_distinct(
        np.arange(3), np.array([0.9, 0.8, 0.7], dtype=np.float32), vectors, ["a", "b", "c"]
    )
    assert picked == [0, 2]


def test_trend() -> None:
    assert classify_trend([0, 0, 0, 5]) == ThemeTrend.new
    assert classify_trend([5]) == ThemeTrend.new
    assert classify_trend([2, 2, 2, 9]) == ThemeTrend.growing
    assert classify_trend([8, 9, 7, 2]) == ThemeTrend.shrinking
    assert classify_trend([4, 5, 4, 5]) == ThemeTrend.stable
    assert classify_trend([1, 0, 0, 2]) == ThemeTrend.stable  # too few tickets to call it growth


def test_contraction_leftovers_are_not_terms() -> None:
    texts = [
        "my transfer didn't go through",
        "transfer didn't arrive",
        "card doesn't work",
        "card doesn't pay",
    ]
    terms = class_tfidf_terms(texts, np.array([0, 0, 1, 1]))
    assert not any("didn" in t or "doesn" in t for ts in terms.values() for t in ts)
