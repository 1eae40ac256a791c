"""A spike detector: one point far outside the recent local range, in robust units.

`z = |x - median| / scale` over the previous `window` points, where the scale is the inter-quartile range /
1.349, floored at `span_floor` of the range of everything seen so far (so a flat stretch does not make every
small step infinite). No smoothing: a single point counts, which the `robust` detector's likelihood (a
short-run mean against its own history) dilutes on purpose.

A series' normal spike level: the bar a point must pass is `z_alarm` robust units or `level_margin` times the
`level_quantile` (by default the largest) of the series' own z over the previous `history` points, whichever
is higher. A spike no taller than the series' usual tall ones is normal for it (traffic series whose bursts
come every day); a spike taller than any before is news. The score maps the bar to `default_threshold`.
A spike is also usual when its value does not pass the value an earlier spike of the same `history` reached in
the same direction (`value_level`): a spike to a ceiling the series has spiked to before (100 % CPU) is one of
its usual spikes even from a quieter baseline, where the same value is more robust units away.
A spike is also usual when its height above (below) its local median is within `recur_tolerance` of the peak
at least `recur_count` earlier bursts of the history reached (a burst being a run of consecutive spike points,
counted once): a burst the series repeats, such as a nightly job, wanders a little in height, and a slightly
taller night is still one of them; one long episode does not make itself usual.

Useful where a lone point is the event (a burst of crashes in one hour, a collapse of ingress for a minute);
the `context` detector uses it as one channel, behind its own warm-up, refractory period and count-noise gate.
Causal and incremental: chunked scoring equals whole-series scoring.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from selfheal.reason.detect.base import Detector, FloatArray, register
from selfheal.reason.detect.rolling import rolling_kth_largest, rolling_quantiles, shifted

UNUSUAL_SHARE = 0.98
"""A spike no taller than the series' usual level scores at most this share of the threshold."""


@register
class SpikeDetector(Detector):
    """A single point's distance from the rolling median of the points before it, in robust units."""

    name = "spike"
    default_threshold = 0.5

    def __init__(
        self,
        window: int = 576,
        min_points: int = 24,
        z_alarm: float = 10.0,
        span_floor: float = 0.01,
        history: int = 2000,
        level_quantile: float = 1.0,
        level_margin: float = 1.0,
        value_level: bool = True,
        level_rank: int = 1,
        recur_count: int = 0,
        recur_tolerance: float = 0.0,
    ) -> None:
        self.window = window
        self.min_points = min_points
        self.z_alarm = z_alarm
        self.span_floor = span_floor
        self.history = history
        self.level_quantile = level_quantile
        self.level_margin = level_margin
        self.value_level = value_level
        self.level_rank = level_rank
        self.recur_count = recur_count
        self.recur_tolerance = recur_tolerance
        self.reset()

    def reset(self) -> None:
        self.values_: FloatArray = np.zeros(0)
        self.seen_min_ = math.inf
        self.seen_max_ = -math.inf
        self.expected_: FloatArray = np.zeros(0)
        self.z_: FloatArray = np.zeros(0)
        self.far_: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self.up_: FloatArray = np.zeros(0)
        self.down_: FloatArray = np.zeros(0)
        self.points_seen_ = 0
        # (last point, peak height) of each burst of the history, per direction
        self.up_bursts_: list[tuple[int, float]] = []
        self.down_bursts_: list[tuple[int, float]] = []

    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        m = len(values)
        series = np.concatenate([self.values_, values])
        med, q1, q3 = rolling_quantiles(
            shifted(series, 1), self.window, self.min_points, (0.5, 0.25, 0.75), start=len(series) - m
        )
        finite = np.where(np.isfinite(values), values, np.nan)
        high = np.fmax.accumulate(np.concatenate([[self.seen_max_], finite]))[:-1]
        low = np.fmin.accumulate(np.concatenate([[self.seen_min_], finite]))[:-1]
        with np.errstate(invalid="ignore"):
            span = np.where(np.isfinite(high - low), high - low, 0.0)
            scale = np.maximum((q3 - q1) / 1.349, np.maximum(self.span_floor * span, 1e-9))
            z = np.abs(values - med) / scale
        self.expected_ = np.where(np.isfinite(med), med, values)
        with np.errstate(invalid="ignore"):
            self.far_ = np.asarray(z >= self.z_alarm)
        if np.isfinite(finite).any():
            self.seen_max_ = max(self.seen_max_, float(np.nanmax(finite)))
            self.seen_min_ = min(self.seen_min_, float(np.nanmin(finite)))
        self.values_ = series[-self.window :]
        bar = np.full(m, self.z_alarm)
        if self.level_margin and self.history:
            # The series' own spike level: a spike no taller than its tall ones of late is normal for it.
            zs = np.concatenate([self.z_, np.where(np.isfinite(z), z, np.nan)])
            if self.level_rank > 1:
                # The level is a height at least `level_rank` points of the history reached: a burst of fewer
                # points (one crash, one price spike) does not make the next one as tall usual.
                level = rolling_kth_largest(
                    shifted(zs, 1), self.history, self.min_points, self.level_rank, start=len(zs) - m
                )
            else:
                (level,) = rolling_quantiles(
                    shifted(zs, 1), self.history, self.min_points, (self.level_quantile,), start=len(zs) - m
                )
            bar = np.fmax(bar, self.level_margin * level)
            self.z_ = zs[-self.history :]
            # A spike as tall as the usual tall ones is one of them: the level must be passed, not met.
            usual = np.isfinite(level) & (z <= self.level_margin * level)
            if self.value_level:
                # A spike to a value earlier spikes of the history already reached (a ceiling such as 100 % CPU,
                # from a quieter baseline) is one of them too, whatever its z against today's scale.
                with np.errstate(invalid="ignore"):
                    far = np.isfinite(z) & (z >= self.z_alarm)
                    ups = np.concatenate([self.up_, np.where(far & (values > med), values, np.nan)])
                    downs = np.concatenate([self.down_, np.where(far & (values < med), -values, np.nan)])
                (top,) = rolling_quantiles(shifted(ups, 1), self.history, 1, (1.0,), start=len(ups) - m)
                (bottom,) = rolling_quantiles(
                    shifted(downs, 1), self.history, 1, (1.0,), start=len(downs) - m
                )
                with np.errstate(invalid="ignore"):
                    been = ((values > med) & (values <= top)) | ((values < med) & (-values <= bottom))
                usual = usual | been
                self.up_ = ups[-self.history :]
                self.down_ = downs[-self.history :]
            if self.recur_count:
                usual = usual | self._recurring(values, med, z)
        else:
            usual = np.zeros(m, dtype=bool)
        score = self.default_threshold * z / bar
        score = np.where(usual, np.minimum(score, UNUSUAL_SHARE * self.default_threshold), score)
        return np.asarray(np.where(np.isfinite(score), score, 0.0), dtype=np.float64)

    def _recurring(self, values: FloatArray, med: FloatArray, z: FloatArray) -> NDArray[np.bool_]:
        """True where the spike's height above (or below) its local median is within `recur_tolerance` of the
        peak at least `recur_count` earlier bursts of the history reached in the same direction: a burst the
        series repeats (a nightly job) varies a little in height, and a slightly taller one is still one of them.
        A burst is a run of consecutive spike points in one direction; it counts once, at its peak, so one long
        episode does not make itself usual."""
        reach = 1.0 + self.recur_tolerance
        recurring = np.zeros(len(values), dtype=bool)
        for i, (x, centre, zi) in enumerate(zip(values.tolist(), med.tolist(), z.tolist(), strict=True)):
            at = self.points_seen_ + i
            for sign, bursts in ((1.0, self.up_bursts_), (-1.0, self.down_bursts_)):
                while bursts and bursts[0][0] <= at - self.history:
                    del bursts[0]  # ended before the history
                height = sign * (x - centre)
                if not (zi >= self.z_alarm and height > 0):
                    continue
                ongoing = bool(bursts) and bursts[-1][0] == at - 1
                earlier = bursts[:-1] if ongoing else bursts
                as_tall = sum(1 for _, peak in earlier if height <= reach * peak)
                recurring[i] = as_tall >= self.recur_count
                if ongoing:
                    bursts[-1] = (at, max(bursts[-1][1], height))
                else:
                    bursts.append((at, height))
        self.points_seen_ += len(values)
        return recurring

    def far(self) -> NDArray[np.bool_]:
        """For the points of the last `score` call: True where the point is at least `z_alarm` robust units from
        the median of the points before it (a spike, usual for the series or not)."""
        return self.far_
