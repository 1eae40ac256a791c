"""Clustering a plain list of texts (a ticket export) with the cycle's engine and defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from selfheal.reason.cluster.algorithms import ClusterParams, FloatArray, IntArray, centre, cluster_vectors
from selfheal.reason.cluster.naming import class_tfidf_terms, label_from_terms
from selfheal.reason.cluster.representatives import nearest_distinct
from selfheal.reason.cluster.vectors import LEXICAL_MODEL, lexical_vectors


@dataclass(frozen=True)
class TextTheme:
    id: int
    label: str
    top_terms: tuple[str, ...]
    size: int
    representatives: tuple[int, ...]
    """Row numbers of the representative texts, nearest the centre first."""


@dataclass(frozen=True)
class TextClustering:
    labels: IntArray
    """One theme id per text, -1 for unassigned; ids count from 0, largest theme first."""
    themes: tuple[TextTheme, ...]
    embedding_model: str

    @property
    def unassigned(self) -> int:
        return int(np.count_nonzero(self.labels < 0))


def cluster_texts(
    texts: Sequence[str],
    vectors: FloatArray | None = None,
    model: str = LEXICAL_MODEL,
    params: ClusterParams | None = None,
) -> TextClustering:
    """Themes of `texts`; `vectors` (one row per text, from `model`) or, when None, the lexical fallback."""
    if vectors is None:
        vectors, model = lexical_vectors(texts), LEXICAL_MODEL
    clustering = cluster_vectors(vectors, params)
    terms = class_tfidf_terms(texts, clustering.labels)
    centred = centre(vectors) if len(texts) > 1 else vectors
    themes = []
    for theme in range(clustering.n_themes):
        members = np.flatnonzero(clustering.labels == theme)
        top = terms.get(theme, ())
        themes.append(
            TextTheme(
                id=theme,
                label=label_from_terms(top),
                top_terms=top,
                size=int(members.size),
                representatives=tuple(nearest_distinct(members, clustering.similarity, centred, texts)),
            )
        )
    return TextClustering(labels=clustering.labels, themes=tuple(themes), embedding_model=model)
