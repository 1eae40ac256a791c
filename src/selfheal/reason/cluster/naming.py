"""Naming themes with class-based TF-IDF: the words that are frequent in one theme and rare in the others."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from selfheal.reason.cluster.algorithms import UNASSIGNED

TOP_TERMS = 8
LABEL_TERMS = 3
CONTRACTION_PARTS = frozenset(
    [
        "aren",
        "couldn",
        "didn",
        "doesn",
        "don",
        "hadn",
        "hasn",
        "haven",
        "isn",
        "ll",
        "mustn",
        "needn",
        "re",
        "shan",
        "shouldn",
        "ve",
        "wasn",
        "weren",
        "won",
        "wouldn",
    ]
)
"""What is left of "didn't", "I've" ... after tokenising: never a useful label word."""


def _stop_words() -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | CONTRACTION_PARTS)


def class_tfidf_terms(
    texts: Sequence[str], labels: npt.NDArray[np.int64], top_n: int = TOP_TERMS
) -> dict[int, tuple[str, ...]]:
    """For each theme, its `top_n` terms (words and word pairs) by class-based TF-IDF.

    Each theme's texts are one document; a term's weight is its frequency in the theme (normalised by the
    theme's length) times log(1 + average theme length / the term's frequency over all themes).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    themes = sorted(int(t) for t in np.unique(labels) if t != UNASSIGNED)
    if not themes:
        return {}
    documents = [" ".join(texts[int(i)] for i in np.flatnonzero(labels == t)) for t in themes]
    vectorizer = CountVectorizer(
        ngram_range=(1, 2), stop_words=_stop_words(), strip_accents="unicode", lowercase=True
    )
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words
        return dict.fromkeys(themes, ())
    vocabulary = vectorizer.get_feature_names_out()
    per_theme = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, per_theme, out=np.zeros_like(counts), where=per_theme > 0)
    average_length = float(per_theme.mean())
    idf = np.log1p(average_length / np.maximum(counts.sum(axis=0), 1.0))
    weights = tf * idf
    result: dict[int, tuple[str, ...]] = {}
    for row, theme in enumerate(themes):
        order = np.argsort(-weights[row], kind="stable")
        result[theme] = tuple(str(vocabulary[i]) for i in order[:top_n] if weights[row, i] > 0)
    return result


def label_from_terms(terms: Sequence[str], n: int = LABEL_TERMS) -> str:
    """A short label: the best terms, skipping words already shown inside a chosen phrase."""
    chosen: list[str] = []
    for term in terms:
        words = set(term.split())
        if any(words <= set(c.split()) or set(c.split()) <= words for c in chosen):
            if len(term.split()) > 1:  # a phrase beats the single word it contains
                chosen = [c for c in chosen if not set(c.split()) <= words]
                chosen.append(term)
            continue
        chosen.append(term)
        if len(chosen) == n:
            break
    return " / ".join(chosen[:n]) if chosen else "(no common words)"
