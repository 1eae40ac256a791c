"""A contextual detector: how new is the recent shape of the series, compared with everything seen before?

Values are quantised onto `overlap` coarse grids (`levels` steps spanning the first `warmup` points, each grid
shifted by 1/`overlap` of a step, so nearby values share a bucket on at least one grid; values outside that
range get buckets of their own). On every grid, each point forms, for every order k = 0..`orders`, the pattern
of its own bucket and the k buckets before it. The raw novelty of the point is the share of all those patterns
never seen before: a value in a bucket never visited scores 1, a familiar value after a familiar one scores 0,
and an unusual transition (a familiar value after a neighbour it has never followed) falls between. With one
grid, "at least three of four patterns new" means "this transition has never happened"; with two grids the
same 0.75 means it is new on both, so a value that merely crosses one grid's bucket edge does not count.

Five channels; a point alarms when any of them speaks:

* Novelty, confirmed: a new transition alone is common in a noisy series, so the channel alarms once `confirm`
  new transitions fall within `confirm_window` points (by default 2 within 6), or `transition_confirm` (3) when
  none of them reached a bucket never visited (new jumps between familiar values are weaker evidence than a
  new value).
* Coarse novelty: the same detector, run on the means of consecutive blocks of points (one run per block size
  in `coarse`, by default 6 and 24), with a stricter confirmation (3 new patterns within 6 blocks). It sees
  slow, sustained changes (a slide to a level never held for long, a change of rhythm) that a quick excursion
  through the same values hides at the point scale; a lone spike is diluted by the block size.
* Magnitude: the `robust` detector's score (rolling median/IQR, daily seasonality, likelihood) when extreme
  (>= `magnitude_threshold`), for large deviations that stay inside familiar buckets.
* Weekly: the `weekly` detector (sustained departure from the same time in previous weeks, on series the week
  explains well), so a holiday or an outage on a weekly-seasonal KPI is seen even when every value is familiar.
* Spike: the `spike` detector (one point at least `spike_z` robust units from the median of the previous
  `spike_window` points, taller than the `spike_rank`-th tallest point of the previous `spike_history` points
  (a height the series reached at least that many times, so one news burst does not make the next as tall one
  usual) and reaching a value none of the earlier spikes reached: the series' own spike level), for a lone burst
  whose value is familiar from busier times but far outside its local range (a crash burst in a quiet hour).
  A burst within `spike_recur_tolerance` (10 %) of the height `spike_recur` (2) earlier bursts of the spike
  history reached is one of the series' repeated bursts (a nightly job whose height wanders), not news.

Two regimes: on a series that keeps leaving its low level for plateaus (`regimes.py`: at least `regime_visits`
(3) visits of `regime_visit_minutes` (10) to `regime_visit_max_minutes` (120) at `regime_ratio` (1.5) times the
low quantile of the previous `regime_base_minutes` (180), ended in the previous `regime_history_minutes`
(three days)), a new shape, value level or block-mean pattern while the last `regime_recent_minutes` (30) reach
that high regime, no taller above the low level than `regime_height_margin` (1.0) times the tallest earlier
visit, from a low level no higher than the history's, is the series' other usual state: kept below the
threshold, its row says "usual: a plateau like the n ...". A spike, an extreme deviation, a crash (below the
high regime), a taller plateau and a rise of the low level itself still alarm.

After an alarm the next `refractory` points are silenced, so one incident gives one alarm (as a live monitor
and NAB's scoring both want: only the first detection of an incident counts). The first `quiet` points never
alarm (the magnitude channel's baseline is still forming). Until `levels_after_minutes` (a day) of points
are seen, a new value level (values beyond the range seen so far) or a new pattern of block means is kept below
the threshold and its row says "not confident yet": the first afternoon of a daily cycle climbs beyond a
morning's range without anything being wrong. A new shape within familiar values, a spike and an extreme
deviation still alarm from the warm-up's end. Before the warm-up ends, a provisional grid is drawn
at each point count in `early` (by default at 200) from the points so far, `early_coarsening` times coarser
than the final one (a short sample underestimates the range, and a fine grid over it would find every later
tail value new); at the end of the warm-up the final grid replaces it and the patterns are learned again from
all warm-up points. At `regrid` points (by default 1,600) the grid is drawn once more from all points so far
when at least `regrid_share` of them fell outside the warm-up grid (a series whose range the warm-up did not
cover, such as a spiky volume, would otherwise find a new bucket in every larger spike).
A grid drawn from fewer than `regrid_until` points (a coarse series, whose durations in time are few points:
an hourly series redraws at 133 points, not 1,600) is looked at again each time the history doubles, by the same
1 % rule, until it has been drawn from `regrid_until` points; such a short-history redraw learns each spike of
the spike channel (`spike_z` robust units out) as its local median (`regrid_without_spikes`): a few days of
history cannot tell whether a burst is normal, so a burst neither widens the grid nor becomes a known pattern
(a later burst of the same height is new again; the spike channel's level judges it).
The coarse channel's own grid (from its first 200 blocks) follows the same rules: redrawn at 400 blocks when at
least 1 % fell outside, and again at each doubling until drawn from 1,600 blocks.

Everything is causal and incremental: `fit` then `score` in chunks gives the same scores as scoring all at once.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from selfheal.reason.detect.base import Detector, FloatArray, register
from selfheal.reason.detect.regimes import RegimeTracker
from selfheal.reason.detect.robust import RobustDetector
from selfheal.reason.detect.spike import SpikeDetector
from selfheal.reason.detect.weekly import WeeklyDetector

TIMED_FLOORS = {"warmup": 24, "early": 12, "regrid": 100, "spike_window": 24}
"""Smallest point counts the grid statistics need, whatever the sampling interval."""

COUNT_ALARM_P = 1e-4
"""A rise on a low-volume count series alarms only when the count noise makes it rarer than this."""


def count_tail(x: float, mean: float, var: float) -> float:
    """The tail probability of the count `x` on its side of `mean` (P(X >= x) above it, P(X <= x) below it)
    for counts with this mean and variance: negative binomial when over-dispersed, else Poisson."""
    law = (
        stats.poisson(mean)
        if var <= mean
        else stats.nbinom(mean * (mean / var) / (1 - mean / var), mean / var)
    )
    return float(law.sf(x - 1) if x > mean else law.cdf(x))


UNCONFIDENT_CAP = 0.98
"""While warming up a point's score is kept at most this share of the threshold: shown, never an alarm."""

NOVEL_TRANSITION = 0.75
"""Raw novelty at which a point alarms: with orders >= 2, this means its transition was never seen."""

COARSE_CHANNEL = {
    "warmup": 200,
    "early": (100,),
    "quiet": 50,
    "refractory": 12,
    "confirm": 3,
    "transition_confirm": 3,
    "regrid": 400,
    "regrid_until": 1600,
    "magnitude": False,
    "weekly": False,
    "coarse": (),
    "reference_minutes": 0.0,
    "spike_window": 0,
    "regime_visits": 0,
}
"""Parameters of the coarse channel's own detector (counted in blocks, not points)."""


@register
class ContextDetector(Detector):
    """Novelty of the quantised recent shape at two time scales, extreme robust or weekly deviations."""

    name = "context"
    default_threshold = 0.5

    def __init__(
        self,
        levels: int = 10,
        orders: int = 3,
        warmup: int = 400,
        refractory: int = 100,
        magnitude_threshold: float = 0.95,
        max_bins: int = 24,
        confirm: int = 2,
        confirm_window: int = 6,
        transition_confirm: int = 3,
        overlap: int = 2,
        novel: float = NOVEL_TRANSITION,
        quiet: int = 100,
        early: tuple[int, ...] = (200,),
        early_coarsening: float = 2.0,
        regrid: int = 1600,
        regrid_share: float = 0.01,
        coarse: tuple[int, ...] = (6, 24),
        magnitude: bool = True,
        weekly: bool = True,
        reference_minutes: float = 5.0,
        interval_points: int = 12,
        low_volume: float = 1.0,
        count_window: int = 400,
        spike_window: int = 576,
        spike_z: float = 10.0,
        spike_level: float = 1.0,
        spike_quantile: float = 1.0,
        spike_history: int = 2000,
        spike_rank: int = 4,
        spike_recur: int = 2,
        spike_recur_tolerance: float = 0.1,
        regrid_until: int = 0,
        regrid_without_spikes: bool = True,
        levels_after_minutes: float = 1440.0,
        levels_after: int = 0,
        regime_visits: int = 3,
        regime_ratio: float = 1.5,
        regime_base_minutes: float = 180.0,
        regime_visit_minutes: float = 10.0,
        regime_visit_max_minutes: float = 120.0,
        regime_history_minutes: float = 4320.0,
        regime_recent_minutes: float = 30.0,
        regime_height_margin: float = 1.0,
        sampling_minutes: float = 0.0,
    ) -> None:
        self.levels = levels
        self.orders = orders
        self.warmup = warmup
        self.refractory = refractory
        self.magnitude_threshold = magnitude_threshold
        self.max_bins = max_bins
        self.confirm = confirm
        self.confirm_window = confirm_window
        self.transition_confirm = transition_confirm
        self.overlap = overlap
        self.novel = novel
        self.quiet = quiet
        self.early = tuple(early)
        self.early_coarsening = early_coarsening
        self.regrid = regrid
        self.regrid_share = regrid_share
        self.coarse = tuple(coarse)
        self.magnitude = magnitude
        self.weekly = weekly
        self.reference_minutes = reference_minutes
        self.interval_points = interval_points
        self.low_volume = low_volume
        self.count_window = count_window
        self.spike_window = spike_window
        self.spike_z = spike_z
        self.spike_level = spike_level
        self.spike_quantile = spike_quantile
        self.spike_history = spike_history
        self.spike_rank = spike_rank
        self.spike_recur = spike_recur
        self.spike_recur_tolerance = spike_recur_tolerance
        self.regrid_until = regrid_until
        self.regrid_without_spikes = regrid_without_spikes
        self.levels_after_minutes = levels_after_minutes
        self.levels_after = levels_after
        self.regime_visits = regime_visits
        self.regime_ratio = regime_ratio
        self.regime_base_minutes = regime_base_minutes
        self.regime_visit_minutes = regime_visit_minutes
        self.regime_visit_max_minutes = regime_visit_max_minutes
        self.regime_history_minutes = regime_history_minutes
        self.regime_recent_minutes = regime_recent_minutes
        self.regime_height_margin = regime_height_margin
        self.sampling_minutes = sampling_minutes
        self.reset()

    def reset(self) -> None:
        self.timed_: ContextDetector | None = None
        self.pending_: list[tuple[float, int]] = []
        self.interval_minutes_: float = 0.0
        self.buffer_: list[float] = []
        self.history_: list[float] = []
        self.typical_history_: list[float] = []
        self.lo_: float | None = None
        self.final_grid_ = False
        self.step_: float = 1.0
        self.recent_: list[tuple[int, ...]] = []
        self.seen_: list[set[tuple[int, ...]]] = [set() for _ in range((self.orders + 1) * self.overlap)]
        self.since_alarm_ = 10**9
        self.n_ = 0
        self.novel_at_: list[int] = []
        self.novel_value_: list[bool] = []
        self.magnitude_ = RobustDetector(refractory=0) if self.magnitude else None
        self.weekly_ = WeeklyDetector() if self.weekly else None
        self.spike_ = (
            SpikeDetector(
                window=self.spike_window,
                z_alarm=self.spike_z,
                level_margin=self.spike_level,
                level_quantile=self.spike_quantile,
                history=self.spike_history,
                level_rank=self.spike_rank,
                recur_count=self.spike_recur,
                recur_tolerance=self.spike_recur_tolerance,
            )
            if self.spike_window
            else None
        )
        self.blocks_: list[list[float]] = [[] for _ in self.coarse]
        self.coarse_ = [ContextDetector(**COARSE_CHANNEL) for _ in self.coarse]  # type: ignore[arg-type]
        self.expected_: FloatArray = np.zeros(0)
        self.counts_: list[float] = []
        self.reasons_: list[str] = []
        self.spoke_: dict[str, FloatArray] = {}
        self.next_regrid_ = self.regrid
        self.typical_: FloatArray = np.zeros(0)
        self.other_channels_: FloatArray = np.zeros(0)
        self.regimes_ = self._regime_tracker() if self.regime_visits else None

    def _regime_tracker(self) -> RegimeTracker:
        """The two-regime record, its durations converted to this series' points."""
        interval = self.sampling_minutes or self.reference_minutes or 5.0

        def points(minutes: float) -> int:
            return max(1, math.ceil(minutes / interval))

        return RegimeTracker(
            base_points=points(self.regime_base_minutes),
            ratio=self.regime_ratio,
            visit_points=points(self.regime_visit_minutes),
            visit_max_points=math.floor(self.regime_visit_max_minutes / interval),
            visits=self.regime_visits,
            history_points=points(self.regime_history_minutes),
            recent_points=points(self.regime_recent_minutes),
            height_margin=self.regime_height_margin,
        )

    def _bin(self, x: float) -> tuple[int, ...]:
        """The value's bucket on each of the `overlap` grids (shifted by 1/overlap of a step)."""
        assert self.lo_ is not None
        if not math.isfinite(x):
            return (-1,) * self.overlap
        pos = (x - self.lo_) / self.step_
        return tuple(
            int(min(max(math.floor(pos + r / self.overlap), -self.max_bins), self.levels + self.max_bins))
            for r in range(self.overlap)
        )

    def _set_grid(self, points: list[float]) -> None:
        w = np.asarray(points, dtype=np.float64)
        w = w[np.isfinite(w)]
        lo = float(w.min()) if len(w) else 0.0
        hi = float(w.max()) if len(w) else 0.0
        span = hi - lo
        if span <= 0:
            span = max(abs(lo), 1.0)
        self.lo_ = lo
        self.step_ = span / (self.levels - 1)

    def _learn(self, points: list[float]) -> None:
        """Forget the known patterns and learn them again from `points` on the current grid."""
        self.recent_ = []
        self.seen_ = [set() for _ in self.seen_]
        for y in points:
            self._novelty(self._bin(y))

    def _outside_share(self, points: list[float]) -> float:
        assert self.lo_ is not None
        a = np.asarray(points, dtype=np.float64)
        hi = self.lo_ + self.step_ * (self.levels - 1)
        return float(np.mean((a < self.lo_) | (a > hi)))

    def _novelty(self, b: tuple[int, ...]) -> float:
        """Share of this point's patterns (orders 0..k, every grid) never seen before; records them as seen."""
        self.recent_.append(b)
        if len(self.recent_) > self.orders + 1:
            del self.recent_[0]
        novel = 0
        count = 0
        for r in range(self.overlap):
            for k in range(min(self.orders + 1, len(self.recent_))):
                key = tuple(p[r] for p in self.recent_[-1 - k :])
                seen = self.seen_[r * (self.orders + 1) + k]
                if key not in seen:
                    novel += 1
                    seen.add(key)
                count += 1
        return novel / count

    def _point_novelty(self, x: float, typical: float) -> float:
        """Raw novelty of the next point, growing or redrawing the grid when its time comes (a redrawn grid
        learns `typical` for this point: the point itself, or its local median where it is a spike)."""
        novelty = 0.0
        if self.next_regrid_ and len(self.history_) < self.next_regrid_:
            self.history_.append(x)
            self.typical_history_.append(typical)
        if self.final_grid_:
            novelty = self._novelty(self._bin(x))
            if self.n_ + 1 == self.next_regrid_ == len(self.history_):
                if self._outside_share(self.history_) >= self.regrid_share:
                    short = self.regrid_without_spikes and len(self.history_) < self.regrid_until
                    learned = self.typical_history_ if short else self.history_
                    self._set_grid(learned)
                    self._learn(learned)
                if self.next_regrid_ < self.regrid_until:
                    self.next_regrid_ *= 2  # drawn from a short history: look again when it has doubled
                else:
                    self.next_regrid_ = 0
                    self.history_ = []
                    self.typical_history_ = []
            return novelty
        if self.lo_ is not None:
            novelty = self._novelty(self._bin(x))  # on the provisional grid
        self.buffer_.append(x)
        if len(self.buffer_) >= self.warmup or len(self.buffer_) in self.early:
            # A grid from the points so far; they become the known patterns (they score 0).
            self.final_grid_ = len(self.buffer_) >= self.warmup
            self._set_grid(self.buffer_)
            if not self.final_grid_:
                self.step_ *= self.early_coarsening
            self._learn(self.buffer_)
            if self.final_grid_:
                self.buffer_ = []
        return novelty

    def _confirmed(self, novelty: float) -> bool:
        """Record a new pattern at this point; True once enough fall within the confirmation window."""
        if novelty >= self.novel:
            self.novel_at_.append(self.n_)
            self.novel_value_.append(novelty > self.novel)  # a bucket never visited, on some grid
        while self.novel_at_ and self.novel_at_[0] <= self.n_ - self.confirm_window:
            del self.novel_at_[0]
            del self.novel_value_[0]
        needed = self.confirm
        if self.transition_confirm and not any(self.novel_value_):
            needed = max(needed, self.transition_confirm)
        return len(self.novel_at_) >= needed

    def _coarse_scores(self, values: FloatArray) -> dict[str, FloatArray]:
        """Each coarse channel's score at the points that complete one of its blocks (0 elsewhere)."""
        out: dict[str, FloatArray] = {}
        points = values.tolist()
        for size, block, detector in zip(self.coarse, self.blocks_, self.coarse_, strict=True):
            scores = np.zeros(len(values))
            ends: list[int] = []
            means: list[float] = []
            for i, x in enumerate(points):
                block.append(x)
                if len(block) >= size:
                    ends.append(i)
                    means.append(float(np.mean(block)))
                    block.clear()
            if ends:
                scores[ends] = detector.score(np.asarray(means))
            out[f"a slow change: a new pattern in the means of {size}-point blocks"] = scores
        return out

    def _channels(self, values: FloatArray, timestamps: NDArray[np.int64] | None) -> FloatArray:
        """The non-novelty channels' scores, each rescaled so that its own alarm level is the threshold.

        Keeps each channel's scores (`spoke_`) to say afterwards which one raised an alarm, and the expected
        values: the robust baseline, or last weeks' values where the weekly channel spoke.
        """
        self.spoke_ = {}
        self.expected_ = values.copy()
        if self.magnitude_ is not None:
            magnitude = self.magnitude_.score(values, timestamps=timestamps)
            self.expected_ = self.magnitude_.expected()
            self.spoke_["an extreme deviation from the rolling median (robust)"] = magnitude * (
                self.default_threshold / self.magnitude_threshold
            )
        if self.weekly_ is not None:
            weekly = self.weekly_.score(values, timestamps=timestamps) * (
                self.default_threshold / self.weekly_.default_threshold
            )
            self.spoke_["a sustained departure from the same time in previous weeks"] = weekly
            self.expected_ = np.where(
                weekly >= self.default_threshold, self.weekly_.expected(), self.expected_
            )
        self.typical_ = values
        if self.spike_ is not None:
            self.spoke_["a spike: one point far outside the recent range (robust)"] = self.spike_.score(
                values
            )
            if self.regrid_without_spikes:
                # What a redrawn grid learns as the series' normal patterns: a spike counts as its local median.
                self.typical_ = np.where(self.spike_.far(), self.spike_.expected(), values)
        # The channels that are not the grids' novelty (robust, weekly, spike): they alarm from the warm-up's end.
        self.other_channels_ = np.zeros(len(values))
        for scores in self.spoke_.values():
            self.other_channels_ = np.maximum(self.other_channels_, scores)
        self.spoke_.update(self._coarse_scores(values))
        level = np.zeros(len(values))
        for scores in self.spoke_.values():
            level = np.maximum(level, scores)
        return level

    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        if not self.reference_minutes:
            return self._score_points(values, timestamps)
        return self._score_timed(values, timestamps)

    def in_points(self, interval_minutes: float) -> dict[str, object]:
        """This detector's parameters for a series sampled every `interval_minutes`, counted in its points.

        Counts are points at `reference_minutes` sampling (NAB's five minutes); on a coarser series each becomes
        the same duration in that series' points (a 100-point silence is 500 minutes: 8 points on an hourly
        series), with floors that keep the statistics meaningful. Finer series keep the counts (a count is also
        the smallest sample the statistics need). The result has `reference_minutes=0`: plain point counts.
        """
        params = {**self.get_params(), "reference_minutes": 0.0}
        if interval_minutes > 0:
            params["sampling_minutes"] = interval_minutes
        if self.levels_after_minutes and interval_minutes > 0:
            params["levels_after"] = math.ceil(self.levels_after_minutes / interval_minutes)
        factor = self.reference_minutes / interval_minutes if interval_minutes > 0 else 1.0
        if factor >= 1.0:
            return params

        def points(count: int, floor: int = 1) -> int:
            return max(floor, round(count * factor))

        params.update(
            refractory=points(self.refractory),
            quiet=points(self.quiet),
            warmup=points(self.warmup, TIMED_FLOORS["warmup"]),
            early=tuple(points(n, TIMED_FLOORS["early"]) for n in self.early),
            regrid=points(self.regrid, TIMED_FLOORS["regrid"]) if self.regrid else 0,
            # A grid drawn from fewer points than a finer series' regrid is looked at again as history doubles.
            regrid_until=max(self.regrid_until, self.regrid),
            coarse=tuple(size for size in (points(c) for c in self.coarse) if size >= 2),
            spike_window=points(self.spike_window, TIMED_FLOORS["spike_window"]) if self.spike_window else 0,
            spike_history=points(self.spike_history, TIMED_FLOORS["spike_window"]),
        )
        return params

    def _score_timed(self, values: FloatArray, timestamps: NDArray[np.int64] | None) -> FloatArray:
        """Learn the sampling interval from the first `interval_points` points (they score 0 and say so), then
        score with a point detector whose counts are converted to this series' points."""
        out = np.zeros(len(values))
        reasons = [""] * len(values)
        expected = values.copy()
        start = 0
        if self.timed_ is None:
            if timestamps is None:
                self._start_timed(self.reference_minutes)
            else:
                start = min(len(values), self.interval_points - len(self.pending_))
                for i in range(start):
                    self.pending_.append((float(values[i]), int(timestamps[i])))
                    reasons[i] = "not confident yet: learning the sampling interval"
                if len(self.pending_) >= self.interval_points:
                    steps = np.diff([t for _, t in self.pending_])
                    self._start_timed(
                        float(np.median(steps)) / 60_000 if len(steps) else self.reference_minutes
                    )
        if self.timed_ is not None and start < len(values):
            rest = None if timestamps is None else timestamps[start:]
            out[start:] = self.timed_.score(values[start:], timestamps=rest)
            reasons[start:] = self.timed_.reasons()
            expected[start:] = self.timed_.expected()
        self.reasons_ = reasons
        self.expected_ = expected
        return out

    def _start_timed(self, interval_minutes: float) -> None:
        self.interval_minutes_ = interval_minutes
        self.timed_ = ContextDetector(**self.in_points(interval_minutes))  # type: ignore[arg-type]
        if self.pending_:
            values = np.asarray([v for v, _ in self.pending_])
            stamps = np.asarray([t for _, t in self.pending_], dtype=np.int64).astype("datetime64[ms]")
            self.timed_.score(values, timestamps=stamps)
            self.pending_ = []

    def _score_points(self, values: FloatArray, timestamps: NDArray[np.int64] | None) -> FloatArray:
        others = self._channels(values, timestamps)
        out = np.zeros(len(values))
        self.reasons_ = [""] * len(values)
        scale_novelty = self.default_threshold / self.novel
        for i, x in enumerate(values.tolist()):
            novelty = self._point_novelty(x, float(self.typical_[i]))
            self.n_ += 1
            # The novelty channel speaks once enough new transitions fall within `confirm_window` points:
            # a lone new transition in a noisy series is common, a burst of them is a changed shape.
            confirmed = self._confirmed(novelty)
            novelty = max(novelty, self.novel) if confirmed else min(novelty, 0.9 * self.novel)
            score = min(1.0, max(novelty * scale_novelty, float(others[i])))
            if score >= self.default_threshold and self._normal_for_volume(x):
                score = UNCONFIDENT_CAP * self.default_threshold  # a spike this count's noise explains
            self._remember(x)
            self.since_alarm_ += 1
            if self.n_ <= self.quiet:
                # Not confident yet: the score is kept below the threshold and the row says why.
                out[i] = min(score, UNCONFIDENT_CAP * self.default_threshold)
                self.reasons_[i] = f"not confident yet: warming up ({self.n_} of {self.quiet} points)"
                continue
            if self.since_alarm_ <= self.refractory:
                continue
            if (
                self.n_ <= self.levels_after
                and score >= self.default_threshold
                and self.other_channels_[i] < self.default_threshold
                and not (confirmed and not any(self.novel_value_))
            ):
                # Values beyond the range seen before a whole day is seen may be the daily cycle's first peak.
                out[i] = UNCONFIDENT_CAP * self.default_threshold
                self.reasons_[i] = (
                    "not confident yet: a new value level before a full day is seen "
                    f"({self.n_} of {self.levels_after} points)"
                )
                continue
            if score >= self.default_threshold and self.other_channels_[i] < self.default_threshold:
                usual, visits = self._usual_plateau()
                if usual:
                    # The series' other usual state: a plateau like the ones it keeps visiting and leaving.
                    out[i] = UNCONFIDENT_CAP * self.default_threshold
                    self.reasons_[i] = (
                        f"usual: a plateau like the {visits} this series visited and left in the past "
                        f"{self.regime_history_minutes:g} minutes"
                    )
                    continue
            out[i] = score
            if score >= self.default_threshold:
                self.since_alarm_ = 0
                self.reasons_[i] = self._reason(i, confirmed)
        return out

    def _usual_plateau(self) -> tuple[bool, int]:
        return self.regimes_.usual_plateau() if self.regimes_ is not None else (False, 0)

    def _remember(self, x: float) -> None:
        if self.regimes_ is not None:
            self.regimes_.add(x)
        if self.count_window:
            self.counts_.append(x)
            if len(self.counts_) > self.count_window:
                del self.counts_[0]

    def _normal_for_volume(self, x: float) -> bool:
        """True on a low-volume count series (non-negative whole numbers counting single events, i.e. with
        a 1 among them, mean below `low_volume` over the last `count_window` points) when the count noise explains the last `confirm_window` points: their sum is not
        rarer than COUNT_ALARM_P (either tail) under a negative binomial with the window's mean and variance
        (Poisson when the variance does not exceed the mean). Isolated events on a near-zero count are normal."""
        if not self.count_window or len(self.counts_) < min(self.count_window, self.quiet):
            return False
        window = np.asarray(self.counts_)
        mean = (float(window.sum()) + 0.5) / (len(window) + 1)  # half an event of prior: never exactly 0
        if mean >= self.low_volume or np.any(window < 0) or np.any(window != np.round(window)):
            return False
        recent = [*self.counts_[-(self.confirm_window - 1) :], x] if self.confirm_window > 1 else [x]
        if any(v != round(v) or v < 0 for v in recent):
            return False
        if not (np.any(window == 1.0) or 1.0 in recent):
            return False  # whole numbers, but not a counter of single events (a 0/20 signal is a level)
        k = len(recent)
        return count_tail(sum(recent), k * mean, k * max(float(window.var()), 0.0)) > COUNT_ALARM_P

    def _reason(self, i: int, novel_shape: bool) -> str:
        said = []
        if novel_shape and any(self.novel_value_):
            said.append("a new value level: values in a range never seen before")
        elif novel_shape:
            said.append("a new shape: jumps between familiar values never seen before")
        said += [name for name, scores in self.spoke_.items() if scores[i] >= self.default_threshold]
        return "; ".join(said)
