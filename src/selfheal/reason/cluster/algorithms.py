"""Clustering ticket vectors into themes with the number of themes unknown.

The default method, `ward`, measured best on real support text (docs/benchmarks/cluster.md):

1. centre the vectors on their mean and re-normalise (sentence embeddings share a common direction that
   hides the differences between themes);
2. replace each vector, for clustering only, by the mean of its `neighbours` nearest vectors among the Ward
   sample (`neighbourhood_means`): the wording particular to one ticket averages out;
3. Ward linkage on at most `sample_cap` of them, cut by the granularity rule: `auto` (default) takes the cut
   most stable under resampling (`StabilityScorer`), `fixed` the height `ward_tau * sqrt(n)` (a Ward merge
   height grows with the square root of the number of points; below `min_ward_points`, n is that floor);
   a second, coarser cut of the same tree gives the groups;
4. k-means over every (averaged) vector, started from the Ward centroids (a short refinement that also
   places the tickets Ward did not see);
5. on the tickets' own vectors: a ticket whose cosine similarity to its theme's centre is below
   `min_similarity_ratio` times the median similarity of all tickets, or whose theme is smaller than
   `min_size`, is left unassigned.

`dbscan` (density clustering on cosine distance) is kept as a selectable method; it leaves more tickets
unassigned and chains touching themes together.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from selfheal.errors import InvalidInput

Method = Literal["ward", "dbscan"]
METHODS: tuple[str, ...] = ("ward", "dbscan")
UNASSIGNED = -1
MIN_SCORED_POINTS = 40
"""Below this many distinct texts the granularity is not scored and each theme is its own group."""

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ClusterParams:
    """How to cluster. The defaults were chosen on the Banking77 train split and Bitext (never Banking77
    test); docs/benchmarks/cluster.md has the grid and the leave-one-set-out figures."""

    method: Method = "ward"
    ward_tau: float = 0.055
    """Ward cut height divided by sqrt(number of points clustered by Ward)."""
    sample_cap: int = 3000
    """Ward sees at most this many vectors (a seeded sample); k-means then places every vector."""
    min_ward_points: int = 1000
    """Smaller batches are cut as if they had this many points: a window with few tickets gets coarser
    themes instead of one theme per wording."""
    refine_iterations: int = 20
    neighbours: int = 10
    """Each vector is clustered as the mean of its `neighbours` nearest tickets among the Ward sample (cosine;
    a sampled ticket is its own nearest); 1 turns this off. Averaging over a small neighbourhood removes
    wording noise that is particular to one ticket, so near tickets land in the same theme. Never more than
    the smallest theme the size prior allows (`min_theme_share` of the batch): a batch under 250 distinct
    texts is not averaged. Centres, similarities and the unassigned rule use the tickets' own vectors."""
    granularity: Literal["auto", "fixed"] = "auto"
    """`auto`: the theme cut is the most stable of the candidate cuts under resampling (the data decides how
    fine themes are, see `StabilityScorer`); `fixed`: the height `ward_tau * sqrt(n)`."""
    min_theme_share: float = 0.008
    """`auto` considers cuts whose average theme holds at least this share of the batch (and 2 tickets)."""
    max_theme_share: float = 0.1
    """... and at most this share: a theme is a specific problem, not a tenth of all tickets."""
    group_ratio: int = 4
    """Groups are sought among cuts with between 1/`group_ratio` and 1/2 as many clusters as themes (a group
    gathers 2 to `group_ratio` themes on average)."""
    candidate_cuts: int = 24
    """`auto` scores this many cuts, spaced geometrically in the number of themes."""
    stability_pairs: int = 3
    """`auto` compares this many pairs of subsample trees per candidate cut."""
    stability_points: int = 1200
    """Each subsample holds 80% of the Ward sample, at most this many points (bounded cost)."""
    min_similarity_ratio: float = 0.6
    """Unassigned below this fraction of the median ticket-to-centre similarity (0 keeps every ticket):
    a ticket near a theme is assigned to it; only far outliers stay unassigned."""
    min_size: int = 2
    flood_min_tickets: int = 8
    """This many tickets with the same text form a flood: counted once, reported apart, never a theme."""
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
        if self.neighbours < 1:
            raise InvalidInput("neighbours must be at least 1", {"field": "neighbours"})
        if self.sample_cap < 2:
            raise InvalidInput("sample_cap must be at least 2", {"field": "sample_cap"})
        if not 0 <= self.min_similarity_ratio < 1.5:
            raise InvalidInput("min_similarity_ratio must be in [0, 1.5)", {"field": "min_similarity_ratio"})
        if self.flood_min_tickets < 2:
            raise InvalidInput("flood_min_tickets must be at least 2", {"field": "flood_min_tickets"})
        if self.min_size < 1:
            raise InvalidInput("min_size must be at least 1", {"field": "min_size"})
        if not 0 < self.dbscan_eps < 2:
            raise InvalidInput("dbscan_eps must be in (0, 2)", {"field": "dbscan_eps"})


@dataclass(frozen=True)
class Clustering:
    """Labels 0..k-1 (largest theme first) or -1, the unit centre of each theme, each row's similarity to it;
    `theme_groups[t]` is the group (coarse level, 0..g-1, largest first) theme t belongs to."""

    labels: IntArray
    centroids: FloatArray
    similarity: FloatArray
    theme_groups: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_groups(self) -> int:
        return int(self.theme_groups.max()) + 1 if self.theme_groups.size else 0

    @property
    def group_labels(self) -> IntArray:
        """Each row's group, -1 when unassigned."""
        out = np.full(self.labels.shape[0], UNASSIGNED, dtype=np.int64)
        assigned = self.labels >= 0
        if self.theme_groups.size:
            out[assigned] = self.theme_groups[self.labels[assigned]]
        return out

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


def cluster_vectors(
    vectors: npt.NDArray[np.floating],
    params: ClusterParams | None = None,
    weights: IntArray | None = None,
) -> Clustering:
    """Cluster the rows of `vectors` (any scale; they are centred and normalised here). `weights[i]`: how
    many tickets row i stands for (identical texts clustered once); theme sizes count tickets."""
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
    w = np.ones(n, dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    if int(w.sum()) < max(2, params.min_size):
        labels, groups = np.full(n, UNASSIGNED, dtype=np.int64), np.zeros(0, dtype=np.int64)
    elif params.method == "dbscan":
        labels = _dbscan(z, params)
        groups = np.arange(int(labels.max()) + 1, dtype=np.int64)  # one group per theme
    else:
        labels, groups = _ward_refined(z, params)
    return _finish(z, labels, groups, params, w)


def _ward_refined(z: FloatArray, params: ClusterParams) -> tuple[IntArray, IntArray]:
    """Theme labels for every row, and the group of each theme (both cuts of one Ward tree)."""
    from sklearn.cluster import KMeans

    n = z.shape[0]
    rng = np.random.default_rng(params.seed)
    chosen = (
        np.arange(n) if n <= params.sample_cap else np.sort(rng.choice(n, params.sample_cap, replace=False))
    )
    z = neighbourhood_means(z, z[chosen], effective_neighbours(n, params))
    sample = z[chosen]
    if np.allclose(sample, sample[0]):
        return np.zeros(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
    distances = euclidean_distances(sample)
    tree = ward_tree_from_distances(distances)
    cut, group_cut = _two_cuts(tree, distances, params, rng)
    k = int(cut.max()) + 1
    theme_groups = np.array([int(group_cut[np.flatnonzero(cut == c)[0]]) for c in range(k)], dtype=np.int64)
    if k == 1:
        return np.zeros(n, dtype=np.int64), theme_groups
    init = np.stack([sample[cut == c].mean(axis=0) for c in range(k)])
    kmeans = KMeans(n_clusters=k, init=init, n_init=1, max_iter=params.refine_iterations, random_state=0)
    return np.asarray(kmeans.fit(z).labels_, dtype=np.int64), theme_groups


NEIGHBOUR_BLOCK = 1024


def euclidean_distances(points: FloatArray) -> npt.NDArray[np.float64]:
    """The square matrix of Euclidean distances between the rows, from one matrix product
    (|a - b|^2 = |a|^2 + |b|^2 - 2 a.b): several times faster than scipy's pairwise loop for 384-d vectors,
    and computed once for the Ward sample (its subsample trees index it instead of recomputing)."""
    x = points.astype(np.float64)  # a float32 product is faster but blurs near-identical tickets' distances
    norms = np.einsum("ij,ij->i", x, x)
    squared = x @ x.T
    squared *= -2.0
    squared += norms[:, None]
    squared += norms[None, :]
    np.maximum(squared, 0.0, out=squared)
    np.fill_diagonal(squared, 0.0)
    return np.sqrt(squared, out=squared)


def ward_tree_from_distances(distances: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Ward linkage from a square Euclidean distance matrix."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    condensed = squareform(distances, checks=False)
    return np.asarray(linkage(condensed, method="ward"), dtype=np.float64)


def effective_neighbours(n: int, params: ClusterParams) -> int:
    """The neighbourhood averaged for a batch of n distinct texts: `neighbours`, at most the smallest theme
    the size prior allows (a neighbourhood larger than a theme would blur it into the next one)."""
    return max(1, min(params.neighbours, int(params.min_theme_share * n)))


def neighbourhood_means(z: FloatArray, pool: FloatArray, neighbours: int) -> FloatArray:
    """Each row of `z` replaced by the unit mean of its `neighbours` most similar rows of `pool` (a row of z
    that is in the pool counts as its own nearest neighbour). Blocks bound the memory."""
    k = min(neighbours, pool.shape[0])
    if k <= 1:
        return z
    out = np.empty_like(z)
    for start in range(0, z.shape[0], NEIGHBOUR_BLOCK):
        sims = z[start : start + NEIGHBOUR_BLOCK] @ pool.T
        nearest = np.argpartition(sims, -k, axis=1)[:, -k:]
        out[start : start + NEIGHBOUR_BLOCK] = pool[nearest].mean(axis=1)
    return normalise_rows(out)


def _two_cuts(
    tree: npt.NDArray[np.float64],
    distances: npt.NDArray[np.float64],
    params: ClusterParams,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """Theme and group labels (0-based) of the sample: the theme cut by the granularity rule, the group cut
    the most stable cut coarser than half the themes (nested: a theme lies in one group)."""
    from scipy.cluster.hierarchy import fcluster

    m = distances.shape[0]
    height = params.ward_tau * np.sqrt(max(m, params.min_ward_points))
    cut = np.asarray(fcluster(tree, height, criterion="distance") - 1, dtype=np.int64)
    if m < MIN_SCORED_POINTS or (params.granularity == "fixed" and int(cut.max()) + 1 < 4):
        return cut, cut  # too few to score: each theme is its own group
    scorer = StabilityScorer(distances, params, rng)
    if params.granularity == "auto":
        most = max(2, min(int(m * 0.8) // 2, int(1 / params.min_theme_share)))
        least = min(most, max(2, int(np.ceil(1 / params.max_theme_share))))
        # A batch whose tree has a clear gap at fewer themes (the fixed height cuts it coarser than the
        # size prior) may have that few: a window with six distinct faults gets six themes, not ten.
        least = max(2, min(least, int(cut.max()) + 1))
        k_best = scorer.best(_candidates(least, most, params.candidate_cuts))
        cut = np.asarray(fcluster(tree, k_best, criterion="maxclust") - 1, dtype=np.int64)
    k = int(cut.max()) + 1
    if k < 4:
        return cut, cut
    k_group = scorer.best(_candidates(max(2, k // params.group_ratio), k // 2, params.candidate_cuts))
    return cut, np.asarray(fcluster(tree, k_group, criterion="maxclust") - 1, dtype=np.int64)


def _candidates(low: int, high: int, count: int) -> list[int]:
    if high <= low:
        return [low]
    return sorted({int(np.rint(v)) for v in np.geomspace(low, high, count)})


class StabilityScorer:
    """How reproducible a cut into k clusters is: Ward trees on pairs of random subsamples (80% of the
    sample, at most `stability_points`) are cut into k clusters and compared (adjusted Rand index) on the
    tickets both subsamples hold. A granularity that reflects the data gives the same partition whichever
    tickets arrived; one that is too fine splits them differently each time, one too coarse merges
    different themes differently."""

    def __init__(
        self, distances: npt.NDArray[np.float64], params: ClusterParams, rng: np.random.Generator
    ) -> None:
        """`distances`: the square Euclidean distance matrix of the sample; a subsample's tree is built from
        its rows and columns of it."""
        m = distances.shape[0]
        size = max(2, min(params.stability_points, int(m * 0.8)))
        self.pairs: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], IntArray, IntArray]] = []
        for _ in range(params.stability_pairs):
            a, b = (np.sort(rng.choice(m, size, replace=False)) for _ in range(2))
            _, in_a, in_b = np.intersect1d(a, b, return_indices=True)
            tree_a = ward_tree_from_distances(distances[np.ix_(a, a)])
            tree_b = ward_tree_from_distances(distances[np.ix_(b, b)])
            self.pairs.append((tree_a, tree_b, in_a.astype(np.int64), in_b.astype(np.int64)))

    def score(self, k: int) -> float:
        from scipy.cluster.hierarchy import fcluster

        values = [
            adjusted_rand(
                fcluster(tree_a, k, criterion="maxclust")[in_a],
                fcluster(tree_b, k, criterion="maxclust")[in_b],
            )
            for tree_a, tree_b, in_a, in_b in self.pairs
        ]
        return float(np.mean(values))

    def best(self, ks: list[int]) -> int:
        """The most stable k; on a tie (to 0.01), the finer cut (it says more)."""
        scored = [(round(self.score(k), 2), k) for k in ks]
        return max(scored)[1]


def adjusted_rand(a: npt.NDArray[np.integer], b: npt.NDArray[np.integer]) -> float:
    """The adjusted Rand index of two labellings of the same rows (any integer labels), as
    `sklearn.metrics.adjusted_rand_score` computes it, without its input checks (it is called hundreds of
    times per clustering)."""
    _, a_codes = np.unique(a, return_inverse=True)
    _, b_codes = np.unique(b, return_inverse=True)
    n = a_codes.size
    if n < 2:
        return 1.0
    width = int(b_codes.max()) + 1
    table = np.bincount(a_codes * width + b_codes).astype(np.float64)
    pairs = float(np.sum(table * (table - 1))) / 2
    rows = np.bincount(a_codes).astype(np.float64)
    cols = np.bincount(b_codes).astype(np.float64)
    row_pairs = float(np.sum(rows * (rows - 1))) / 2
    col_pairs = float(np.sum(cols * (cols - 1))) / 2
    total = n * (n - 1) / 2
    expected = row_pairs * col_pairs / total
    maximum = (row_pairs + col_pairs) / 2
    if maximum == expected:  # both labellings trivial in the same way (one cluster, or all singletons)
        return 1.0
    return float((pairs - expected) / (maximum - expected))


def _dbscan(z: FloatArray, params: ClusterParams) -> IntArray:
    from sklearn.cluster import DBSCAN

    model = DBSCAN(eps=params.dbscan_eps, min_samples=params.dbscan_min_samples, metric="cosine")
    return np.asarray(model.fit(z).labels_, dtype=np.int64)


def _finish(
    z: FloatArray, labels: IntArray, groups: IntArray, params: ClusterParams, weights: IntArray
) -> Clustering:
    """Drop small themes and far tickets, renumber themes and groups by size, compute centres and
    similarities. `groups[t]` is the group of raw theme t."""
    labels = labels.copy()
    for _ in range(2):  # dropping far tickets can shrink a theme below min_size, so settle twice
        labels = _drop_small(labels, params.min_size, weights)
        centroids = _centroids(z, labels)
        sim = _similarity(z, labels, centroids)
        if params.min_similarity_ratio > 0 and params.method == "ward":
            assigned = labels != UNASSIGNED
            if assigned.any():
                floor = params.min_similarity_ratio * float(np.median(sim[assigned]))
                labels[assigned & (sim < floor)] = UNASSIGNED
    labels = _drop_small(labels, params.min_size, weights)
    renumbered = _renumber_by_size(labels)
    theme_groups = _renumber_groups(labels, renumbered, groups)
    centroids = _centroids(z, renumbered)
    return Clustering(
        labels=renumbered,
        centroids=centroids,
        similarity=_similarity(z, renumbered, centroids),
        theme_groups=theme_groups,
    )


def _renumber_groups(raw: IntArray, renumbered: IntArray, groups: IntArray) -> IntArray:
    """The group of each renumbered theme, groups numbered 0.. by tickets (largest first)."""
    k = int(renumbered.max()) + 1 if renumbered.size and renumbered.max() >= 0 else 0
    raw_group = np.zeros(k, dtype=np.int64)
    for theme in range(k):
        raw_group[theme] = groups[int(raw[np.flatnonzero(renumbered == theme)[0]])]
    sizes = Counter[int]()
    for theme in range(k):
        sizes[int(raw_group[theme])] += int(np.count_nonzero(renumbered == theme))
    order = sorted(sizes, key=lambda g: (-sizes[g], g))
    mapping = {g: new for new, g in enumerate(order)}
    return np.array([mapping[int(g)] for g in raw_group], dtype=np.int64)


def _drop_small(labels: IntArray, min_size: int, weights: IntArray) -> IntArray:
    out = labels.copy()
    for theme in np.unique(labels[labels != UNASSIGNED]):
        if int(weights[labels == theme].sum()) < min_size:
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
    from scipy.sparse import csr_matrix

    assigned = np.flatnonzero(labels != UNASSIGNED)
    membership = csr_matrix(
        (np.ones(assigned.size), (labels[assigned], assigned)), shape=(k, z.shape[0]), dtype=np.float64
    )
    return normalise_rows(np.asarray(membership @ z.astype(np.float64)))


def _similarity(z: FloatArray, labels: IntArray, centroids: FloatArray) -> FloatArray:
    """Cosine similarity of each row to its theme centre; for unassigned rows, to the nearest centre."""
    if centroids.shape[0] == 0:
        return np.zeros(z.shape[0], dtype=np.float32)
    sims = z @ centroids.T
    own = np.where(labels >= 0, labels, np.argmax(sims, axis=1))
    return np.asarray(sims[np.arange(z.shape[0]), own], dtype=np.float32)
