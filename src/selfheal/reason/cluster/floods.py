"""Many copies of the same ticket text count once for theme discovery and are reported as a flood.

The same text sent by many senders (a copy-pasted complaint, a bot, a prompt-injection campaign) would
otherwise become the largest themes and pull genuine tickets into them. Texts are compared after
normalisation (case, punctuation and spacing ignored; digits kept, so "order 1234" and "order 5678" stay
distinct requests). A set of at least `flood_min_tickets` copies of a text of at least FLOOD_MIN_WORDS distinct
words is a flood: one copy takes part in theme discovery, and the set is reported apart, never as a theme.
Fewer or shorter copies (many customers writing "checkout is slow") are ordinary tickets of a theme.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from selfheal.reason.cluster.algorithms import Clustering, ClusterParams, cluster_vectors

IntArray = npt.NDArray[np.int64]
FLOOD_MIN_WORDS = 10
"""Distinct words a text needs before its copies can be a flood."""
_NON_WORD = re.compile(r"[^0-9a-z]+")
BODY_KEY_MIN_WORDS = 8
"""A ticket's body alone identifies a copy when it has at least this many words (subjects vary)."""


def duplicate_key(text: str) -> str:
    """The text with case, punctuation and spacing ignored."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def ticket_key(subject: str, body: str) -> str:
    """A ticket's duplicate key: its body when long enough (the same pasted text under varying subjects),
    else subject and body."""
    body_key = duplicate_key(body)
    if len(body_key.split()) >= BODY_KEY_MIN_WORDS:
        return body_key
    return duplicate_key(f"{subject}\n{body}")


@dataclass(frozen=True)
class Duplicates:
    """`unique` are the row of the first text of each key (clustered once); `of_row[i]` is the position in
    `unique` of row i's key; `counts[j]` how many rows share unique key j."""

    unique: IntArray
    of_row: IntArray
    counts: IntArray

    def flood_sets(self, keys: Sequence[str], min_tickets: int) -> list[int]:
        """Positions in `unique` of the keys shared by at least `min_tickets` rows, largest first. Only a
        text of `FLOOD_MIN_WORDS` distinct words or more can flood: many customers writing the same short line
        ("checkout is slow") is a theme, the same paragraph from many senders is a copy."""
        big = [
            j
            for j in range(len(self.unique))
            if self.counts[j] >= min_tickets
            and len(set(keys[int(self.unique[j])].split())) >= FLOOD_MIN_WORDS
        ]
        return sorted(big, key=lambda j: (-int(self.counts[j]), int(self.unique[j])))

    def rows_of(self, position: int) -> IntArray:
        return np.flatnonzero(self.of_row == position).astype(np.int64)


def find_duplicates(keys: Sequence[str]) -> Duplicates:
    first: dict[str, int] = {}
    of_row = np.zeros(len(keys), dtype=np.int64)
    for row, key in enumerate(keys):
        of_row[row] = first.setdefault(key, len(first))
    unique = np.zeros(len(first), dtype=np.int64)
    for row in range(len(keys) - 1, -1, -1):
        unique[of_row[row]] = row
    counts = np.bincount(of_row, minlength=len(first)).astype(np.int64)
    return Duplicates(unique=unique, of_row=of_row, counts=counts)


def flood_id(key: str) -> str:
    return "fld-" + hashlib.sha256(key.encode()).hexdigest()[:12]


FLOOD = -2
"""Label of a row that belongs to a flood (kept out of the themes)."""


@dataclass(frozen=True)
class DistinctClustering:
    """A clustering of distinct texts spread back over every row: `clustering.labels` is -1 (unassigned) or
    FLOOD for flood rows; `flood_of_row[i]` the flood (0.., largest first) of row i, or -1; `flood_keys`
    the normalised text of each flood."""

    clustering: Clustering
    flood_of_row: IntArray
    flood_keys: tuple[str, ...]

    def flood_rows(self, flood: int) -> IntArray:
        return np.flatnonzero(self.flood_of_row == flood).astype(np.int64)


def cluster_distinct(
    vectors: npt.NDArray[np.floating], keys: Sequence[str], params: ClusterParams | None = None
) -> DistinctClustering:
    """Cluster the rows of `vectors`; a set of at least `params.flood_min_tickets` identical long `keys`
    is a flood: it takes part in theme discovery as one ticket, and all its rows are labelled FLOOD."""
    params = params or ClusterParams()
    dup = find_duplicates(keys)
    floods = dup.flood_sets(keys, params.flood_min_tickets)
    flood_of_row = np.full(len(keys), -1, dtype=np.int64)
    for number, position in enumerate(floods):
        flood_of_row[dup.of_row == position] = number
    representative = np.zeros(len(keys), dtype=bool)
    representative[dup.unique[floods]] = True
    discovery = np.flatnonzero((flood_of_row < 0) | representative)
    found = cluster_vectors(np.asarray(vectors)[discovery], params)
    labels = np.full(len(keys), FLOOD, dtype=np.int64)
    similarity = np.zeros(len(keys), dtype=np.float32)
    labels[discovery] = found.labels
    similarity[discovery] = found.similarity
    labels[flood_of_row >= 0] = FLOOD
    clustering = Clustering(
        labels=labels, centroids=found.centroids, similarity=similarity, theme_groups=found.theme_groups
    )
    return DistinctClustering(
        clustering=clustering,
        flood_of_row=flood_of_row,
        flood_keys=tuple(keys[int(dup.unique[p])] for p in floods),
    )
