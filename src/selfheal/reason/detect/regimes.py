"""Two regimes: a series that keeps leaving its low level for plateaus a few times as high, and coming back.

A per-minute request rate can sit at its normal level and, dozens of times a day, climb to a plateau of two to
four times that level for ten to forty minutes (a batch of clients, a periodic job) before falling back. On such
a series a plateau is the series' other usual state, not a new one: judged against the low level's value grid,
every plateau's rise, edges and block means look new.

`RegimeTracker` follows, point by point and causally, the series' *base*: a low quantile of the previous
`base_points` points. A point is in the high regime when it stands at least `ratio` times its base. A *visit*
is a run of consecutive high points, at least `visit_points` of them and at least VISIT_FLOOR whatever the
sampling (a burst of a few points is a spike, not a plateau: on a five-minute series a visit lasts 50 minutes,
on an hourly one it cannot be seen), and at most `visit_max_points` (an episode that lasts hours is not a
visit that comes back). The series is two-regime at a point when at least `visits` visits ended within the
previous `history_points` points.

`usual_plateau` says whether the recent points (the last `recent_points`) are a plateau of that usual kind: the
series is two-regime there, the recent points reached the high regime, their height above the base is at most
`height_margin` times the tallest earlier visit's, and the base itself is not higher than any base of the
history (a rise of the low level is a change of the series, not a visit to its other regime).

Everything is incremental: feeding the points one by one, in any chunks, gives the same answers.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

VISIT_FLOOR = 10
"""Fewest points a visit takes, whatever their duration: one or two high points are a spike, not a plateau."""


class RegimeTracker:
    """Causal record of a series' visits from its low level to a high plateau and back."""

    def __init__(
        self,
        base_points: int,
        ratio: float,
        visit_points: int,
        visit_max_points: int,
        visits: int,
        history_points: int,
        recent_points: int,
        height_margin: float,
        base_quantile: float = 0.2,
    ) -> None:
        self.base_points = max(1, base_points)
        self.ratio = ratio
        self.visit_points = max(VISIT_FLOOR, visit_points)
        self.visit_max_points = visit_max_points
        self.visits = visits
        self.history_points = history_points
        self.recent_points = max(1, recent_points)
        self.height_margin = height_margin
        self.base_quantile = base_quantile
        self.n_ = 0
        self.window_: deque[float] = deque()
        self.sorted_: list[float] = []
        self.bases_: deque[tuple[int, float]] = deque()  # (point, base) over the history
        self.recent_: deque[float] = deque()  # the last points' ratios to their base
        self.run_ = 0
        self.run_peak_ = 0.0
        self.ended_: deque[tuple[int, float]] = deque()  # (end point, peak ratio) of the visits

    def base(self) -> float:
        """The base before the next point: the `base_quantile` of the previous `base_points` points."""
        if len(self.sorted_) < self.base_points:
            return math.nan
        k = min(len(self.sorted_) - 1, int(self.base_quantile * len(self.sorted_)))
        return self.sorted_[k]

    def add(self, x: float) -> None:
        """Record the next point."""
        base = self.base()
        ratio = x / base if math.isfinite(x) and math.isfinite(base) and base > 0 else math.nan
        self.recent_.append(ratio)
        if len(self.recent_) > self.recent_points:
            self.recent_.popleft()
        if ratio >= self.ratio:
            self.run_ += 1
            self.run_peak_ = max(self.run_peak_, ratio)
        else:
            if self.visit_points <= self.run_ <= self.visit_max_points:
                self.ended_.append((self.n_, self.run_peak_))
            self.run_ = 0
            self.run_peak_ = 0.0
        if math.isfinite(base):
            self.bases_.append((self.n_, base))
        self.n_ += 1
        while self.ended_ and self.ended_[0][0] < self.n_ - self.history_points:
            self.ended_.popleft()
        while self.bases_ and self.bases_[0][0] < self.n_ - self.history_points:
            self.bases_.popleft()
        if math.isfinite(x):
            self.window_.append(x)
            bisect.insort(self.sorted_, x)
            if len(self.window_) > self.base_points:
                del self.sorted_[bisect.bisect_left(self.sorted_, self.window_.popleft())]

    def usual_plateau(self) -> tuple[bool, int]:
        """Whether the recent points are a usual visit to the high regime, and how many visits the history
        holds."""
        count = len(self.ended_)
        if count < self.visits or not self.bases_:
            return False, count
        heights = [r for r in self.recent_ if math.isfinite(r)]
        if not heights or max(heights) < self.ratio:
            return False, count
        tallest = max(peak for _, peak in self.ended_)
        if max(heights) - 1.0 > self.height_margin * (tallest - 1.0):
            return False, count
        now = self.bases_[-1]
        older = [b for t, b in self.bases_ if t < now[0] - self.base_points]
        if not older or now[1] > max(older):
            return False, count
        return True, count
