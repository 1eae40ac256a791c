"""The detector interface, the registry, causality, and count tests that respect small samples."""

from __future__ import annotations

import numpy as np
import pytest

from selfheal.errors import InvalidInput
from selfheal.reason.detect import REGISTRY, Detector, make_detector, register
from selfheal.reason.detect.anomalies import severity_for
from selfheal.reason.detect.counts import binomial_excess_pvalue, pvalue_to_score
from selfheal.reason.model import Severity


def _series(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 100 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, n)
    stamps = (np.datetime64("2024-01-01T00:00") + t * np.timedelta64(5, "m")).astype("datetime64[ms]")
    return values, stamps


def test_registry_has_the_detectors_and_rejects_unknown_names() -> None:
    assert {"robust", "binomial_rate", "poisson_drop"} <= set(REGISTRY)
    with pytest.raises(InvalidInput):
        make_detector("nope")
    with pytest.raises(InvalidInput):
        make_detector("robust", no_such_param=1)


def test_a_new_detector_is_one_class_and_one_registration() -> None:
    @register
    class Jump(Detector):
        name = "test_jump"

        def __init__(self, size: float = 5.0) -> None:
            self.size = size
            self.reset()

        def reset(self) -> None:
            self.last_ = None

        def _update(self, values, timestamps, trials):  # type: ignore[no-untyped-def]
            prev = np.concatenate([[values[0] if self.last_ is None else self.last_], values[:-1]])
            self.last_ = values[-1]
            return (np.abs(values - prev) >= self.size).astype(float)

    det = make_detector("test_jump", size=2)
    assert det.get_params() == {"size": 2}
    assert list(det.fit([1, 1, 1]).score([1, 5, 5])) == [0.0, 1.0, 0.0]
    REGISTRY.pop("test_jump")


def test_robust_scores_are_causal_and_incremental() -> None:
    values, stamps = _series()
    whole = make_detector("robust").score(values, timestamps=stamps)
    # The same points scored in chunks after fitting on a prefix give the same scores...
    det = make_detector("robust").fit(values[:2000], timestamps=stamps[:2000])
    chunked = np.concatenate(
        [det.score(values[i : i + 97], timestamps=stamps[i : i + 97]) for i in range(2000, 3000, 97)]
    )
    np.testing.assert_allclose(chunked, whole[2000:], atol=1e-9)
    # ...and changing the future does not change the past.
    changed = values.copy()
    changed[2500:] += 1000
    again = make_detector("robust").score(changed, timestamps=stamps)
    np.testing.assert_allclose(again[:2500], whole[:2500])


def test_robust_flags_a_level_shift_and_not_the_daily_pattern() -> None:
    values, stamps = _series()
    values[2600:] += 40
    scores = make_detector("robust").score(values, timestamps=stamps)
    threshold = make_detector("robust").default_threshold
    assert scores[2600:2610].max() >= threshold
    assert (scores[600:2600] >= threshold).sum() == 0
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0


def test_one_failure_in_three_checkouts_is_not_significant() -> None:
    p = binomial_excess_pvalue(np.array([1.0]), np.array([3.0]), 0.02)[0]
    assert p == pytest.approx(1 - 0.98**3)
    score = pvalue_to_score(np.array([p]))[0]
    assert score < 0.5
    assert severity_for(1.0, excess=1 - 0.06, rate=1 / 3) != Severity.critical


def test_many_failures_are_critical() -> None:
    p = binomial_excess_pvalue(np.array([60.0]), np.array([300.0]), 0.02)[0]
    score = float(pvalue_to_score(np.array([p]))[0])
    assert score == 1.0
    assert severity_for(score, excess=60 - 6, rate=0.2) == Severity.critical


def test_binomial_detector_learns_the_baseline_and_needs_trials() -> None:
    det = make_detector("binomial_rate").fit([2] * 100, trials=[100] * 100)
    assert det.rate_ == pytest.approx(0.02, rel=0.05)  # type: ignore[attr-defined]
    scores = det.score([2, 1, 30], trials=[100, 3, 100])
    assert scores[0] == 0.0
    assert scores[1] < 0.5
    assert scores[2] == 1.0
    with pytest.raises(InvalidInput):
        det.score([1, 2])
    with pytest.raises(InvalidInput):
        det.score([5], trials=[3])


def test_poisson_drop_detector_flags_a_collapse_only() -> None:
    det = make_detector("poisson_drop").fit([50] * 60)
    scores = det.score([48, 52, 5])
    assert scores[0] == 0.0
    assert scores[1] == 0.0
    assert scores[2] == 1.0


def test_context_is_the_default_and_scores_causally_in_chunks() -> None:
    from selfheal.reason.detect import DEFAULT_DETECTOR

    assert DEFAULT_DETECTOR == "context"
    values, stamps = _series()
    values[2600:] += 40
    whole = make_detector("context").score(values, timestamps=stamps)
    # Fit on a prefix shorter than the warm-up, then score in odd-sized chunks: the same scores.
    det = make_detector("context").fit(values[:150], timestamps=stamps[:150])
    chunked = np.concatenate(
        [det.score(values[i : i + 113], timestamps=stamps[i : i + 113]) for i in range(150, 3000, 113)]
    )
    np.testing.assert_allclose(chunked, whole[150:], atol=1e-12)
    changed = values.copy()
    changed[2000:] -= 500
    again = make_detector("context").score(changed, timestamps=stamps)
    np.testing.assert_allclose(again[:2000], whole[:2000])


def test_context_flags_a_level_shift_and_not_the_daily_pattern() -> None:
    values, stamps = _series()
    values[2600:] += 40
    det = make_detector("context")
    scores = det.score(values, timestamps=stamps)
    assert scores[2600:2605].max() >= det.default_threshold
    assert (scores[800:2600] >= det.default_threshold).sum() == 0
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0
    # One incident, one alarm: the refractory period silences the shifted level after the first alarm.
    assert (scores[2600 : 2600 + det.refractory] >= det.default_threshold).sum() == 1  # type: ignore[attr-defined]


def test_context_flags_a_new_shape_inside_the_familiar_range() -> None:
    values, stamps = _series()
    # A square wave replaces the sine for a while: every value stays inside the usual range.
    values[2600:2700] = np.where(np.arange(100) % 4 < 2, 90.0, 110.0)
    scores = make_detector("context").score(values, timestamps=stamps)
    assert scores[2600:2610].max() >= 0.5


def test_context_watches_a_short_series_before_its_warm_up_ends() -> None:
    # 260 points of a fast sine, then a jagged saw (high, low, middle) inside the same range: the final grid
    # needs 400 points, the provisional coarse grid (from point 200) already sees the new shape.
    rng = np.random.default_rng(0)
    t = np.arange(400)
    values = 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, 400)
    values[260:300] = np.resize([9.5, -9.5, 0.0], 40)
    stamps = (np.datetime64("2024-01-01T00:00") + t * np.timedelta64(5, "m")).astype("datetime64[ms]")
    scores = make_detector("context").score(values, timestamps=stamps)
    assert (scores[:260] >= 0.5).sum() == 0
    assert scores[260:270].max() >= 0.5
    # Without the provisional grid the new shape goes unseen until the warm-up ends.
    assert make_detector("context", early=()).score(values, timestamps=stamps)[260:300].max() < 0.5
