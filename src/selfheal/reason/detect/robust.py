"""A robust streaming detector for any univariate KPI series.

Three steps, all causal:
1. Surprise: how far the new value is from the recent past, in robust units: `|x - median| / scale` over the
   previous `window` points (scale from the inter-quartile range, floored so flat series do not explode),
   combined with how far it lies outside everything seen so far (novelty), turned into a raw score in [0, 1].
2. Likelihood: the short-run mean of the raw score compared with its own long-run distribution (as in
   Numenta's anomaly likelihood), so a series that is always noisy does not alarm, and a sustained change does.
3. Refractory period: after a point crosses `default_threshold`, the next `refractory` points are damped, so
   one incident raises one alarm, not a burst.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from selfheal.reason.detect.base import Detector, FloatArray, register
from selfheal.reason.detect.rolling import median_of_known, rolling_mean_std, rolling_quantiles, shifted


def _tail_score(z: FloatArray) -> FloatArray:
    """|z| in robust units -> [0, 1): 0 for ordinary values, close to 1 for extreme ones."""
    return np.asarray(1.0 - np.exp(-np.maximum(z, 0.0) / 4.0), dtype=np.float64)


def daily_period(timestamps: NDArray[np.int64]) -> int:
    """Rows per day when the series is evenly spaced with a step that divides a day (else 0)."""
    step = float(np.median(np.diff(timestamps)))
    if step <= 0 or 86_400_000 % step:
        return 0
    period = int(86_400_000 // step)
    return period if 4 <= period <= 2880 else 0


def sustained_z(
    past: FloatArray,
    new: FloatArray,
    short: int,
    long: int,
    min_points: int,
    *,
    min_short: int,
    sd_floor: float = 0.0,
) -> FloatArray:
    """For each new point: the mean of the last `short` values as a z-score against that mean's distribution
    over the `long` points before them (as in Numenta's anomaly likelihood). `past` is the history kept
    between calls (the last `long + 2 * short` values are enough). NaN where the history is too short."""
    m = len(new)
    series = np.concatenate([past, new])
    short_mean, _ = rolling_mean_std(series, short, min_short)
    mu, sd = rolling_mean_std(shifted(short_mean, short), long, min_points, start=len(series) - m)
    if sd_floor:
        sd = np.maximum(sd, sd_floor)
    with np.errstate(all="ignore"):
        return np.asarray((short_mean[-m:] - mu) / sd, dtype=np.float64)


@register
class RobustDetector(Detector):
    """Rolling median / IQR surprise plus novelty, through an anomaly likelihood, with a refractory period."""

    name = "robust"
    default_threshold = 0.5

    def __init__(
        self,
        window: int = 400,
        min_points: int = 30,
        short: int = 8,
        long: int = 2000,
        refractory: int = 150,
        damp: float = 0.0,
        novelty_weight: float = 1.0,
        seasons: int = 3,
        season_fit: float = 0.6,
    ) -> None:
        self.window = window
        self.min_points = min_points
        self.short = short
        self.long = long
        self.refractory = refractory
        self.damp = damp
        self.novelty_weight = novelty_weight
        self.seasons = seasons
        self.season_fit = season_fit
        self.reset()

    def reset(self) -> None:
        self.values_: FloatArray = np.zeros(0)
        self.raw_: FloatArray = np.zeros(0)
        self.seen_min_ = math.inf
        self.seen_max_ = -math.inf
        self.seen_n_ = 0
        self.since_alarm_ = 10**9
        self.expected_: FloatArray = np.zeros(0)
        self.period_: int = 0

    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        m = len(values)
        if not self.period_ and timestamps is not None and len(timestamps) > 1:
            self.period_ = daily_period(timestamps)
        raw = self._raw(values)
        likelihood = self._likelihood(raw)
        out = self._refract(likelihood)
        self.values_ = np.concatenate([self.values_, values])[-self._keep() :]
        self.raw_ = np.concatenate([self.raw_, raw])[-(self.long + 2 * self.short) :]
        assert len(out) == m
        return out

    def _keep(self) -> int:
        return self.window + self.seasons * self.period_ + 1

    def _seasonal_surprise(self, series: FloatArray, level_iqr: FloatArray, m: int) -> FloatArray:
        """|x - same time on previous days| in robust units, where the daily pattern explains the series."""
        p = self.period_
        if not p or self.seasons < 1:
            return np.zeros(m)
        lagged = np.column_stack([shifted(series, k * p) for k in range(1, self.seasons + 1)])
        resid = series - median_of_known(lagged)  # NaN where no previous day is known yet
        med, q1, q3 = rolling_quantiles(
            shifted(resid, 1), self.window, self.min_points, (0.5, 0.25, 0.75), start=len(series) - m
        )
        iqr = q3 - q1
        scale = np.maximum(iqr / 1.349, 1e-9)
        with np.errstate(invalid="ignore"):
            z = np.abs(resid[-m:] - med) / scale
            good = iqr < self.season_fit * level_iqr
        return np.where(good & np.isfinite(z), _tail_score(np.nan_to_num(z, nan=0.0)), 0.0)

    def _raw(self, values: FloatArray) -> FloatArray:
        m = len(values)
        series = np.concatenate([self.values_, values])
        med, q1, q3 = rolling_quantiles(
            shifted(series, 1), self.window, self.min_points, (0.5, 0.25, 0.75), start=len(series) - m
        )
        # Novelty: distance outside the range of everything seen before, in units of the running range.
        running_max = np.maximum.accumulate(np.concatenate([[self.seen_max_], values]))[:-1]
        running_min = np.minimum.accumulate(np.concatenate([[self.seen_min_], values]))[:-1]
        span = running_max - running_min
        floor = np.maximum(np.where(np.isfinite(span), span, 0.0) * 0.01, 1e-9)
        scale = np.maximum((q3 - q1) / 1.349, floor)
        z = np.abs(values - med) / scale
        with np.errstate(invalid="ignore"):
            outside = np.maximum(values - running_max, running_min - values)
            novelty = np.where(
                np.isfinite(outside) & (span > 0),
                np.maximum(outside, 0.0) / np.where(span > 0, span, 1.0),
                0.0,
            )
        raw = _tail_score(np.nan_to_num(z, nan=0.0))
        raw = np.maximum(raw, np.minimum(1.0, self.novelty_weight * 4 * novelty))
        raw = np.maximum(raw, self._seasonal_surprise(series, q3 - q1, m))
        seen = self.seen_n_ + np.arange(m)
        raw = np.where(seen >= self.min_points, raw, 0.0)
        self.expected_ = np.where(np.isfinite(med), med, values)
        self.seen_max_ = max(self.seen_max_, float(values.max()))
        self.seen_min_ = min(self.seen_min_, float(values.min()))
        self.seen_n_ += m
        return np.asarray(raw, dtype=np.float64)

    def _likelihood(self, raw: FloatArray) -> FloatArray:
        z = sustained_z(self.raw_, raw, self.short, self.long, self.min_points, min_short=1, sd_floor=0.02)
        return np.asarray(np.where(np.isfinite(z), ndtr(z), 0.0), dtype=np.float64)

    def _refract(self, likelihood: FloatArray) -> FloatArray:
        # Map likelihood (mostly 0.5..1) so that the default threshold 0.5 means likelihood 1 - 1e-4.
        with np.errstate(divide="ignore"):
            score = np.log(np.maximum(1.0 - likelihood, 1e-12)) / math.log(1e-8)
        out = np.clip(score, 0.0, 1.0)
        since = self.since_alarm_
        for i in range(len(out)):
            since += 1
            if since <= self.refractory:
                out[i] *= self.damp
            elif out[i] >= self.default_threshold:
                since = 0
        self.since_alarm_ = since
        return out
