"""Rates and counts tested as counts: a binomial test for failures out of trials, a Poisson test for volumes.

A rate is judged by how unlikely its *count* is under the baseline, so one failure out of three checkouts
(p ~ 0.06 at a 2 % baseline) never looks like a crisis while 60 out of 300 does. Scores are
`-log10(p-value) / CAP_DIGITS`, clipped to [0, 1]: 0.5 means p = 1e-4, 1 means p <= 1e-8.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from selfheal.reason.detect.base import Detector, FloatArray, register

CAP_DIGITS = 8.0


def highest_plausible_rate(failures: float, trials: float, tail: float) -> float:
    """The highest rate `failures` out of `trials` leave plausible: the one-sided upper bound (Clopper-Pearson)
    at tail probability `tail`; 1.0 without trials."""
    if trials <= 0 or failures >= trials:
        return 1.0
    return float(stats.beta.ppf(1 - tail, failures + 1, trials - failures))


def pvalue_to_score(p: FloatArray) -> FloatArray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-300, 1.0)
    return np.asarray(np.clip(-np.log10(p) / CAP_DIGITS, 0.0, 1.0), dtype=np.float64)


def binomial_excess_pvalue(failures: FloatArray, trials: FloatArray, p0: FloatArray | float) -> FloatArray:
    """P(X >= failures) for X ~ Binomial(trials, p0): small when there are too many failures."""
    k = np.asarray(failures, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    p = np.where(k > 0, stats.binom.sf(k - 1, n, p0), 1.0)
    return np.asarray(p, dtype=np.float64)


def poisson_pvalue(observed: FloatArray, expected: FloatArray, direction: str) -> FloatArray:
    """One-sided Poisson p-value: `drop` for too few events, `spike` for too many."""
    k = np.asarray(observed, dtype=np.float64)
    mu = np.maximum(np.asarray(expected, dtype=np.float64), 1e-9)
    if direction == "drop":
        return np.asarray(stats.poisson.cdf(k, mu), dtype=np.float64)
    return np.asarray(np.where(k > 0, stats.poisson.sf(k - 1, mu), 1.0), dtype=np.float64)


@register
class BinomialRateDetector(Detector):
    """Failures out of trials against the baseline failure rate (Beta-smoothed, floored).

    `values` are failures, `trials` the attempts. `min_lift` ignores increases too small to matter
    (observed rate must exceed `p0 * min_lift` and `p0 + min_excess`).
    """

    name = "binomial_rate"
    needs_trials = True

    def __init__(
        self,
        prior_rate: float = 0.005,
        prior_weight: float = 200.0,
        min_lift: float = 2.0,
        min_excess: float = 0.01,
    ) -> None:
        self.prior_rate = prior_rate
        self.prior_weight = prior_weight
        self.min_lift = min_lift
        self.min_excess = min_excess
        self.reset()

    def reset(self) -> None:
        self.failures_ = 0.0
        self.trials_ = 0.0

    @property
    def rate_(self) -> float:
        """The baseline failure rate learned so far."""
        return (self.failures_ + self.prior_rate * self.prior_weight) / (self.trials_ + self.prior_weight)

    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        assert trials is not None
        # Each point is judged against the rate learned from the points before it.
        cum_f = self.failures_ + np.concatenate([[0.0], np.cumsum(values)[:-1]])
        cum_n = self.trials_ + np.concatenate([[0.0], np.cumsum(trials)[:-1]])
        p0 = (cum_f + self.prior_rate * self.prior_weight) / (cum_n + self.prior_weight)
        p = binomial_excess_pvalue(values, trials, p0)
        rate = np.divide(values, trials, out=np.zeros_like(values), where=trials > 0)
        material = (rate > p0 * self.min_lift) & (rate > p0 + self.min_excess)
        self.expected_ = p0 * trials
        self.failures_ += float(values.sum())
        self.trials_ += float(trials.sum())
        return np.where(material, pvalue_to_score(p), 0.0)


@register
class PoissonDropDetector(Detector):
    """A volume (orders, attempts) falling below its baseline rate per point; `min_drop` is the smallest
    relative drop worth reporting. The baseline is the mean of the points seen so far."""

    name = "poisson_drop"

    def __init__(self, min_drop: float = 0.3, min_expected: float = 3.0) -> None:
        self.min_drop = min_drop
        self.min_expected = min_expected
        self.reset()

    def reset(self) -> None:
        self.total_ = 0.0
        self.points_ = 0

    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        cum = self.total_ + np.concatenate([[0.0], np.cumsum(values)[:-1]])
        count = self.points_ + np.arange(len(values))
        mu = np.divide(cum, count, out=np.zeros_like(cum), where=count > 0)
        p = poisson_pvalue(values, mu, "drop")
        material = (mu >= self.min_expected) & (values < mu * (1 - self.min_drop))
        self.expected_ = mu
        self.total_ += float(values.sum())
        self.points_ += len(values)
        return np.where(material, pvalue_to_score(p), 0.0)
