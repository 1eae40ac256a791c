"""Clustering a plain list of texts (a ticket export) with the cycle's engine and defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from selfheal.reason.cluster.algorithms import ClusterParams, FloatArray, IntArray, centre
from selfheal.reason.cluster.floods import FLOOD, cluster_distinct, duplicate_key
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
    """One theme id per text, -1 for unassigned, -2 for a flood row; ids count from 0, largest theme first."""
    themes: tuple[TextTheme, ...]
    embedding_model: str
    group_labels: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """One group id per text (-1 unassigned, -2 flood)."""
    groups: tuple[TextTheme, ...] = ()
    """The coarse level, described like themes."""
    flood_sizes: tuple[int, ...] = ()

    @property
    def unassigned(self) -> int:
        return int(np.count_nonzero(self.labels == -1))

    @property
    def flooded(self) -> int:
        return int(np.count_nonzero(self.labels == FLOOD))


def cluster_texts(
    texts: Sequence[str],
    vectors: FloatArray | None = None,
    model: str = LEXICAL_MODEL,
    params: ClusterParams | None = None,
) -> TextClustering:
    """Themes of `texts`; `vectors` (one row per text, from `model`) or, when None, the lexical fallback."""
    if vectors is None:
        vectors, model = lexical_vectors(texts), LEXICAL_MODEL
    found = cluster_distinct(vectors, [duplicate_key(t) for t in texts], params)
    clustering = found.clustering
    centred = centre(vectors) if len(texts) > 1 else vectors
    groups = clustering.group_labels
    groups = np.where(clustering.labels == FLOOD, FLOOD, groups)
    return TextClustering(
        labels=clustering.labels,
        themes=_describe(texts, clustering.labels, clustering.n_themes, clustering.similarity, centred),
        embedding_model=model,
        group_labels=groups,
        groups=_describe(texts, groups, clustering.n_groups, clustering.similarity, centred),
        flood_sizes=tuple(int(found.flood_rows(f).size) for f in range(len(found.flood_keys))),
    )


def _describe(
    texts: Sequence[str], labels: IntArray, count: int, similarity: FloatArray, centred: FloatArray
) -> tuple[TextTheme, ...]:
    terms = class_tfidf_terms(texts, np.where(labels >= 0, labels, -1))
    out = []
    for cluster in range(count):
        members = np.flatnonzero(labels == cluster)
        top = terms.get(cluster, ())
        out.append(
            TextTheme(
                id=cluster,
                label=label_from_terms(top),
                top_terms=top,
                size=int(members.size),
                representatives=tuple(nearest_distinct(members, similarity, centred, texts)),
            )
        )
    return tuple(out)
