"""A weekly-seasonal detector: is the series departing, for a while, from the same time last week?

Commerce KPIs (orders, checkouts, revenue) and most traffic follow a week: a Saturday looks like last Saturday,
not like Friday. A holiday, a marketing e-mail or an outage breaks that for hours. This detector only speaks on
series the week explains well, and only on sustained departures:

1. Residual: `x - median(x one week ago, two weeks ago, ...)` (`weeks` lags; the first lag is enough to start).
2. Surprise: `|residual - rolling median| / rolling scale` over the previous `window_days` of residuals.
3. Sustained: the mean surprise over the last `short` points, as a z-score against its own distribution over the
   previous `long` points (as in Numenta's anomaly likelihood), so a series whose weekly fit is always loose does
   not alarm, and a departure that lasts does.
4. Fit gate: the residual's spread must be below `fit_ratio` times the series' own spread over the same past window;
   on series the week does not explain (spiky, trending, too short), the score is 0.

The score maps the z-score linearly so that `default_threshold` (0.5) means `z_alarm` standard deviations.
Needs evenly spaced timestamps whose step divides a day; scores 0 until `full_weeks` weeks are seen (one week
back is a single sample of the pattern: on an eleven-day series every ordinary difference between two weeks
would look like a departure).
Causal and incremental: chunked scoring equals whole-series scoring.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from selfheal.reason.detect.base import Detector, FloatArray, register
from selfheal.reason.detect.robust import daily_period, sustained_z
from selfheal.reason.detect.rolling import median_of_known, rolling_quantiles, shifted


@register
class WeeklyDetector(Detector):
    """Sustained departure from the same time in previous weeks, on series the week explains."""

    name = "weekly"
    default_threshold = 0.5

    def __init__(
        self,
        weeks: int = 2,
        window_days: float = 14.0,
        short: int = 8,
        long: int = 2000,
        z_alarm: float = 5.0,
        fit_ratio: float = 0.4,
        min_points: int = 100,
        full_weeks: int = 2,
    ) -> None:
        self.weeks = weeks
        self.window_days = window_days
        self.short = short
        self.long = long
        self.z_alarm = z_alarm
        self.fit_ratio = fit_ratio
        self.min_points = min_points
        self.full_weeks = full_weeks
        self.reset()

    def reset(self) -> None:
        self.values_: FloatArray = np.zeros(0)
        self.surprise_: FloatArray = np.zeros(0)
        self.period_: int = 0
        self.seen_ = 0
        self.expected_: FloatArray = np.zeros(0)

    def _window(self) -> int:
        return max(int(self.window_days * self.period_), self.min_points)

    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        m = len(values)
        if not self.period_ and timestamps is not None and len(timestamps) > 1:
            self.period_ = daily_period(timestamps)
        if not self.period_:
            self.expected_ = values.copy()
            self.seen_ += m
            return np.zeros(m)
        week = 7 * self.period_
        window = self._window()
        every = np.concatenate([self.values_, values])
        # Only the last `window + m` points need residuals: each new point's statistics cover the `window`
        # residuals before it. Lagged values reach further back into the kept history.
        n = len(every)
        at = np.arange(max(0, n - window - m), n)
        with np.errstate(all="ignore"):
            lagged = np.column_stack(
                [
                    np.where(at >= k * week, every[np.maximum(at - k * week, 0)], np.nan)
                    for k in range(1, self.weeks + 1)
                ]
            )
            base = median_of_known(lagged)
            resid = every[at] - base
            first = len(at) - m
            quartiles = (0.5, 0.25, 0.75)
            r_med, r_q1, r_q3 = rolling_quantiles(
                shifted(resid, 1), window, self.min_points, quartiles, first
            )
            x_q1, x_q3 = rolling_quantiles(
                shifted(every[at], 1), window, self.min_points, (0.25, 0.75), first
            )
            r_iqr = r_q3 - r_q1
            z: FloatArray = np.abs(resid[first:] - r_med) / np.maximum(r_iqr / 1.349, 1e-9)
            good = r_iqr < self.fit_ratio * (x_q3 - x_q1)
        surprise = np.where(np.isfinite(z), z, np.nan)
        self.expected_ = np.where(np.isfinite(base[-m:]), base[-m:], values)
        out = self._sustained(surprise)
        out = np.where(good & np.isfinite(out), out, 0.0)
        # One past week is not yet a weekly pattern: speak only once `full_weeks` weeks lie behind the point.
        out = np.where(self.seen_ + np.arange(m) >= self.full_weeks * week, out, 0.0)
        self.seen_ += m
        self.values_ = every[-(week * self.weeks + window + 1) :]
        return out

    def _sustained(self, surprise: FloatArray) -> FloatArray:
        lz = sustained_z(
            self.surprise_, surprise, self.short, self.long, self.min_points, min_short=self.short
        )
        self.surprise_ = np.concatenate([self.surprise_, surprise])[-(self.long + 2 * self.short) :]
        return np.clip(lz / (2.0 * self.z_alarm), 0.0, 1.0)
