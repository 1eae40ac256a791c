"""The spike detector (one point far outside its local range, taller than the series' own spikes) and the
context detector's spike channel."""

from __future__ import annotations

import math

import numpy as np

from selfheal.reason.detect import make_detector


def _noisy(n: int = 1500, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(100.0, 2.0, n)


def test_a_lone_spike_alarms_and_a_lower_one_after_it_is_normal_for_the_series() -> None:
    values = _noisy()
    values[600] += 60  # about 40 robust units
    values[900] += 40  # tall, but no taller than the series' earlier spike
    det = make_detector("spike")
    scores = det.score(values)
    assert scores[600] >= det.default_threshold
    assert scores[900] < det.default_threshold
    assert np.flatnonzero(scores >= det.default_threshold).tolist() == [600]
    # Without the earlier spike the later one is news.
    alone = _noisy()
    alone[900] += 40
    assert make_detector("spike").score(alone)[900] >= 0.5
    # And with the level gate off, both alarm.
    assert (make_detector("spike", level_margin=0.0).score(values) >= 0.5).sum() == 2


def test_spike_scores_causally_in_chunks() -> None:
    values = _noisy(3000, seed=3)
    values[[700, 1800, 2500]] += [50, 80, 30]
    whole = make_detector("spike").score(values)
    det = make_detector("spike").fit(values[:400])
    chunked = np.concatenate([det.score(values[i : i + 131]) for i in range(400, len(values), 131)])
    np.testing.assert_allclose(chunked, whole[400:], atol=1e-12)
    future = values.copy()
    future[2000:] += 500
    np.testing.assert_array_equal(make_detector("spike").score(future)[:2000], whole[:2000])


def test_context_alarms_on_a_crash_burst_whose_value_is_familiar() -> None:
    """Hourly crash counts: busy for ten days, then quiet; a one-hour burst back to the busy level is no new
    value and no new shape, yet it is far outside the quiet weeks' range: the spike channel says so."""
    rng = np.random.default_rng(5)
    hours = np.arange(24 * 40)
    values = rng.poisson(np.where(hours < 24 * 10, 60.0, 10.0)).astype(float)
    burst = 24 * 30 + 3
    values[burst] = 62.0
    stamps = np.datetime64("2024-01-01T00:00") + hours.astype("timedelta64[h]")
    det = make_detector("context")
    scores = det.score(values, timestamps=stamps)
    assert scores[burst] >= det.default_threshold
    assert "a spike" in det.reasons()[burst]
    without = make_detector("context", spike_window=0).score(values, timestamps=stamps)
    assert without[burst] < 0.5


def test_spikes_of_the_same_height_as_before_are_the_series_usual_ones() -> None:
    """A 0/20 signal whose bursts always reach 20: after the first, none is taller than the series' own."""
    values = np.zeros(1500)
    values[::100] = 20.0
    values[1250] = 40.0  # taller than every burst before it
    det = make_detector("spike")
    alarms = np.flatnonzero(det.score(values) >= det.default_threshold).tolist()
    assert 1250 in alarms
    assert [i for i in alarms if i != 1250 and i >= 200] == []


def test_a_z_measured_while_the_window_fills_does_not_set_the_level_for_good() -> None:
    """A metric idle for its first 30 points (a scale from a few flat points) makes its first small step a
    z of hundreds; once a window's worth of z's measured against a full window is known, the level is theirs,
    so a burst taller than any the busy series has had alarms though that early z was taller."""
    rng = np.random.default_rng(5)
    values = 100.0 + rng.normal(0, 1.0, 1800)
    values[:30] = 100.0 + rng.normal(0, 0.01, 30)
    values[30] = 101.0  # z of about 100 against the idle start's scale
    values[1500] = 140.0  # about 40 robust units: taller than every burst measured against a full window
    det = make_detector("spike", window=576, history=2000)
    scores = det.score(values)
    assert scores[30] >= det.default_threshold
    assert scores[1500] >= det.default_threshold
    assert make_detector("spike", level_from=math.inf).score(values)[1500] < det.default_threshold  # old rule


def test_the_full_window_level_is_the_same_in_chunks() -> None:
    rng = np.random.default_rng(6)
    values = 100.0 + rng.normal(0, 1.0, 2600)
    values[:30] = 100.0
    values[30] = 101.0
    values[[700, 1300, 1500, 2200]] += [20.0, 25.0, 40.0, 30.0]
    whole = make_detector("spike").score(values)
    det = make_detector("spike")
    parts = np.concatenate([det.score(values[a:b]) for a, b in [(0, 17), (17, 600), (600, 1153), (1153, 2600)]])
    np.testing.assert_allclose(parts, whole)
