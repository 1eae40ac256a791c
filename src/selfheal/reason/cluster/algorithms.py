"""Clustering ticket vectors into themes with the number of themes unknown.

The default method, `ward`, measured best on real support text (docs/benchmarks/cluster.md):

1. centre the vectors on their mean and re-normalise (sentence embeddings share a common direction that
   hides the differences between themes);
2. Ward linkage on at most `sample_cap` of them, cut at `ward_tau * sqrt(n)`: a Ward merge height grows
   with the square root of the number of points, so the normalised threshold gives the same themes for a
   batch of 1,000 or 10,000 tickets (below `min_ward_points`, n is taken as that floor);
3. k-means over every vector, started from the Ward centroids (a short refinement that also places the
   tickets Ward did not see);
4. a ticket whose cosine similarity to its theme's centre is below `min_similarity_ratio` times the
   median similarity of all tickets, or whose theme is smaller than `min_size`, is left unassigned.

`dbscan` (density clustering on cosine distance) is kept as a selectable method; it leaves more tickets
unassigned and chains touching themes together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from selfheal.errors import InvalidInput

Method = Literal["ward", "dbscan"]
METHODS: tuple[str, ...] = ("ward", "dbscan")
UNASSIGNED = -1

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ClusterParams:
    """How to cluster. The defaults were chosen on the Banking77 train split only."""

    method: Method = "ward"
    ward_tau: float = 0.055
    """Ward cut height divided by sqrt(number of points clustered by Ward)."""
    sample_cap: int = 3000
    """Ward sees at most this many vectors (a seeded sample); k-means then places every vector."""
    min_ward_points: int = 1000
    """Smaller batches are cut as if they had this many points: a window with few tickets gets coarser
    themes instead of one theme per wording."""
    refine_iterations: int = 20
    min_similarity_ratio: float = 0.7
    """Unassigned below this fraction of the median ticket-to-centre similarity (0 keeps every ticket)."""
    min_size: int = 2
    """Themes smaller than this are dissolved into unassigned tickets."""
    dbscan_eps: float = 0.2
    dbscan_min_samples: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput(
                f"unknown clustering method {self.method!r}", {"field": "method", "allowed": list(METHODS)}
            )
        if self.ward_tau <= 0:
            raise InvalidInput("ward_tau must be positive", {"field": "ward_tau"})
        if self.sample_cap < 2:
            raise InvalidInput("sample_cap must be at least 2", {"field": "sample_cap"})
        if not 0 <= self.min_similarity_ratio < 1.5:
            raise InvalidInput("min_similarity_ratio must be in [0, 1.5)", {"field": "min_similarity_ratio"})
        if self.min_size < 1:
            raise InvalidInput("min_size must be at least 1", {"field": "min_size"})
        if not 0 < self.dbscan_eps < 2:
            raise InvalidInput("dbscan_eps must be in (0, 2)", {"field": "dbscan_eps"})


@dataclass(frozen=True)
class Clustering:
    """Labels 0..k-1 (largest theme first) or -1, the unit centre of each theme, each row's similarity to it."""

    labels: IntArray
    centroids: FloatArray
    similarity: FloatArray

    @property
    def n_themes(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def unassigned(self) -> int:
        return int(np.count_nonzero(self.labels == UNASSIGNED))


def normalise_rows(x: npt.NDArray[np.floating]) -> FloatArray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: FloatArray = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return out


def centre(vectors: npt.NDArray[np.floating]) -> FloatArray:
    """Vectors minus their mean, re-normalised."""
    x = np.asarray(vectors, dtype=np.float32)
    return normalise_rows(x - x.mean(axis=0, keepdims=True))


def cluster_vectors(vectors: npt.NDArray[np.floating], params: ClusterParams | None = None) -> Clustering:
    """Cluster the rows of `vectors` (any scale; they are centred and normalised here)."""
    params = params or ClusterParams()
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise InvalidInput("vectors must be a 2-D array", {"field": "vectors", "shape": list(x.shape)})
    if not np.isfinite(x).all():
        raise InvalidInput("vectors contain NaN or infinity", {"field": "vectors"})
    n = x.shape[0]
    if n == 0:
        return Clustering(
            np.zeros(0, dtype=np.int64), np.zeros((0, x.shape[1]), np.float32), np.zeros(0, np.float32)
        )
    z = centre(x) if n > 1 else normalise_rows(x)
    if n < max(2, params.min_size):
        labels = np.full(n, UNASSIGNED, dtype=np.int64)
    elif params.method == "dbscan":
        labels = _dbscan(z, params)
    else:
        labels = _ward_refined(z, params)
    return _finish(z, labels, params)


def _ward_refined(z: FloatArray, params: ClusterParams) -> IntArray:
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.cluster import KMeans

    n = z.shape[0]
    rng = np.random.default_rng(params.seed)
    sample = z if n <= params.sample_cap else z[np.sort(rng.choice(n, params.sample_cap, replace=False))]
    if np.allclose(sample, sample[0]):
        return np.zeros(n, dtype=np.int64)
    tree = linkage(sample.astype(np.float64), method="ward")
    height = params.ward_tau * np.sqrt(max(sample.shape[0], params.min_ward_points))
    cut = fcluster(tree, height, criterion="distance") - 1
    k = int(cut.max()) + 1
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    init = np.stack([sample[cut == c].mean(axis=0) for c in range(k)])
    kmeans = KMeans(n_clusters=k, init=init, n_init=1, max_iter=params.refine_iterations, random_state=0)
    return np.asarray(kmeans.fit(z).labels_, dtype=np.int64)


def _dbscan(z: FloatArray, params: ClusterParams) -> IntArray:
    from sklearn.cluster import DBSCAN

    model = DBSCAN(eps=params.dbscan_eps, min_samples=params.dbscan_min_samples, metric="cosine")
    return np.asarray(model.fit(z).labels_, dtype=np.int64)


def _finish(z: FloatArray, labels: IntArray, params: ClusterParams) -> Clustering:
    """Drop small themes and far tickets, renumber by size, compute centres and similarities."""
    labels = labels.copy()
    for _ in range(2):  # dropping far tickets can shrink a theme below min_size, so settle twice
        labels = _drop_small(labels, params.min_size)
        centroids = _centroids(z, labels)
        sim = _similarity(z, labels, centroids)
        if params.min_similarity_ratio > 0 and params.method == "ward":
            assigned = labels != UNASSIGNED
            if assigned.any():
                floor = params.min_similarity_ratio * float(np.median(sim[assigned]))
                labels[assigned & (sim < floor)] = UNASSIGNED
    labels = _drop_small(labels, params.min_size)
    labels = _renumber_by_size(labels)
    centroids = _centroids(z, labels)
    return Clustering(labels=labels, centroids=centroids, similarity=_similarity(z, labels, centroids))


def _drop_small(labels: IntArray, min_size: int) -> IntArray:
    out = labels.copy()
    ids, counts = np.unique(labels[labels != UNASSIGNED], return_counts=True)
    for theme, count in zip(ids, counts, strict=True):
        if count < min_size:
            out[labels == theme] = UNASSIGNED
    return out


def _renumber_by_size(labels: IntArray) -> IntArray:
    ids, counts = np.unique(labels[labels != UNASSIGNED], return_counts=True)
    order = sorted(zip(ids.tolist(), counts.tolist(), strict=True), key=lambda p: (-p[1], p[0]))
    mapping = {old: new for new, (old, _) in enumerate(order)}
    return np.array([mapping.get(int(v), UNASSIGNED) for v in labels], dtype=np.int64)


def _centroids(z: FloatArray, labels: IntArray) -> FloatArray:
    k = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    if k == 0:
        return np.zeros((0, z.shape[1]), dtype=np.float32)
    sums = np.zeros((k, z.shape[1]), dtype=np.float64)
    assigned = labels != UNASSIGNED
    np.add.at(sums, labels[assigned], z[assigned])
    return normalise_rows(sums)


def _similarity(z: FloatArray, labels: IntArray, centroids: FloatArray) -> FloatArray:
    """Cosine similarity of each row to its theme centre; for unassigned rows, to the nearest centre."""
    if centroids.shape[0] == 0:
        return np.zeros(z.shape[0], dtype=np.float32)
    sims = z @ centroids.T
    own = np.where(labels >= 0, labels, np.argmax(sims, axis=1))
    return np.asarray(sims[np.arange(z.shape[0]), own], dtype=np.float32)
