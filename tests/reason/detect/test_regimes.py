"""Two regimes: plateaus a series keeps visiting and leaving are usual; a new level, a crash, a far taller
plateau still alarm."""

from __future__ import annotations

import numpy as np

from selfheal.reason.detect import make_detector
from selfheal.reason.detect.regimes import RegimeTracker

DAY = 1440
THRESHOLD = 0.5


def _minutes(n: int) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ms") + (np.arange(n) * 60_000).astype("timedelta64[ms]")


def _plateaus(seed: int, days: int, heights: tuple[float, float], gaps: tuple[int, int]) -> np.ndarray:
    """A per-minute request rate on a daily cycle around 60 that climbs, in one to three minutes, to a
    10-40-minute plateau at `heights` times its level, then falls back, and again after `gaps` minutes."""
    rng = np.random.default_rng(seed)
    n = days * DAY
    base = 60 + 20 * np.sin(2 * np.pi * np.arange(n) / DAY)
    values = base * (1 + rng.normal(0, 0.05, n))
    i = 300
    while i < n - 60:
        length = int(rng.integers(10, 41))
        height = rng.uniform(*heights)
        ramp = int(rng.integers(1, 4))
        profile = np.ones(length)
        profile[:ramp] = np.linspace(0.5, 1, ramp + 1)[1:]
        values[i : i + length] = base[i : i + length] * (1 + (height - 1) * profile)
        values[i : i + length] *= 1 + rng.normal(0, 0.05, length)
        i += length + int(rng.integers(*gaps))
    return values


def _two_regime(seed: int, days: int = 5) -> np.ndarray:
    """Plateaus at 2-3.5 times the level every one to four hours."""
    return _plateaus(seed, days, (2.0, 3.5), (60, 240))


def _alarms_after_first_day(values: np.ndarray, **params: object) -> list[int]:
    scores = make_detector("context", **params).score(values, timestamps=_minutes(len(values)))
    return [int(i) for i in np.nonzero(scores >= THRESHOLD)[0] if i >= DAY]


def test_a_series_that_keeps_visiting_its_plateaus_stays_quiet() -> None:
    for seed in (1, 2):
        values = _two_regime(seed)
        assert _alarms_after_first_day(values) == []
        assert _alarms_after_first_day(values, regime_visits=0)  # the rule is what keeps it quiet


def test_the_quiet_plateaus_say_why() -> None:
    values = _two_regime(1)
    det = make_detector("context")
    det.score(values, timestamps=_minutes(len(values)))
    assert any(r.startswith("usual: a plateau like the") for r in det.reasons()[DAY:])


def test_a_rise_of_the_low_level_on_a_two_regime_series_still_alarms() -> None:
    for seed in (1, 2):
        values = _two_regime(seed)
        values[4 * DAY :] *= 2.2  # the low level itself doubles: a change, not a visit
        alarms = _alarms_after_first_day(values)
        assert alarms and 4 * DAY <= alarms[0] <= 4 * DAY + 180


def test_a_crash_on_a_two_regime_series_still_alarms() -> None:
    values = _two_regime(1)
    values[4 * DAY + 100 : 4 * DAY + 110] = 0.5
    assert any(4 * DAY + 100 <= i < 4 * DAY + 110 for i in _alarms_after_first_day(values))


def test_a_plateau_far_taller_than_the_usual_ones_still_alarms() -> None:
    values = _two_regime(1)
    start = 4 * DAY + int(np.argmin(values[4 * DAY : 4 * DAY + 200]))
    values[start : start + 20] = values[start - 30 : start].min() * 8
    assert any(start <= i < start + 20 for i in _alarms_after_first_day(values))


def _tracker() -> RegimeTracker:
    return RegimeTracker(
        base_points=180,
        ratio=1.5,
        visit_points=5,
        visit_max_points=120,
        visits=3,
        history_points=2 * DAY,
        recent_points=30,
        height_margin=1.5,
    )


def _feed(tracker: RegimeTracker, values: list[float]) -> None:
    for x in values:
        tracker.add(x)


def test_a_plateau_is_usual_only_after_enough_visits_of_similar_height_from_the_same_low_level() -> None:
    tracker = _tracker()
    flat = [100.0] * 200
    visit = [250.0] * 20
    _feed(tracker, flat)
    _feed(tracker, visit)
    assert tracker.usual_plateau() == (False, 0)  # the first visit: nothing to compare with
    for _ in range(3):
        _feed(tracker, flat)
        _feed(tracker, visit[:10])
    assert tracker.usual_plateau() == (True, 3)  # three visits ended before: the fourth is usual
    _feed(tracker, [100.0] * 40 + [700.0] * 10)
    assert not tracker.usual_plateau()[0]  # 7x the level: far taller than the 2.5x visits (1.5 x their rise)
    _feed(tracker, [100.0] * 40 + [160.0] * 10)
    assert tracker.usual_plateau()[0]
    _feed(tracker, [10.0] * 40)
    assert not tracker.usual_plateau()[0]  # back below the high regime
    single = _tracker()
    _feed(single, [100.0 + (i % 7) for i in range(3 * DAY)])
    assert single.usual_plateau() == (False, 0)  # one regime: nothing is ever a usual plateau


def test_a_risen_low_level_is_not_a_visit() -> None:
    tracker = _tracker()
    for _ in range(5):
        _feed(tracker, [100.0] * 120 + [250.0] * 20)
    _feed(tracker, [100.0] * 60)
    _feed(tracker, [250.0] * 5)
    assert tracker.usual_plateau()[0]
    _feed(tracker, [250.0] * 400)  # stays up: the low level itself becomes 250
    assert not tracker.usual_plateau()[0]


def test_the_two_regime_rule_is_the_same_in_chunks_and_counted_in_time() -> None:
    values = _two_regime(2, days=3)
    stamps = _minutes(len(values))
    whole = make_detector("context")
    expected = whole.score(values, timestamps=stamps)
    chunked = make_detector("context")
    parts = []
    reasons: list[str] = []
    for left in range(0, len(values), 997):
        parts.append(chunked.score(values[left : left + 997], timestamps=stamps[left : left + 997]))
        reasons += chunked.reasons()
    chunks = np.concatenate(parts)
    np.testing.assert_allclose(chunks, expected, rtol=0, atol=1e-12)  # the robust channel's sums: 1e-16 apart
    np.testing.assert_array_equal(chunks >= THRESHOLD, expected >= THRESHOLD)
    assert reasons == whole.reasons()
    five_minutes = make_detector("context").in_points(5.0)
    assert five_minutes["sampling_minutes"] == 5.0  # the tracker's durations become points of this series


def test_a_spike_or_an_hours_long_episode_is_not_a_visit() -> None:
    tracker = _tracker()
    for _ in range(5):
        _feed(tracker, [100.0] * 200 + [300.0] * 2)  # two-point bursts: spikes
    assert tracker.usual_plateau()[1] == 0
    for _ in range(5):
        _feed(tracker, [100.0] * 200 + [300.0] * 130)  # over two hours high: episodes, not visits
    _feed(tracker, [100.0] * 200)
    assert tracker.usual_plateau()[1] == 0


def _daily_visits(seed: int, days: int = 7) -> np.ndarray:
    """Plateaus at 2.4-2.6 times the level about once a day (every 18-23 hours): a daily job at a wandering
    hour."""
    return _plateaus(seed, days, (2.4, 2.6), (1100, 1350))


NOVELTY = ("a new shape", "a new value level", "a slow change")


def _novelty_alarms_after(values: np.ndarray, start: int, **params: object) -> list[int]:
    """Alarm rows from `start` on that come from the grids' novelty (the channels the two-regime rule reaches)."""
    det = make_detector("context", **params)
    scores = det.score(values, timestamps=_minutes(len(values)))
    reasons = det.reasons()
    return [
        int(i) for i in np.nonzero(scores >= THRESHOLD)[0] if i >= start and reasons[i].startswith(NOVELTY)
    ]


def test_a_plateau_the_series_visits_about_once_a_day_is_usual_after_three_days() -> None:
    for seed in (1, 2, 3, 4, 5):
        assert _novelty_alarms_after(_daily_visits(seed), 3 * DAY) == []
    # Two days hold at most two earlier daily visits: the habit is not seen and a visit alarms as a new level.
    assert _novelty_alarms_after(_daily_visits(4), 3 * DAY, regime_history_minutes=2 * DAY)
    det = make_detector("context")
    values = _daily_visits(1)
    det.score(values, timestamps=_minutes(len(values)))
    assert any(r.startswith("usual: a plateau like the 3") and "4320 minutes" in r for r in det.reasons())


def test_daily_visits_are_counted_over_three_days_not_two() -> None:
    def tracker(history_days: int) -> RegimeTracker:
        return RegimeTracker(180, 1.5, 10, 120, 3, history_days * DAY, 30, 1.0)

    three, two = tracker(3), tracker(2)
    day = [100.0] * 1300 + [250.0] * 20  # a 20-minute visit every 22 hours
    for _ in range(3):
        _feed(three, day)
        _feed(two, day)
    _feed(three, [100.0] * 1300 + [250.0] * 10)
    _feed(two, [100.0] * 1300 + [250.0] * 10)
    assert three.usual_plateau() == (True, 3)  # the fourth visit: three ended in the previous 66 hours
    assert two.usual_plateau() == (False, 2)  # two days reach back to only two of them


def test_a_taller_plateau_on_a_daily_visit_series_still_alarms() -> None:
    values = _daily_visits(1)
    start = 5 * DAY + 600
    values[start : start + 20] = values[start - 30 : start].min() * 8
    det = make_detector("context")
    scores = det.score(values, timestamps=_minutes(len(values)))
    assert np.any(scores[start : start + 20] >= THRESHOLD)
