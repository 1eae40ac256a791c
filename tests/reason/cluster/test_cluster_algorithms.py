from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from selfheal.errors import InvalidInput
from selfheal.reason.cluster import UNASSIGNED, ClusterParams, cluster_vectors
from selfheal.reason.cluster.algorithms import (
    adjusted_rand,
    effective_neighbours,
    euclidean_distances,
    neighbourhood_means,
    ward_tree_from_distances,
)


def blobs(
    n: int, k: int = 6, dim: int = 32, spread: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`n` unit vectors around `k` random directions, with their true theme."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    truth = rng.integers(0, k, size=n)
    points = centres[truth] / np.linalg.norm(centres[truth], axis=1, keepdims=True)
    points = points + rng.normal(scale=spread / np.sqrt(dim), size=points.shape) * 1.0
    return points / np.linalg.norm(points, axis=1, keepdims=True), truth


@pytest.mark.parametrize("granularity", ["auto", "fixed"])
@pytest.mark.parametrize("n", [300, 1200, 4000])
def test_finds_the_themes_without_being_told_k_at_any_batch_size(n: int, granularity: str) -> None:
    """Six well-separated themes give six themes under either rule (`auto` would give its size prior's
    floor of ten if the fixed cut's count did not lower that floor)."""
    vectors, truth = blobs(n)
    result = cluster_vectors(vectors, ClusterParams(granularity=granularity))  # type: ignore[arg-type]
    assert result.n_themes == 6
    assigned = result.labels != UNASSIGNED
    assert assigned.mean() > 0.9
    assert adjusted_rand_score(truth[assigned], result.labels[assigned]) > 0.95


def test_labels_are_numbered_largest_theme_first_and_centres_are_unit() -> None:
    vectors, _ = blobs(500)
    result = cluster_vectors(vectors)
    sizes = [int(np.count_nonzero(result.labels == t)) for t in range(result.n_themes)]
    assert sizes == sorted(sizes, reverse=True)
    assert np.allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
    assert result.similarity.shape == (500,)


def test_a_far_away_ticket_is_left_unassigned() -> None:
    vectors, _ = blobs(400)
    stray = np.random.default_rng(9).normal(size=(1, vectors.shape[1]))
    result = cluster_vectors(np.vstack([vectors, stray / np.linalg.norm(stray)]))
    assert result.labels[-1] == UNASSIGNED
    assert result.unassigned < 0.1 * 401


def test_without_an_outlier_rule_every_ticket_is_assigned() -> None:
    vectors, _ = blobs(400)
    result = cluster_vectors(vectors, ClusterParams(min_similarity_ratio=0.0, min_size=1))
    assert result.unassigned == 0


def test_dbscan_stays_selectable_and_marks_noise() -> None:
    vectors, truth = blobs(600, spread=0.15)
    noise = np.random.default_rng(3).normal(size=(5, vectors.shape[1]))
    data = np.vstack([vectors, noise / np.linalg.norm(noise, axis=1, keepdims=True)])
    result = cluster_vectors(data, ClusterParams(method="dbscan", dbscan_eps=0.2))
    assert result.n_themes == 6
    assert (result.labels[-5:] == UNASSIGNED).all()
    assert adjusted_rand_score(truth, result.labels[:600]) > 0.95


def test_identical_tickets_form_one_theme() -> None:
    result = cluster_vectors(np.ones((10, 4)))
    assert result.n_themes == 1
    assert result.unassigned == 0


def test_tiny_and_empty_batches() -> None:
    assert cluster_vectors(np.zeros((0, 8))).n_themes == 0
    single = cluster_vectors(np.ones((1, 8)))
    assert single.labels.tolist() == [UNASSIGNED]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"method": "kmeans"}, "method"),
        ({"ward_tau": 0}, "ward_tau"),
        ({"min_similarity_ratio": -0.1}, "min_similarity_ratio"),
        ({"min_size": 0}, "min_size"),
        ({"dbscan_eps": 3.0}, "dbscan_eps"),
        ({"neighbours": 0}, "neighbours"),
    ],
)
def test_bad_parameters_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ClusterParams(**kwargs)  # type: ignore[arg-type]
    assert caught.value.details["field"] == field


def test_bad_vectors_are_rejected() -> None:
    with pytest.raises(InvalidInput):
        cluster_vectors(np.array([[np.nan, 1.0], [1.0, 0.0]]))
    with pytest.raises(InvalidInput):
        cluster_vectors(np.ones(5))


def test_neighbourhood_means_average_each_row_with_its_nearest_pool_rows() -> None:
    pool = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    rows = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    averaged = neighbourhood_means(rows, pool, 2)
    expected = np.array([[1.8, 0.6], [0.8, 1.6]])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(averaged, expected, atol=1e-6)
    assert np.array_equal(neighbourhood_means(rows, pool, 1), rows)


def test_averaging_neighbours_keeps_noisy_tickets_of_one_theme_together() -> None:
    """Noisy wording fragments the Ward tree into many small themes; clustering each ticket as the mean of
    its neighbours removes most of that noise."""
    vectors, truth = blobs(1200, spread=1.0, seed=0)
    alone = cluster_vectors(vectors, ClusterParams(granularity="fixed", neighbours=1, min_similarity_ratio=0))
    averaged = cluster_vectors(vectors, ClusterParams(granularity="fixed", min_similarity_ratio=0))
    assert averaged.n_themes < alone.n_themes / 2
    assert adjusted_rand_score(truth, averaged.labels) > adjusted_rand_score(truth, alone.labels) + 0.3


def test_the_unassigned_rule_reads_the_tickets_own_vectors() -> None:
    """A stray ticket is averaged with its neighbours for clustering, but it is still far from every theme
    centre on its own, so it stays unassigned."""
    vectors, _ = blobs(400)
    stray = np.random.default_rng(9).normal(size=(1, vectors.shape[1]))
    result = cluster_vectors(
        np.vstack([vectors, stray / np.linalg.norm(stray)]), ClusterParams(neighbours=10)
    )
    assert result.labels[-1] == UNASSIGNED
    assert result.similarity[-1] < 0.5


def test_a_small_batch_is_not_blurred_by_its_neighbourhoods() -> None:
    """Three themes of five tickets: a 10-ticket neighbourhood would mix every theme with the next; the
    neighbourhood is capped by the smallest theme the size prior allows, so small batches are not averaged."""
    assert effective_neighbours(15, ClusterParams()) == 1
    assert effective_neighbours(1000, ClusterParams()) == 8
    assert effective_neighbours(10_000, ClusterParams()) == 10
    vectors, truth = blobs(15, k=3, spread=0.1, seed=4)
    result = cluster_vectors(vectors, ClusterParams(min_similarity_ratio=0))
    assert result.n_themes == len(set(truth.tolist()))
    assert adjusted_rand_score(truth, result.labels) == 1.0


@pytest.mark.parametrize("seed", range(20))
def test_the_stability_score_agrees_with_the_reference_adjusted_rand_index(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 80))
    a = rng.integers(0, int(rng.integers(1, 9)), size=n)
    b = a.copy() if seed % 4 == 0 else rng.integers(5, 5 + int(rng.integers(1, 9)), size=n)
    assert adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)


@pytest.mark.parametrize(
    ("a", "b"), [([0, 0, 0], [1, 1, 1]), ([0, 1, 2], [0, 1, 2]), ([0, 0, 0], [0, 1, 2]), ([3], [4])]
)
def test_the_adjusted_rand_index_of_trivial_labellings_matches_the_reference(
    a: list[int], b: list[int]
) -> None:
    assert adjusted_rand(np.array(a), np.array(b)) == adjusted_rand_score(a, b)


def test_the_ward_tree_from_one_distance_matrix_is_scipys_ward_tree() -> None:
    """The sample's distances are computed once and subsample trees index them; the
    merges are the ones scipy finds from the points themselves."""
    from scipy.cluster.hierarchy import fcluster, linkage

    vectors, _ = blobs(300, spread=0.6, seed=3)
    points = vectors.astype(np.float32)
    distances = euclidean_distances(points)
    reference = linkage(points.astype(np.float64), method="ward")
    ours = ward_tree_from_distances(distances)
    assert np.allclose(ours[:, 2], reference[:, 2], atol=1e-4)
    for k in (2, 6, 20):
        assert (
            adjusted_rand_score(
                fcluster(reference, k, criterion="maxclust"), fcluster(ours, k, criterion="maxclust")
            )
            == 1.0
        )
    subset = np.arange(0, 300, 3)
    sub_tree = ward_tree_from_distances(distances[np.ix_(subset, subset)])
    assert np.allclose(
        sub_tree[:, 2], linkage(points[subset].astype(np.float64), method="ward")[:, 2], atol=1e-4
    )
