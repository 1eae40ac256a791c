"""The detectors' rolling statistics keep pandas' rolling semantics without pandas at run time (pandas is only
the reference here: it is a dev dependency, not a core one)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from selfheal.reason.detect.rolling import rolling_mean_std, rolling_quantiles, shifted


def test_rolling_statistics_match_pandas_with_nans_min_periods_and_a_start() -> None:
    rng = np.random.default_rng(0)
    for trial in range(12):
        n, window = int(rng.integers(50, 1500)), int(rng.integers(2, 300))
        min_periods, start = int(rng.integers(1, window + 1)), int(rng.integers(0, n))
        values = rng.standard_normal(n) * 10.0 ** int(rng.integers(-3, 4))
        if trial % 3 == 0:
            values = np.round(values)  # ties and runs of equal values
        values[rng.random(n) < 0.1] = np.nan
        roll = pd.Series(values).rolling(window, min_periods=min_periods)
        expected = np.vstack([roll.median(), roll.quantile(0.25), roll.quantile(0.75)])[:, start:]
        got = rolling_quantiles(values, window, min_periods, (0.5, 0.25, 0.75), start)
        np.testing.assert_array_equal(got, expected)  # bit for bit, NaN where pandas has NaN
        mean, std = rolling_mean_std(values, window, min_periods, start)
        np.testing.assert_allclose(mean, roll.mean().to_numpy()[start:], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(std, roll.std().to_numpy()[start:], rtol=1e-9, atol=1e-12)


def test_a_flat_window_has_exactly_zero_deviation_and_shift_pads_with_nan() -> None:
    values = np.concatenate([np.full(50, 0.1), [0.3], np.full(50, 0.1)])
    _, std = rolling_mean_std(values, 20, 2)
    assert std[19] == 0.0 and std[-1] == 0.0 and std[60] > 0
    np.testing.assert_array_equal(shifted(np.arange(4.0), 2), [np.nan, np.nan, 0.0, 1.0])
