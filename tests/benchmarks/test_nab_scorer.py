"""The NAB scorer against the published algorithm: perfect = 100, null = 0, and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from benchmarks.nab.scorer import (
    REWARD_LOW_FN,
    REWARD_LOW_FP,
    STANDARD,
    CorpusFile,
    file_rows,
    optimise,
    probation_rows,
    raw_score,
    scaled_sigmoid,
    score_at,
    sweep,
)

N = 100
BOUNDS = [(50, 59)]  # one window of width 10; probation is 15 rows


def _scores(*detections: int) -> np.ndarray:
    s = np.zeros(N)
    s[list(detections)] = 1.0
    return s


def _score(*detections: int, profile=STANDARD) -> float:
    rows = file_rows(_scores(*detections), BOUNDS, profile)
    return raw_score(rows, 1, 0.5, profile)


def test_probation_rule() -> None:
    assert probation_rows(100) == 15
    assert probation_rows(4032) == 604
    assert probation_rows(22695) == 750


def test_scaled_sigmoid_values() -> None:
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert scaled_sigmoid(3.5) == -1.0


def test_detection_at_window_start_earns_full_weight() -> None:
    assert _score(50) == pytest.approx(1.0)


def test_detection_at_window_end_worked_by_hand() -> None:
    # p = -(59 - 59 + 1) / 10 = -0.1 -> (2 / (1 + e^-0.5) - 1) / (2 / (1 + e^-5) - 1) = 0.244919 / 0.986614
    assert _score(59) == pytest.approx(0.248242, abs=1e-6)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    assert _score(55, 59, 50) == pytest.approx(1.0)
    assert _score(55, 59) == pytest.approx(_score(55))


def test_missed_window_and_false_positive_before_it() -> None:
    assert _score() == pytest.approx(-1.0)
    assert _score(20) == pytest.approx(-1.0 - 0.11)
    assert _score(20, profile=REWARD_LOW_FP) == pytest.approx(-1.0 - 0.22)
    assert _score(profile=REWARD_LOW_FN) == pytest.approx(-2.0)


def test_false_positive_just_after_window_is_cheap() -> None:
    # row 62: position |59 - 62| / (10 - 1) = 1/3 -> 2 / (1 + e^(5/3)) - 1 = -0.682256, times 0.11
    assert _score(50, 62) == pytest.approx(1.0 - 0.11 * 0.682256, abs=1e-6)
    # far past the window (> 3 widths) costs the full weight
    assert _score(50, 95) == pytest.approx(1.0 - 0.11)


def test_detections_in_probation_are_ignored() -> None:
    assert _score(3, 50) == pytest.approx(1.0)


def _files(*score_arrays: np.ndarray) -> list[CorpusFile]:
    return [CorpusFile(f"f{i}", s, BOUNDS) for i, s in enumerate(score_arrays)]


@pytest.mark.parametrize("profile", [STANDARD, REWARD_LOW_FP, REWARD_LOW_FN])
def test_perfect_is_100_and_null_is_0(profile) -> None:
    perfect = _files(_scores(50), _scores(50))
    null = _files(_scores(), _scores())
    assert score_at(perfect, profile, 0.5).normalised == pytest.approx(100.0)
    assert score_at(null, profile, 0.5).normalised == pytest.approx(0.0)


def test_normalised_hand_worked() -> None:
    # one window caught at its end (0.248242) and one missed (-1): (-0.751758 + 2) / 4 * 100
    res = score_at(_files(_scores(59), _scores()), STANDARD, 0.5)
    assert res.normalised == pytest.approx(31.2060, abs=1e-3)


def test_sweep_matches_scoring_at_each_threshold() -> None:
    rng = np.random.default_rng(0)
    files = [CorpusFile(f"f{i}", rng.random(N), [(30, 39), (70, 79)]) for i in range(3)]
    from benchmarks.nab.scorer import corpus_rows

    rows, n_windows = corpus_rows(files, STANDARD)
    for threshold, raw in sweep(rows, n_windows, STANDARD)[::25]:
        assert raw == pytest.approx(score_at(files, STANDARD, threshold).raw)


def test_optimise_finds_the_separating_threshold() -> None:
    s = np.full(N, 0.2)
    s[50] = 0.9
    s[20] = 0.5  # a false positive below the true detection
    best = optimise(_files(s), STANDARD)
    assert best.threshold == pytest.approx(0.9)
    assert best.normalised == pytest.approx(100.0)
