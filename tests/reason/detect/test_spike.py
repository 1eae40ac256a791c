"""The spike detector (one point far outside its local range, taller than the series' own spikes) and the
context detector's spike channel."""

from __future__ import annotations

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
