"""A NAB scorer written from the published algorithm (Lavin & Ahmad 2015, arXiv:1510.03336; NAB v1.1).

For one profile (tpWeight, fpWeight, fnWeight) and one detection threshold:

* The first `min(floor(0.15 n), 0.15 * 5000)` rows of a file (the probation) are not scored.
* A row is a detection when its `anomaly_score >= threshold`.
* Inside an anomaly window only the earliest detection counts. Its reward is
  `tpWeight * sigma(p) / sigma(-1)`, where `p = -(right - i + 1) / width` is the row's relative position
  (-1 at the window's first row, close to 0 at its last) and `sigma(x) = 2 / (1 + exp(5x)) - 1`
  (and -1 for x > 3): a detection at the start of a window earns the full tpWeight, one at its end about 0.
* A window with no detection costs `fnWeight`.
* A detection outside every window costs `fpWeight * sigma(|i - prev_right| / (prev_width - 1))` after a
  window (cheap right after it, the full weight far from it) and the full `fpWeight` before the first one.
* The raw score of a corpus is the sum over files; it is normalised as `100 (raw - null) / (perfect - null)`
  with the null detector (no detections: `-fnWeight * windows`) and the perfect detector (every window caught
  at its first row: `tpWeight * windows`).

`sweep` gives the raw score at every distinct threshold in one pass over the sorted scores, which is how the
corpus-optimised threshold (NAB's own reported figure, an upper bound) is found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PROBATION_PERCENT = 0.15


@dataclass(frozen=True)
class Profile:
    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


STANDARD = Profile("standard", 1.0, 0.11, 1.0)
REWARD_LOW_FP = Profile("reward_low_FP_rate", 1.0, 0.22, 1.0)
REWARD_LOW_FN = Profile("reward_low_FN_rate", 1.0, 0.11, 2.0)
PROFILES: tuple[Profile, ...] = (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)


def profiles_from_config(config: Mapping[str, Mapping[str, Mapping[str, float]]]) -> tuple[Profile, ...]:
    """Profiles from NAB's `config/profiles.json` structure."""
    return tuple(
        Profile(name, c["CostMatrix"]["tpWeight"], c["CostMatrix"]["fpWeight"], c["CostMatrix"]["fnWeight"])
        for name, c in config.items()
    )


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: about 1 well before a window's end, 0 at it, -1 far past it."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_rows(n_rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_PERCENT * 5000))


@dataclass(frozen=True)
class ScoredRow:
    """One scorable row of one file: its anomaly score, the weight it earns if detected, and its window."""

    anomaly_score: float
    weight: float
    window: int | None
    """Global window id, None outside every window."""


def window_index_bounds(
    timestamps: np.ndarray, windows: Sequence[tuple[np.datetime64, np.datetime64]]
) -> list[tuple[int, int]]:
    """Row index bounds `[left, right]` (inclusive) of each window, from its start and end timestamps."""
    bounds = []
    for start, end in windows:
        left = int(np.searchsorted(timestamps, start, side="left"))
        right = int(np.searchsorted(timestamps, end, side="right")) - 1
        if right >= left:
            bounds.append((left, right))
    return bounds


def file_rows(
    scores: Sequence[float] | np.ndarray,
    bounds: Sequence[tuple[int, int]],
    profile: Profile,
    window_id_offset: int = 0,
) -> list[ScoredRow]:
    """The scorable rows of one file with the reward or cost each would earn as a detection."""
    n = len(scores)
    probation = probation_rows(n)
    max_tp = scaled_sigmoid(-1.0)
    in_window = np.full(n, -1, dtype=np.int64)
    for w, (left, right) in enumerate(bounds):
        in_window[left : right + 1] = w
    rows: list[ScoredRow] = []
    prev_right: int | None = None
    prev_width: float | None = None
    for i in range(n):
        w = int(in_window[i])
        if w >= 0:
            left, right = bounds[w]
            width = float(right - left + 1)
            weight = scaled_sigmoid(-(right - i + 1) / width) * profile.tp_weight / max_tp
            window: int | None = w + window_id_offset
            if i == right:
                prev_right, prev_width = right, width
        else:
            if prev_right is None or prev_width is None:
                unweighted = -1.0
            else:
                unweighted = scaled_sigmoid(abs(prev_right - i) / max(prev_width - 1.0, 1.0))
            weight = unweighted * profile.fp_weight
            window = None
        if i >= probation:
            rows.append(ScoredRow(float(scores[i]), weight, window))
    return rows


def raw_score(rows: Iterable[ScoredRow], n_windows: int, threshold: float, profile: Profile) -> float:
    """Raw NAB score of the rows at one threshold (`n_windows` counts every window, caught or not)."""
    fp = 0.0
    best: dict[int, float] = {}
    for r in rows:
        if r.anomaly_score < threshold:
            continue
        if r.window is None:
            fp += r.weight
        else:
            best[r.window] = max(best.get(r.window, -math.inf), r.weight)
    return fp + sum(best.values()) - profile.fn_weight * (n_windows - len(best))


def sweep(rows: Sequence[ScoredRow], n_windows: int, profile: Profile) -> list[tuple[float, float]]:
    """(threshold, raw score) at every distinct anomaly score, highest threshold first.

    Lowering the threshold adds rows in descending score order; a window's reward is its best (earliest)
    detected row so far. Ties enter together. A threshold above every score is included (no detections).
    """
    order = sorted(rows, key=lambda r: -r.anomaly_score)
    best: dict[int, float] = {}
    fp = 0.0
    tp = 0.0
    out = [(math.inf, -profile.fn_weight * n_windows)]
    i = 0
    while i < len(order):
        threshold = order[i].anomaly_score
        while i < len(order) and order[i].anomaly_score == threshold:
            r = order[i]
            if r.window is None:
                fp += r.weight
            else:
                old = best.get(r.window)
                if old is None or r.weight > old:
                    tp += r.weight - (old if old is not None else 0.0)
                    best[r.window] = r.weight
            i += 1
        out.append((threshold, fp + tp - profile.fn_weight * (n_windows - len(best))))
    return out


def normalise(raw: float, n_windows: int, profile: Profile) -> float:
    null = -profile.fn_weight * n_windows
    perfect = profile.tp_weight * n_windows
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class CorpusFile:
    """One data file's scores and window bounds."""

    name: str
    scores: np.ndarray
    bounds: list[tuple[int, int]]


@dataclass(frozen=True)
class ProfileResult:
    profile: str
    threshold: float
    raw: float
    normalised: float


def corpus_rows(files: Sequence[CorpusFile], profile: Profile) -> tuple[list[ScoredRow], int]:
    rows: list[ScoredRow] = []
    offset = 0
    for f in files:
        rows.extend(file_rows(f.scores, f.bounds, profile, offset))
        offset += len(f.bounds)
    return rows, offset


def score_at(files: Sequence[CorpusFile], profile: Profile, threshold: float) -> ProfileResult:
    rows, n_windows = corpus_rows(files, profile)
    raw = raw_score(rows, n_windows, threshold, profile)
    return ProfileResult(profile.name, threshold, raw, normalise(raw, n_windows, profile))


def optimise(files: Sequence[CorpusFile], profile: Profile) -> ProfileResult:
    """The threshold that maximises the corpus score (NAB's reported figure; an upper bound)."""
    rows, n_windows = corpus_rows(files, profile)
    threshold, raw = max(sweep(rows, n_windows, profile), key=lambda tr: (tr[1], tr[0]))
    return ProfileResult(profile.name, threshold, raw, normalise(raw, n_windows, profile))
