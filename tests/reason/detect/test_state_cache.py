"""The streaming-state cache advances a fitted detector and gives the scores a fresh fit would give."""

from __future__ import annotations

import numpy as np

from selfheal.reason.detect import make_detector
from selfheal.reason.detect.state_cache import DetectorStateCache


def _series(n: int = 3000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 5 * np.sin(2 * np.pi * t / 1440) + rng.normal(0, 1, n)
    return values, 1_700_000_000_000 + t.astype(np.int64) * 60_000


def test_advancing_matches_a_fresh_fit_and_leaves_the_cached_state_alone() -> None:
    values, stamps = _series()
    values[2550:] += 30
    cache = DetectorStateCache()
    cache.fitted("orders", "context", values[:2000], stamps[:2000])
    det = cache.fitted("orders", "context", values[:2500], stamps[:2500])
    assert (cache.refits, cache.advances) == (1, 1)
    fresh = make_detector("context").fit(values[:2500], timestamps=stamps[:2500].astype("datetime64[ms]"))
    window = slice(2500, 2600)
    ts = stamps[window].astype("datetime64[ms]")
    np.testing.assert_allclose(
        det.score(values[window], timestamps=ts), fresh.score(values[window], timestamps=ts)
    )
    # Scoring the copy did not fold the window into the cache: the same call scores it the same way again.
    again = cache.fitted("orders", "context", values[:2500], stamps[:2500])
    first = make_detector("context").fit(values[:2500], timestamps=stamps[:2500].astype("datetime64[ms]"))
    np.testing.assert_allclose(
        again.score(values[window], timestamps=ts), first.score(values[window], timestamps=ts)
    )
    assert (cache.refits, cache.advances) == (1, 1)


def test_other_data_or_time_going_back_refits() -> None:
    values, stamps = _series()
    cache = DetectorStateCache()
    cache.fitted("orders", "context", values[:2000], stamps[:2000])
    cache.fitted("orders", "context", values[:2000] + 1.0, stamps[:2000])  # another database, same minutes
    cache.fitted("orders", "context", values[:1500], stamps[:1500])  # an earlier as_of
    assert cache.refits == 3
    assert cache.advances == 0
