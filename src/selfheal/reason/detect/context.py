"""A contextual detector: how new is the recent shape of the series, compared with everything seen before?

Values are quantised onto `overlap` coarse grids (`levels` steps spanning the first `warmup` points, each grid
shifted by 1/`overlap` of a step, so nearby values share a bucket on at least one grid; values outside that
range get buckets of their own). On every grid, each point forms, for every order k = 0..`orders`, the pattern
of its own bucket and the k buckets before it. The raw novelty of the point is the share of all those patterns
never seen before: a value in a bucket never visited scores 1, a familiar value after a familiar one scores 0,
and an unusual transition (a familiar value after a neighbour it has never followed) falls between. With one
grid, "at least three of four patterns new" means "this transition has never happened"; with two grids the
same 0.75 means it is new on both, so a value that merely crosses one grid's bucket edge does not count.

A new transition alone is common in a noisy series; the novelty channel alarms once `confirm` new transitions
fall within `confirm_window` points (by default 2 within 6), which costs a detection a few points of delay
and removes most isolated false alarms.

A second channel, the `robust` detector's magnitude score (rolling median/IQR, daily seasonality, likelihood),
catches large deviations that stay inside familiar buckets. A point alarms when the transition is new or the
magnitude score is extreme; after an alarm the next `refractory` points are silenced, so one incident gives
one alarm (as a live monitor and NAB's scoring both want: only the first detection of an incident counts).
The first `quiet` points never alarm (the magnitude channel's baseline is still forming). Before the warm-up
ends, a provisional grid is drawn at each point count in `early` (by default at 200) from the points so far,
`early_coarsening` times coarser than the final one (a short sample underestimates the range, and a fine grid
over it would find every later tail value new); at the end of the warm-up the final grid replaces it and the
patterns are learned again from all warm-up points.

Everything is causal and incremental: `fit` then `score` in chunks gives the same scores as scoring all at once.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from selfheal.reason.detect.base import Detector, FloatArray, register
from selfheal.reason.detect.robust import RobustDetector
from selfheal.reason.detect.weekly import WeeklyDetector

NOVEL_TRANSITION = 0.75
"""Raw novelty at which a point alarms: with orders >= 2, this means its transition was never seen."""


@register
class ContextDetector(Detector):
    """Novelty of the quantised recent shape, plus extreme robust deviations, with a refractory period."""

    name = "context"
    default_threshold = 0.5

    def __init__(
        self,
        levels: int = 10,
        orders: int = 3,
        warmup: int = 400,
        refractory: int = 100,
        magnitude_threshold: float = 0.9,
        max_bins: int = 24,
        confirm: int = 2,
        confirm_window: int = 6,
        overlap: int = 2,
        novel: float = NOVEL_TRANSITION,
        quiet: int = 100,
        early: tuple[int, ...] = (200,),
        early_coarsening: float = 2.0,
        regrid: tuple[int, ...] = (),
        chain: int = 0,
        chain_refractory: int = 0,
        transition_confirm: int = 0,
        weeks: int = 0,
        weekly: bool = True,
        regrid_share: float = 0.0,
        regrid_growth: float = 0.0,
        escalate: float = 0.0,
        magnitude_record: float = 0.0,
        coarse: int = 0,
        coarse_params: dict | None = None,
    ) -> None:
        self.levels = levels
        self.orders = orders
        self.warmup = warmup
        self.refractory = refractory
        self.magnitude_threshold = magnitude_threshold
        self.max_bins = max_bins
        self.confirm = confirm
        self.confirm_window = confirm_window
        self.overlap = overlap
        self.novel = novel
        self.quiet = quiet
        self.early = tuple(early)
        self.early_coarsening = early_coarsening
        self.regrid = tuple(regrid)
        self.chain = chain
        self.chain_refractory = chain_refractory
        self.transition_confirm = transition_confirm
        self.weeks = weeks
        self.weekly = weekly
        self.regrid_share = regrid_share
        self.regrid_growth = regrid_growth
        self.escalate = escalate
        self.magnitude_record = magnitude_record
        self.coarse = coarse
        self.coarse_params = dict(coarse_params or {})
        self.reset()

    def reset(self) -> None:
        self.buffer_: list[float] = []
        self.lo_: float | None = None
        self.final_grid_ = False
        self.step_: float = 1.0
        self.recent_: list[tuple[int, ...]] = []
        self.seen_: list[set[tuple[int, ...]]] = [set() for _ in range((self.orders + 1) * self.overlap)]
        self.since_alarm_ = 10**9
        self.hold_ = self.refractory
        self.all_: list[float] = []
        self.n_ = 0
        self.novel_at_: list[int] = []
        self.novel_kind_: list[bool] = []
        self.magnitude_ = RobustDetector(refractory=0, weeks=self.weeks, record=self.magnitude_record)
        self.weekly_ = WeeklyDetector()
        self.block_: list[float] = []
        self.coarse_ = (
            ContextDetector(**{"weekly": False, "magnitude_threshold": 99.0, **self.coarse_params})
            if self.coarse
            else None
        )
        self.expected_: FloatArray = np.zeros(0)

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

    def _wants_regrid(self) -> bool:
        assert self.lo_ is not None
        a = np.asarray(self.all_)
        hi = self.lo_ + self.step_ * (self.levels - 1)
        return bool(np.mean((a < self.lo_) | (a > hi)) >= self.regrid_share)

    def _set_grid(self) -> None:
        w = np.asarray(self.buffer_, dtype=np.float64)
        w = w[np.isfinite(w)]
        lo = float(w.min()) if len(w) else 0.0
        hi = float(w.max()) if len(w) else 0.0
        span = hi - lo
        if span <= 0:
            span = max(abs(lo), 1.0)
        self.lo_ = lo
        self.step_ = span / (self.levels - 1)

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

    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        magnitude = self.magnitude_.score(values, timestamps=timestamps)
        self.expected_ = self.magnitude_.expected()
        if self.weekly:
            magnitude = np.maximum(magnitude, self.weekly_.score(values, timestamps=timestamps) / self.weekly_.default_threshold * self.magnitude_threshold)
        out = np.zeros(len(values))
        scale_novelty = self.default_threshold / self.novel
        scale_magnitude = self.default_threshold / self.magnitude_threshold
        for i, x in enumerate(values.tolist()):
            novelty = 0.0
            self.last_nov_ = 0.0
            if self.regrid and len(self.all_) < max(self.regrid):
                self.all_.append(x)
            if self.final_grid_:
                novelty = self._novelty(self._bin(x))
                if len(self.all_) in self.regrid and self.n_ + 1 == len(self.all_) and self._wants_regrid():
                    self.buffer_ = self.all_
                    old = self.step_
                    self._set_grid()
                    if self.regrid_growth:
                        self.step_ = min(self.step_, old * self.regrid_growth)
                    self.recent_ = []
                    self.seen_ = [set() for _ in self.seen_]
                    for y in self.buffer_:
                        self._novelty(self._bin(y))
                    self.buffer_ = []
            else:
                if self.lo_ is not None:
                    novelty = self._novelty(self._bin(x))  # on the provisional grid
                self.buffer_.append(x)
                if len(self.buffer_) >= self.warmup or len(self.buffer_) in self.early:
                    # A grid from the points so far; they become the known patterns (they score 0).
                    self.final_grid_ = len(self.buffer_) >= self.warmup
                    self._set_grid()
                    if not self.final_grid_:
                        self.step_ *= self.early_coarsening
                    self.recent_ = []
                    self.seen_ = [set() for _ in self.seen_]
                    for y in self.buffer_:
                        self._novelty(self._bin(y))
                    if self.final_grid_:
                        self.buffer_ = []
            # The novelty channel speaks once `confirm` new transitions fall within `confirm_window` points:
            # a lone new transition in a noisy series is common, a burst of them is a changed shape.
            self.n_ += 1
            self.last_nov_ = novelty
            if novelty >= self.novel:
                self.novel_at_.append(self.n_)
                self.novel_kind_.append(novelty > self.novel)
            while self.novel_at_ and self.novel_at_[0] <= self.n_ - self.confirm_window:
                del self.novel_at_[0]
                del self.novel_kind_[0]
            confirmed = len(self.novel_at_) >= self.confirm
            if confirmed and self.transition_confirm and not any(self.novel_kind_):
                confirmed = len(self.novel_at_) >= self.transition_confirm
            novelty = max(novelty, self.novel) if confirmed else min(novelty, 0.9 * self.novel)
            score = min(1.0, max(novelty * scale_novelty, float(magnitude[i]) * scale_magnitude))
            if self.coarse_ is not None:
                self.block_.append(x)
                if len(self.block_) >= self.coarse:
                    c = float(self.coarse_.score(np.array([float(np.mean(self.block_))]))[0])
                    self.block_ = []
                    score = max(score, c)
            self.since_alarm_ += 1
            raw_novelty = novelty
            if self.n_ <= self.quiet:
                continue
            if self.since_alarm_ <= self.hold_:
                if not (self.escalate and confirmed and self.novel_kind_ and self.novel_kind_[-1] and self.novel_at_[-1] == self.n_ and self.last_nov_ >= self.escalate):
                    continue
            out[i] = score
            if score >= self.default_threshold:
                if self.chain and self.since_alarm_ <= self.hold_ + self.chain:
                    self.hold_ = self.chain_refractory
                else:
                    self.hold_ = self.refractory
                self.since_alarm_ = 0
        return out
