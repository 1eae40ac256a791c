"""The seventh pass's adaptation benchmark (benchmarks/clustering/adapt.py): neighbour table, positive pairs,
length batches and the contrastive loss, on small hand-made inputs."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "clustering"))
# the benchmark scripts import their siblings by name
from adapt import info_nce, length_batches, nearest_neighbours, positive_pairs

from selfheal.reason.cluster.algorithms import normalise_rows


def _points() -> np.ndarray:
    rng = np.random.default_rng(3)
    return normalise_rows(rng.normal(size=(50, 8)))


def test_nearest_neighbours_match_a_full_sort_and_never_hold_the_row_itself() -> None:
    x = _points()
    table = nearest_neighbours(x, 5, block=7)  # blocks that do not divide the rows
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :5]
    np.testing.assert_array_equal(table, expected)
    assert not (table == np.arange(50)[:, None]).any()


def test_nearest_neighbours_cap_k_at_the_other_rows() -> None:
    assert nearest_neighbours(_points()[:4], 10).shape == (4, 3)


def test_neighbour_positives_are_drawn_from_the_row_of_their_anchor() -> None:
    x = _points()
    table = nearest_neighbours(x, 5)
    anchors = np.arange(50)
    positives = positive_pairs(anchors, table, 0.0, np.random.default_rng(0))
    assert all(positives[i] in table[i] for i in anchors)
    assert not (positives == anchors).any()
    # more than one of the k neighbours is used across draws
    draws = {int(positive_pairs(anchors[:1], table, 0.0, np.random.default_rng(s))[0]) for s in range(30)}
    assert len(draws) > 1


def test_simcse_positives_are_the_anchors_themselves_and_need_no_table() -> None:
    anchors = np.array([4, 2, 9])
    np.testing.assert_array_equal(positive_pairs(anchors, None, 1.0, np.random.default_rng(0)), anchors)
    with pytest.raises(ValueError, match="neighbour table"):
        positive_pairs(anchors, None, 0.5, np.random.default_rng(0))


def test_mixed_positives_are_about_half_self() -> None:
    x = _points()
    table = nearest_neighbours(x, 5)
    anchors = np.tile(np.arange(50), 40)
    positives = positive_pairs(anchors, table, 0.5, np.random.default_rng(1))
    share = float((positives == anchors).mean())
    assert 0.45 < share < 0.55
    others = positives != anchors
    assert all(p in table[a] for a, p in zip(anchors[others], positives[others], strict=True))


def test_length_batches_cover_the_rows_once_in_runs_of_similar_length() -> None:
    rng = np.random.default_rng(2)
    lengths = rng.integers(3, 60, size=200)
    rows = rng.permutation(200)[:130]
    batches = length_batches(lengths, rows, 16, np.random.default_rng(0))
    joined = np.concatenate(batches)
    assert sorted(joined.tolist()) == sorted(rows.tolist())
    assert [b.size for b in batches].count(16) == 8  # 130 = 8 x 16 + 2
    # batches do not overlap in length: each batch's range sits between its neighbours' in sorted order
    spans = sorted((int(lengths[b].min()), int(lengths[b].max())) for b in batches)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_info_nce_is_low_when_each_anchor_meets_its_own_positive() -> None:
    torch = pytest.importorskip("torch")
    x = torch.tensor(_points()[:16], dtype=torch.float32)
    matched = float(info_nce(x, x))
    shuffled = float(info_nce(x, x[torch.randperm(16, generator=torch.Generator().manual_seed(0))]))
    assert matched < 0.1 < np.log(16) < shuffled
    same = torch.nn.functional.normalize(torch.ones(16, 8), dim=1)
    assert float(info_nce(same, same)) == pytest.approx(np.log(16), abs=1e-5)
