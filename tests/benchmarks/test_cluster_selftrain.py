"""The self-training benchmark's projections (benchmarks/clustering/selftrain.py), on a synthetic set where a
nuisance direction dominates the distances."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.clustering.selftrain import project
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from selfheal.reason.cluster.algorithms import centre, normalise_rows


def _nuisance_set() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two themes 2 apart on axis 0; within each, two wordings 8 apart on axis 1 (the nuisance)."""
    rng = np.random.default_rng(0)
    theme = np.repeat([0, 1], 200)
    nuisance = np.tile(np.repeat([0, 1], 100), 2)
    x = rng.normal(0, 0.3, (400, 10))
    x[:, 0] += np.where(theme == 1, 1.0, -1.0)
    x[:, 1] += np.where(nuisance == 1, 4.0, -4.0)
    x[:, 2] += 10.0  # a shared offset, as sentence embeddings have
    return x, theme, nuisance


def _two_means(x: np.ndarray) -> np.ndarray:
    return np.asarray(KMeans(n_clusters=2, n_init=10, random_state=0).fit(normalise_rows(centre(x))).labels_)


def test_without_projection_the_nuisance_decides() -> None:
    x, theme, nuisance = _nuisance_set()
    labels = _two_means(x)
    assert adjusted_rand_score(nuisance, labels) == pytest.approx(1.0)
    assert adjusted_rand_score(theme, labels) < 0.05


@pytest.mark.parametrize("mode", ["white 0.35", "white 0.5", "lda"])
def test_projection_fitted_on_theme_labels_removes_the_nuisance(mode: str) -> None:
    x, theme, _ = _nuisance_set()
    labels = _two_means(project(x, theme.astype(np.int64), mode))
    assert adjusted_rand_score(theme, labels) == pytest.approx(1.0)


def test_unassigned_rows_do_not_enter_the_fit() -> None:
    x, theme, _ = _nuisance_set()
    pseudo = theme.astype(np.int64).copy()
    pseudo[::7] = -1
    projected = project(x, pseudo, "white 0.5")
    assert projected.shape == x.shape
    assert adjusted_rand_score(theme, _two_means(projected)) == pytest.approx(1.0)
