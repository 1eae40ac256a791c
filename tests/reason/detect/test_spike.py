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


def _ceiling_series() -> np.ndarray:
    """CPU % whose busy first half (noise 5) and quiet second half (noise 1) both spike to the 100 % ceiling."""
    rng = np.random.default_rng(7)
    values = np.concatenate([40.0 + rng.normal(0, 5.0, 1200), 20.0 + rng.normal(0, 1.0, 1800)])
    values[[300, 700, 1100, 1700, 2200, 2600]] = 100.0
    values[2900] = 20.0 + 120.0  # beyond the ceiling earlier spikes reached: still news
    return values


def test_a_spike_to_a_value_earlier_spikes_reached_is_usual_whatever_its_z() -> None:
    values = _ceiling_series()
    det = make_detector("spike")
    alarms = np.flatnonzero(det.score(values) >= det.default_threshold).tolist()
    assert [i for i in alarms if i >= 1200] == [2900]
    # Without the value level, the quiet half's 100 % spikes are z's never seen (scale 1, not 5): they alarm.
    old = make_detector("spike", value_level=False)
    assert 1700 in np.flatnonzero(old.score(values) >= old.default_threshold).tolist()


def test_the_value_level_is_the_same_in_chunks() -> None:
    values = _ceiling_series()
    whole = make_detector("spike").score(values)
    det = make_detector("spike")
    cuts = [(0, 13), (13, 700), (700, 1701), (1701, 3000)]
    np.testing.assert_allclose(np.concatenate([det.score(values[a:b]) for a, b in cuts]), whole)


def _two_news_spikes() -> np.ndarray:
    """A price-like series: a labelled spike at 600, the baseline moves up by 15 at 700, and at 1400 a second
    spike reaches a value beyond the first (170 > 160) though fewer robust units above today's median."""
    values = _noisy(1800, seed=11)
    values[700:] += 15.0
    values[600] = 160.0
    values[1400] = 170.0
    return values


def test_one_news_spike_does_not_make_the_next_as_tall_one_usual() -> None:
    values = _two_news_spikes()
    det = make_detector("spike", level_rank=4)
    scores = det.score(values)
    assert scores[600] >= det.default_threshold
    assert scores[1400] >= det.default_threshold
    # With the level set by the single tallest point (the old rule), the first spike hides the second.
    old = make_detector("spike")
    assert old.score(values)[1400] < old.default_threshold
    # A height reached by at least four points of the history is the series' own: a fifth spike as tall is usual.
    usual = values.copy()
    usual[[200, 300, 400, 500]] = 160.0
    assert make_detector("spike", level_rank=4).score(usual)[600] < 0.5


def test_the_context_detector_sees_the_next_windows_spike_on_an_hourly_series() -> None:
    """NAB's exchange-4_cpm in small: hourly, a labelled spike to 160, the baseline up by 15, and 120 hours
    later (inside the week of spike history) a spike to 162. The context detector's spike channel ranks the
    history (4 points by default): the second spike alarms; with the level set by the tallest point it did not."""
    values = np.random.default_rng(11).normal(100.0, 2.0, 900)
    values[620:] += 15.0
    values[600] = 160.0
    values[720] = 162.0
    stamps = np.datetime64("2024-01-01T00:00") + np.arange(len(values)).astype("timedelta64[h]")
    context = make_detector("context")
    scores = context.score(values, timestamps=stamps)
    assert scores[600] >= context.default_threshold
    assert scores[720] >= context.default_threshold
    assert "a spike" in context.reasons()[720]
    assert make_detector("context", spike_rank=1).score(values, timestamps=stamps)[720] < 0.5


def test_the_spike_rank_is_the_same_in_chunks() -> None:
    values = _two_news_spikes()
    whole = make_detector("spike", level_rank=4).score(values)
    det = make_detector("spike", level_rank=4)
    cuts = [(0, 13), (13, 600), (600, 1401), (1401, 1800)]
    np.testing.assert_allclose(np.concatenate([det.score(values[a:b]) for a, b in cuts]), whole)


def _nightly_bursts(days: int = 14, seed: int = 21) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """NAB's ec2_cpu_utilization_c6585a in small: 5-minute CPU, flat near 0.066 %, one 5-minute burst each
    night at 03:30 whose height wanders by a few per cent; every third night it is a little taller than all before."""
    rng = np.random.default_rng(seed)
    per_day = 288
    values = 0.066 + rng.integers(0, 3, days * per_day) * 0.002
    heights = 1.40 * np.cumprod(np.where(np.arange(days) % 3 == 2, 1.045, 0.985))
    nights = [d * per_day + 42 for d in range(days)]
    values[nights] = heights
    stamps = np.datetime64("2024-01-01T00:00") + (np.arange(len(values)) * 5).astype("timedelta64[m]")
    return values, stamps, nights


def test_a_burst_the_series_repeats_nightly_stays_usual_when_a_little_taller() -> None:
    values, stamps, nights = _nightly_bursts()
    spike = "a spike"
    context = make_detector("context")
    context.score(values, timestamps=stamps)
    assert not [reason for reason in context.reasons()[nights[3] :] if spike in reason]
    # Without the recurrence rule, a night taller than all before is news.
    old = make_detector("context", spike_recur=0)
    old.score(values, timestamps=stamps)
    assert [reason for reason in old.reasons()[nights[3] :] if spike in reason]


def test_a_burst_clearly_taller_than_the_repeated_ones_still_alarms() -> None:
    values, stamps, nights = _nightly_bursts()
    values[nights[9]] *= 1.5  # half as tall again as the nightly burst
    context = make_detector("context")
    scores = context.score(values, timestamps=stamps)
    assert scores[nights[9]] >= context.default_threshold
    assert "a spike" in context.reasons()[nights[9]]


def test_one_long_episode_does_not_make_itself_usual() -> None:
    """Hourly crash counts: a five-hour episode at about 2,000, then a week later a second one as tall. The
    points of one episode are one burst, so the second episode is news (an expert labels both)."""
    rng = np.random.default_rng(6)
    values = rng.poisson(10.0, 24 * 14).astype(float)
    values[100:105] = [1900.0, 1980.0, 2030.0, 2100.0, 2010.0]
    values[200:203] = [1600.0, 2180.0, 2200.0]
    det = make_detector("spike", level_rank=4, history=167, window=48, recur_count=2, recur_tolerance=0.1)
    scores = det.score(values)
    assert scores[201] >= det.default_threshold  # counting points, five earlier ones were as tall
    # Two earlier episodes at that height make a third one usual.
    values[150:152] = [2100.0, 2150.0]
    again = make_detector("spike", level_rank=4, history=167, window=48, recur_count=2, recur_tolerance=0.1)
    assert again.score(values)[201] < 0.5


def test_the_burst_recurrence_is_the_same_in_chunks() -> None:
    values, _, _ = _nightly_bursts()
    params = {"level_rank": 4, "recur_count": 2, "recur_tolerance": 0.1}
    whole = make_detector("spike", **params).score(values)
    det = make_detector("spike", **params)
    cuts = [(0, 5), (5, 330), (330, 331), (331, 2000), (2000, len(values))]
    np.testing.assert_allclose(np.concatenate([det.score(values[a:b]) for a, b in cuts]), whole)
    future = values.copy()
    future[3000:] *= 3
    np.testing.assert_array_equal(make_detector("spike", **params).score(future)[:3000], whole[:3000])
