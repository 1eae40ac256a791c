"""Trend of a theme across the recent windows: new, growing, stable or shrinking."""

from __future__ import annotations

from collections.abc import Sequence

from selfheal.reason.model import ThemeTrend

GROWTH_FACTOR = 1.5
MIN_CHANGE = 2


def classify_trend(counts: Sequence[int]) -> ThemeTrend:
    """`counts` are ticket counts per window, oldest first, the current window last.

    new: no tickets before the current window. growing / shrinking: the current count is at least
    GROWTH_FACTOR times above / below the average of the earlier windows (and differs by at least
    MIN_CHANGE tickets). Otherwise stable.
    """
    if not counts:
        return ThemeTrend.new
    *earlier, current = counts
    if not earlier or sum(earlier) == 0:
        return ThemeTrend.new
    average = sum(earlier) / len(earlier)
    if current >= GROWTH_FACTOR * average and current - average >= MIN_CHANGE:
        return ThemeTrend.growing
    if current * GROWTH_FACTOR <= average and average - current >= MIN_CHANGE:
        return ThemeTrend.shrinking
    return ThemeTrend.stable
