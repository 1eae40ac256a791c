"""The context detector counts in time and knows the noise of low-volume counts."""

from __future__ import annotations

import numpy as np

from selfheal.reason.detect import make_detector
from selfheal.reason.detect.context import ContextDetector, count_tail


def _hours(n: int) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ms") + (np.arange(n) * 3_600_000).astype("timedelta64[ms]")


def test_counts_become_durations_on_a_coarser_series_and_stay_points_on_a_finer_one() -> None:
    det = ContextDetector()
    hourly = det.in_points(60.0)
    assert hourly["refractory"] == 8 and hourly["quiet"] == 8  # 100 points of 5 minutes = 500 minutes
    assert hourly["warmup"] == 33 and hourly["early"] == (17,)
    assert hourly["coarse"] == (2,)  # 24 five-minute points = 2 hours; 6 = 30 minutes is under one point
    assert det.in_points(1.0)["refractory"] == 100  # finer series keep the counts


def test_two_incidents_a_day_apart_on_an_hourly_series_both_alarm() -> None:
    rng = np.random.default_rng(3)
    n = 400
    values = 100 + rng.normal(0, 2, n)
    values[250:256] += 60
    values[280:286] -= 60  # 30 hours later: 360 points of silence would have hidden it
    scores = make_detector("context").score(values, timestamps=_hours(n))
    assert np.any(scores[250:256] >= 0.5)
    assert np.any(scores[280:286] >= 0.5)
    assert np.sum(scores[:240] >= 0.5) <= 2  # the price of a 33-hour warm-up: a new level or two early on
    in_points = make_detector("context", reference_minutes=0).score(values, timestamps=_hours(n))
    assert not np.any(in_points[280:286] >= 0.5)  # counted in points, the second one fell in the silence


def test_the_first_points_say_the_detector_is_not_confident_yet() -> None:
    det = make_detector("context")
    det.score(np.ones(20), timestamps=_hours(20))
    assert all(r.startswith("not confident yet: learning the sampling interval") for r in det.reasons()[:12])
    minutes = np.datetime64("2026-01-01T00:00", "ms") + (np.arange(150) * 300_000).astype("timedelta64[ms]")
    det.fit(np.ones(150), timestamps=minutes)
    det.score(np.ones(50), timestamps=minutes[-1] + (np.arange(1, 51) * 300_000).astype("timedelta64[ms]"))
    assert det.reasons() == [""] * 50  # warmed up: no more caveat


def test_isolated_events_on_a_near_zero_count_series_do_not_alarm_but_a_burst_does() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    values = (rng.random(n) < 0.003).astype(float)  # a rare single event, as on a quiet error counter
    values[2500:2506] = [4, 6, 5, 7, 5, 6]
    stamps = np.datetime64("2026-01-01T00:00", "ms") + (np.arange(n) * 60_000).astype("timedelta64[ms]")
    scores = make_detector("context").score(values, timestamps=stamps)
    assert not np.any(scores[:2500] >= 0.5)
    assert np.any(scores[2500:2506] >= 0.5)
    without_gate = make_detector("context", count_window=0).score(values, timestamps=stamps)
    assert np.any(without_gate[:2500] >= 0.5)  # the count model is what keeps it quiet


def test_count_tail_is_the_poisson_tail_and_widens_with_overdispersion() -> None:
    assert abs(count_tail(1, 0.01, 0.01) - (1 - np.exp(-0.01))) < 1e-12
    assert count_tail(10, 2.0, 8.0) > count_tail(10, 2.0, 2.0)
    assert abs(count_tail(0, 3.0, 3.0) - np.exp(-3.0)) < 1e-12


def test_a_whole_number_signal_that_is_not_a_counter_of_single_events_is_not_judged_as_counts() -> None:
    """0 or 20, never 1: a level switching, not a low-volume counter; denser bursts are a change, not noise."""
    n = 4000
    values = np.zeros(n)
    values[::100] = 20.0
    values[[2005, 2010, 2015, 2020]] = 20.0  # the bursts come five times as often
    stamps = np.datetime64("2026-01-01T00:00", "ms") + (np.arange(n) * 300_000).astype("timedelta64[ms]")
    det = ContextDetector()
    scores = det.score(values, timestamps=stamps)
    assert np.any(scores[2000:2100] >= 0.5)
    assert det.timed_ is not None and not det.timed_._normal_for_volume(20.0)
    counter = ContextDetector(reference_minutes=0)
    counter.score((np.arange(500) % 97 == 0).astype(float))  # single events now and then
    assert counter._normal_for_volume(1.0)


def _spiky_hours(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = 100 + rng.normal(0, 2, n)
    values[150] += 60  # a crash burst inside the first redraw's history
    values[300] += 60
    return values


def test_a_short_history_grid_learns_a_burst_as_its_local_median() -> None:
    """On an hourly series the grid is redrawn from a few days of points (266 hours here): a burst in them
    neither widens the grid nor becomes a known pattern, so the grid keeps the resolution of the normal
    values (the burst stays the spike channel's to judge)."""
    for seed in (0, 1):
        values = _spiky_hours(320, seed)
        det = make_detector("context")
        det.score(values, timestamps=_hours(320))
        top = det.timed_.lo_ + det.timed_.step_ * (det.timed_.levels - 1)
        assert top < 120  # the normal range (100 +- 6), not the burst's 160
        learned = make_detector("context", regrid_without_spikes=False)
        learned.score(values, timestamps=_hours(320))
        assert learned.timed_.lo_ + learned.timed_.step_ * (learned.timed_.levels - 1) > 150


def test_a_short_history_grid_is_looked_at_again_as_the_history_doubles_until_1600_points() -> None:
    det = ContextDetector()
    hourly = det.in_points(60.0)
    assert hourly["regrid"] == 133 and hourly["regrid_until"] == 1600
    assert det.in_points(5.0)["regrid_until"] == 0  # a five-minute grid is redrawn once, at 1,600 points
    rng = np.random.default_rng(5)
    n = 2200
    values = 100 + rng.normal(0, 1, n) * np.linspace(1, 4, n)  # the range keeps widening
    timed = make_detector("context")
    timed.score(values[:12], timestamps=_hours(12))
    steps = []
    for i in range(12, n):
        timed.score(values[i : i + 1], timestamps=_hours(n)[i : i + 1])
        if not steps or timed.timed_.step_ != steps[-1][1]:
            steps.append((i + 1, timed.timed_.step_))  # the first 12 points reach it too
    redrawn_at = [count for count, _ in steps if count > 33]
    assert redrawn_at == [133, 266, 532, 1064, 2128]
    assert timed.timed_.next_regrid_ == 0 and timed.timed_.history_ == []  # final: nothing more kept


def test_short_history_redraws_score_the_same_in_chunks() -> None:
    values = _spiky_hours(1200, 2)
    values[700:760] += 15  # and a shift, so that the grid is redrawn at the doublings
    whole = make_detector("context").score(values, timestamps=_hours(1200))
    det = make_detector("context")
    chunked = np.concatenate(
        [
            det.score(values[a:b], timestamps=_hours(1200)[a:b])
            for a, b in ((0, 7), (7, 140), (140, 531), (531, 1200))
        ]
    )
    np.testing.assert_array_equal(chunked, whole)


def _first_day_rise(days: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A per-minute rate whose daily cycle starts at its night trough: the first grids (200, then 400 minutes)
    hold only the night and the morning, and the afternoon peak climbs beyond them. Then, on the third day, a
    jump to twice the daily peak for half an hour."""
    rng = np.random.default_rng(8)
    t = np.arange(days * 1440)
    values = 100 + 50 * np.sin(2 * np.pi * (t - 360) / 1440) + rng.normal(0, 1.0, len(t))
    values[2 * 1440 + 600 : 2 * 1440 + 630] = 300.0
    stamps = np.datetime64("2026-01-01T00:00", "ms") + (t * 60_000).astype("timedelta64[ms]")
    return values, stamps


def test_the_first_days_rise_above_the_range_seen_so_far_is_not_confident_yet() -> None:
    values, stamps = _first_day_rise()
    det = make_detector("context")
    scores = det.score(values, timestamps=stamps)
    first_day = slice(100, 1440)  # after the 100-minute warm-up, until a day is seen
    assert not np.any(scores[first_day] >= det.default_threshold)
    assert any(
        "not confident yet: a new value level before a full day" in r for r in det.reasons()[first_day]
    )
    jump = slice(2 * 1440 + 600, 2 * 1440 + 630)
    assert np.any(scores[jump] >= det.default_threshold)  # a day later, a value beyond the day's range alarms
    # Without the first-day rule the afternoon peak of the first day alarmed as a new value level.
    eager = make_detector("context", levels_after_minutes=0).score(values, timestamps=stamps)
    assert np.any(eager[first_day] >= 0.5)


def test_the_first_day_rule_is_the_same_in_chunks_and_counted_in_time() -> None:
    values, stamps = _first_day_rise(2)
    whole = make_detector("context").score(values, timestamps=stamps)
    det = make_detector("context")
    cuts = [(0, 5), (5, 700), (700, 1439), (1439, 1441), (1441, len(values))]
    chunked = np.concatenate([det.score(values[a:b], timestamps=stamps[a:b]) for a, b in cuts])
    np.testing.assert_allclose(chunked, whole)
    assert ContextDetector().in_points(1.0)["levels_after"] == 1440  # a day of minutes
    assert ContextDetector().in_points(60.0)["levels_after"] == 24  # a day of hours
