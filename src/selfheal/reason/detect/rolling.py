"""Rolling statistics over the points before each one, in numpy and the standard library (no pandas).

Each function follows pandas' `Series.rolling(window, min_periods=...)` semantics, which the detectors were
written against: the window ends at (and includes) each position, NaN values are ignored and do not count
toward `min_periods`, and a position whose window holds fewer than `min_periods` values gives NaN. Only the
positions from `start` on are computed, so a detector that keeps a short history and scores a few new points
pays for those points only. A caller wanting "the points before this one" shifts first (`shifted`).

Quantiles interpolate linearly between order statistics (pandas' and numpy's default); they are computed from
a sorted window kept up to date point by point (`bisect`), so a window of 20,000 points costs a memmove per
point, not a sort.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterator

import numpy as np

from selfheal.reason.detect.base import FloatArray


def shifted(values: FloatArray, lag: int) -> FloatArray:
    """`values` moved `lag` positions later, NaN in front (pandas' `shift(lag)` for lag >= 0)."""
    out = np.full(len(values), np.nan)
    if lag < len(values):
        out[lag:] = values[: len(values) - lag]
    return out


def median_of_known(rows: FloatArray) -> FloatArray:
    """Each row's median over its finite values; NaN for a row with none (no warning: nothing is asked of it)."""
    out = np.full(len(rows), np.nan)
    known = np.isfinite(rows).any(axis=1)
    if known.any():
        out[known] = np.nanmedian(rows[known], axis=1)
    return out


def _quantile_of_sorted(ordered: list[float], q: float) -> float:
    """Linear interpolation between order statistics (pandas' rolling quantile, exactly)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    if position == low:
        return ordered[low]
    below, above = ordered[low], ordered[low + 1]
    if q == 0.5:
        return (below + above) / 2  # pandas' rolling median takes the mean of the middle two
    return below + (above - below) * (position - low)


def _sorted_windows(values: FloatArray, window: int, start: int) -> Iterator[tuple[int, list[float]]]:
    """For i in [start, len(values)): i and the non-NaN values among `values[i - window + 1 : i + 1]`, sorted
    (one list kept up to date point by point; read it before the next step)."""
    points = values.tolist()
    first = max(0, start - window)  # the window before `start`; the loop moves it on by one point
    ordered = sorted(v for v in points[first:start] if not math.isnan(v))
    for i in range(start, len(points)):
        new = points[i]
        if not math.isnan(new):
            insort(ordered, new)
        if i >= window:
            old = points[i - window]
            if not math.isnan(old):
                del ordered[bisect_left(ordered, old)]
        yield i, ordered


def rolling_quantiles(
    values: FloatArray, window: int, min_periods: int, quantiles: tuple[float, ...], start: int = 0
) -> FloatArray:
    """Row j, column i - start: quantile `quantiles[j]` of the non-NaN values among
    `values[i - window + 1 : i + 1]`, for i in [start, len(values)); NaN below `min_periods` values."""
    out = np.full((len(quantiles), max(len(values) - start, 0)), np.nan)
    needed = max(min_periods, 1)
    for i, ordered in _sorted_windows(values, window, start):
        if len(ordered) >= needed:
            for j, q in enumerate(quantiles):
                out[j, i - start] = _quantile_of_sorted(ordered, q)
    return out


def rolling_kth_largest(
    values: FloatArray, window: int, min_periods: int, k: int, start: int = 0
) -> FloatArray:
    """The `k`-th largest non-NaN value among `values[i - window + 1 : i + 1]` for i in [start, len(values));
    NaN where the window holds fewer than `min_periods` or fewer than `k` values."""
    out = np.full(max(len(values) - start, 0), np.nan)
    needed = max(min_periods, k, 1)
    for i, ordered in _sorted_windows(values, window, start):
        if len(ordered) >= needed:
            out[i - start] = ordered[-k]
    return out


def _window_reduce(values: FloatArray, window: int, op: np.ufunc, identity: float) -> FloatArray:
    """`op` (add, maximum or minimum) over `values[max(0, i - window + 1) : i + 1]` for every i, in O(n).

    The series is cut into blocks of `window` points; a window is the tail of one block (a suffix
    accumulation) joined to the head of the next (a prefix accumulation), so each result only ever combines
    points inside its own window: no running total whose rounding or old extremes leak into later windows.
    """
    n = len(values)
    blocks = -(-n // window)
    flat = np.full(blocks * window, identity)
    flat[:n] = values
    grid = flat.reshape(blocks, window)
    prefix = op.accumulate(grid, axis=1).ravel()[:n]
    suffix = op.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()[:n]
    at = np.arange(n)
    begin = at - window + 1
    joined = (begin > 0) & ((at + 1) % window != 0)
    out = prefix.copy()
    out[joined] = op(suffix[begin[joined]], prefix[joined])
    return np.asarray(out, dtype=np.float64)


def rolling_mean_std(
    values: FloatArray, window: int, min_periods: int, start: int = 0
) -> tuple[FloatArray, FloatArray]:
    """Mean and sample standard deviation (ddof 1) of the non-NaN values among `values[i - window + 1 : i + 1]`
    for i in [start, len(values)); NaN below `min_periods` values (the deviation also below 2). A window whose
    values are all equal has deviation exactly 0."""
    n = len(values)
    m = max(n - start, 0)
    if not m:
        return np.zeros(0), np.zeros(0)
    first = max(0, start - window + 1)
    part = values[first:]
    valid = ~np.isnan(part)
    filled = np.where(valid, part, 0.0)
    count = _window_reduce(valid.astype(np.float64), window, np.add, 0.0)[start - first :]
    total = _window_reduce(filled, window, np.add, 0.0)[start - first :]
    squares = _window_reduce(filled * filled, window, np.add, 0.0)[start - first :]
    high = _window_reduce(np.where(valid, part, -np.inf), window, np.maximum, -np.inf)[start - first :]
    low = _window_reduce(np.where(valid, part, np.inf), window, np.minimum, np.inf)[start - first :]
    flat = high == low
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(flat, high, total / count)
        var = np.where(flat, 0.0, (squares - total * total / count) / (count - 1))
    enough = count >= max(min_periods, 1)
    return (
        np.where(enough, mean, np.nan),
        np.where(enough & (count >= 2), np.sqrt(np.maximum(var, 0.0)), np.nan),
    )
