"""Business impact in orders and money, with uncertainty intervals.

Every figure counts from the incident's onset (the failure's first minutes at the merchants at risk,
`decide.blast.failure_start`: the earliest locating signal, moved back over a ramp; or the window start when the
onset lies before it), never the whole rolling window: the loss so far and the per-hour rate have one basis.
For each merchant in scope:
    expected orders = baseline conversion (orders / checkout attempts) x checkout attempts since the onset
    lost orders     = expected orders - actual orders since the onset
    lost revenue    = lost orders x baseline average order value (AOV)
Variance of lost orders = A p (1 - p) (the counterfactual is binomial) + A^2 Var(p_hat) (the baseline is
an estimate).

Minutes since the onset in which no KPI point arrived at all (an exporter dropped them, a collector restarted),
or none from a busy merchant whose own feed dropped them (`observe.gaps.kpi_missing_by_merchant`), are missing
data, not minutes without shoppers: each merchant's loss in them is estimated as its average loss per
covered minute since the onset, and the interval widens by how much a minute's loss varies between the covered
minutes (the missing minutes' own spread, and the doubt about the average). Lost revenue adds the AOV estimate's and the lost orders' own value dispersion. Intervals are
normal approximations at 90 %. Per hour divides by the minutes since onset; per day scales the loss per
checkout attempt by the baseline's daily attempts (so a peak-hour window is not simply multiplied by 24).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from selfheal.decide.model import Estimate, MerchantImpact, RiskReport
from selfheal.observe.gaps import kpi_gap_minutes, kpi_missing_by_merchant
from selfheal.observe.model import MerchantBaseline, Observation
from selfheal.observe.window import group_rows, group_sums, ordered_sum

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Z90 = 1.6449
PRIOR_ATTEMPTS = 20.0
"""Pseudo-attempts at the stage's pooled conversion added to each merchant's baseline (shrinkage)."""
MIN_BASELINE_ATTEMPTS = 50
MIN_BASELINE_ORDERS = 20
DEFAULT_VALUE_CV = 0.5
"""Coefficient of variation of single order values when the window cannot estimate it."""
MIN_RATE_MINUTES = 10
MIN_COVERED_MINUTES = 5
"""A merchant's loss in minutes without KPI points is estimated only from at least this many covered minutes."""


@dataclass(frozen=True)
class MerchantWindow:
    merchant_id: str
    stage: str
    attempts: int
    orders: int
    revenue: float
    attempts_since_onset: int
    orders_since_onset: int
    spread: MinuteSpread | None = None
    """Per covered minute since the onset: what the loss estimate for minutes without KPI points needs."""
    missing_minutes: int = 0
    """Minutes since the onset without the merchant's KPI point that are missing data (`kpi_missing_by_merchant`:
    none from any merchant, or its own feed's dropped minutes)."""


@dataclass(frozen=True)
class MinuteSpread:
    """A merchant's checkout attempts and orders per covered minute since the onset, as sums over those minutes:
    enough for the mean and the spread of its loss per minute at any baseline conversion."""

    minutes: int
    attempts_sq: float
    orders_sq: float
    attempts_orders: float


@dataclass
class ImpactNotes:
    """Assumptions and uncertainties the computation ran into, written from the data."""

    assumptions: list[str]
    uncertainties: list[str]


def _est(value: float, sd: float) -> Estimate:
    return Estimate(value=round(value, 2), low=round(value - Z90 * sd, 2), high=round(value + Z90 * sd, 2))


def window_by_merchant(obs: Observation, onset: datetime | None) -> dict[str, MerchantWindow]:
    m = obs.metrics
    since = (
        np.ones(len(m), dtype=bool)
        if onset is None
        else _at_or_after(m.ts_ms, onset.replace(second=0, microsecond=0))
    )
    attempts, orders, revenue, counted, counted_orders = m.merchant_id.sums(
        m.checkout_attempts, m.orders, m.revenue, m.checkout_attempts * since, m.orders * since
    )
    # A merchant's stage in the window: that of its last point.
    last_row = np.zeros(len(m.merchant_id.values), dtype=np.int64)
    last_row[m.merchant_id.codes] = np.arange(len(m))
    stage = {
        m.merchant_id.values[c]: m.migration_stage[int(last_row[c])]
        for c in m.merchant_id.distinct_codes().tolist()
    }
    spreads = _minute_spreads(obs, since)
    missing = kpi_missing_by_merchant(obs, onset)
    return {
        k: MerchantWindow(
            merchant_id=k,
            stage=obs.merchant_stages.get(k, stage[k]),
            attempts=int(attempts[k]),
            orders=int(orders[k]),
            revenue=float(revenue[k]),
            attempts_since_onset=int(counted[k]),
            orders_since_onset=int(counted_orders[k]),
            spread=spreads.get(k),
            missing_minutes=missing.get(k, 0),
        )
        for k in attempts
    }


def _minute_spreads(obs: Observation, since: np.ndarray) -> dict[str, MinuteSpread]:
    """Per merchant with KPI points at or after the onset (`since`): its covered minutes and the sums of squares
    of its attempts and orders per minute."""
    m = obs.metrics.take(np.flatnonzero(since))
    if not len(m):
        return {}
    groups, first = group_rows(m.merchant_id, m.minute_ms())
    a, o = group_sums(groups, len(first), m.checkout_attempts, m.orders)
    per_minute = m.merchant_id.take(first)
    minutes, a_sq, o_sq, a_o = per_minute.sums(np.ones(len(first)), a * a, o * o, a * o)
    return {k: MinuteSpread(int(minutes[k]), a_sq[k], o_sq[k], a_o[k]) for k in minutes}


def _at_or_after(ts_ms: np.ndarray, moment: datetime) -> np.ndarray:
    """Per point: whether its time (epoch ms) is at or after `moment`, compared exactly (microseconds)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return ts_ms * 1000 >= (aware - EPOCH) // timedelta(microseconds=1)


def value_cv(obs: Observation, aov: dict[str, float]) -> float | None:
    """Dispersion of single order values, from per-minute revenue around orders x AOV."""
    m = obs.metrics
    a = m.merchant_id.lookup(aov, 0.0)
    rows = np.flatnonzero((a != 0) & ~np.isnan(a) & (m.orders > 0))
    num = ordered_sum((m.revenue[rows] / a[rows] - m.orders[rows]) ** 2)
    den = ordered_sum(m.orders[rows])
    if den < 30:
        return None
    return math.sqrt(num / den)


@dataclass(frozen=True)
class Rates:
    conversion: float
    conversion_n: float
    aov: float
    aov_n: float
    attempts_per_day: float


def merchant_rates(
    baselines: tuple[MerchantBaseline, ...], merchants: set[str], stage_of: dict[str, str], notes: ImpactNotes
) -> dict[str, Rates]:
    """Each merchant's baseline conversion and AOV, borrowing from its stage when its own history is thin."""
    by_stage: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    platform = [0.0, 0.0, 0.0]
    for b in baselines:
        s = by_stage[stage_of.get(b.merchant_id, b.migration_stage)]
        for slot in (s, platform):
            slot[0] += b.checkout_attempts
            slot[1] += b.orders
            slot[2] += b.revenue
    base = {b.merchant_id: b for b in baselines}
    rates: dict[str, Rates] = {}
    thin_conv: list[str] = []
    thin_aov: list[str] = []
    for merchant in sorted(merchants):
        stage = stage_of.get(merchant, "")
        pool = by_stage.get(stage) or platform
        if pool[0] <= 0:
            pool = platform
        pool_conv = pool[1] / pool[0] if pool[0] else 0.0
        pool_aov = pool[2] / pool[1] if pool[1] else 0.0
        own = base.get(merchant)
        attempts = own.checkout_attempts if own else 0
        orders = own.orders if own else 0
        conv = (orders + PRIOR_ATTEMPTS * pool_conv) / (attempts + PRIOR_ATTEMPTS)
        if attempts < MIN_BASELINE_ATTEMPTS:
            thin_conv.append(f"{merchant} ({attempts} attempts)")
        if own and orders >= MIN_BASELINE_ORDERS:
            aov, aov_n = own.revenue / orders, float(orders)
        else:
            aov, aov_n = pool_aov, max(pool[1], 1.0)
            thin_aov.append(f"{merchant} ({orders} orders)")
        per_day = attempts / own.minutes * 1440 if own and own.minutes else 0.0
        rates[merchant] = Rates(conv, attempts + PRIOR_ATTEMPTS, aov, aov_n, per_day)
    if thin_conv:
        notes.assumptions.append(
            f"Baseline conversion leans on the stage average for {len(thin_conv)} merchant(s) with under "
            f"{MIN_BASELINE_ATTEMPTS} baseline checkout attempts: {', '.join(thin_conv[:5])}"
            + (" ..." if len(thin_conv) > 5 else "")
        )
    if thin_aov:
        notes.assumptions.append(
            f"AOV taken from the stage's baseline for {len(thin_aov)} merchant(s) with under "
            f"{MIN_BASELINE_ORDERS} baseline orders: {', '.join(thin_aov[:5])}"
            + (" ..." if len(thin_aov) > 5 else "")
        )
    return rates


@dataclass(frozen=True)
class MerchantLossCalc:
    impact: MerchantImpact
    lost_var: float
    revenue_var: float
    attempts: int
    attempts_since_onset: int
    attempts_per_day: float
    missing_minutes_lost: float = 0.0
    """The part of the lost orders estimated for minutes without KPI points."""


def merchant_loss(
    w: MerchantWindow,
    r: Rates,
    cv: float,
    traffic_share: float,
    basis: str,
    counted: tuple[float, float] | None = None,
) -> MerchantLossCalc:
    """The merchant's loss since the onset (`w.attempts_since_onset`, `w.orders_since_onset`): expected minus
    actual orders; or, with `counted` (lost orders, variance), the orders the merchant's counted failed requests
    cost (expected orders are then actual + counted)."""
    p, a = r.conversion, w.attempts_since_onset
    gap: tuple[float, float] | None = None
    if counted is None:
        expected = p * a
        lost = expected - w.orders_since_onset
        var_p = p * (1 - p) / r.conversion_n
        lost_var = a * p * (1 - p) + a * a * var_p
        gap = missing_minutes_loss(w, p, var_p)
        if gap is not None:
            lost += gap[0]
            lost_var += gap[1]
            expected = w.orders_since_onset + lost
    else:
        lost, lost_var = counted
        expected = w.orders_since_onset + lost
    aov_var = (cv * r.aov) ** 2 / r.aov_n
    revenue = lost * r.aov
    revenue_var = lost_var * r.aov**2 + lost * lost * aov_var + max(lost, 0.0) * (cv * r.aov) ** 2
    return MerchantLossCalc(
        impact=MerchantImpact(
            merchant_id=w.merchant_id,
            migration_stage=w.stage,
            expected_orders=round(expected, 2),
            actual_orders=w.orders_since_onset,
            lost_orders=_est(lost, math.sqrt(lost_var)),
            lost_revenue=_est(revenue, math.sqrt(revenue_var)),
            traffic_share=round(traffic_share, 4),
            basis=basis,
        ),
        lost_var=lost_var,
        revenue_var=revenue_var,
        attempts=a,
        attempts_since_onset=w.attempts_since_onset,
        attempts_per_day=r.attempts_per_day,
        missing_minutes_lost=gap[0] if gap is not None else 0.0,
    )


def missing_minutes_loss(w: MerchantWindow, p: float, var_p: float) -> tuple[float, float] | None:
    """The merchant's loss in the minutes since the onset without KPI points (`w.missing_minutes`), and its
    variance: its average loss per covered minute at baseline conversion `p` (variance `var_p`) for each missing
    minute; the variance adds the missing minutes' own spread (the covered minutes' variance of the loss per
    minute, at least a minute's binomial noise), the doubt about the average, and the baseline's doubt for their
    attempts. None when nothing is
    missing or under `MIN_COVERED_MINUTES` minutes are covered."""
    s, g = w.spread, w.missing_minutes
    if g <= 0 or s is None or s.minutes < MIN_COVERED_MINUTES:
        return None
    c = s.minutes
    a, o = w.attempts_since_onset, w.orders_since_onset
    mean = (p * a - o) / c
    square = (p * p * s.attempts_sq - 2 * p * s.attempts_orders + s.orders_sq) / c
    # At least the binomial noise of a minute's attempts (would each shopper have bought), as if measured.
    per_minute_var = max((square - mean * mean) * c / (c - 1), p * (1 - p) * a / c)
    gap_attempts = a * g / c
    variance = g * per_minute_var * (1 + g / c) + gap_attempts * (gap_attempts + 2 * a) * var_p
    return mean * g, variance


def _exact(x: float) -> Estimate:
    return Estimate(value=round(x, 2), low=round(x, 2), high=round(x, 2))


def _money(x: float, currency: str) -> str:
    return f"{currency} {x:,.0f}"


def risk_report(
    obs: Observation,
    calcs: list[MerchantLossCalc],
    onset: datetime | None,
    currency: str,
    stages: tuple[str, ...],
) -> RiskReport:
    expected = sum(c.impact.expected_orders for c in calcs)
    actual = sum(c.impact.actual_orders for c in calcs)
    lost = expected - actual
    lost_sd = math.sqrt(sum(c.lost_var for c in calcs))
    revenue = sum(c.impact.lost_revenue.value for c in calcs)
    revenue_sd = math.sqrt(sum(c.revenue_var for c in calcs))
    start = max(onset, obs.window_start) if onset else obs.window_start
    minutes = max(1, round((obs.as_of - start).total_seconds() / 60))
    hour = 60 / max(minutes, MIN_RATE_MINUTES)
    since = sum(c.attempts_since_onset for c in calcs)
    per_day_attempts = sum(c.attempts_per_day for c in calcs)
    day = per_day_attempts / since if since else 24 * hour
    lost_w, rev_w = _est(lost, lost_sd), _est(revenue, revenue_sd)
    lost_h, rev_h = _est(lost * hour, lost_sd * hour), _est(revenue * hour, revenue_sd * hour)
    lost_d, rev_d = _est(lost * day, lost_sd * day), _est(revenue * day, revenue_sd * day)
    top = sorted(calcs, key=lambda c: -c.impact.lost_revenue.value)[:3]
    top_text = ", ".join(
        f"{c.impact.merchant_id} ({_money(c.impact.lost_revenue.value, currency)})"
        for c in top
        if c.impact.lost_revenue.value > 0
    )
    text = (
        f"Lost so far since {start:%H:%M} UTC ({minutes} minutes) at {len(calcs)} merchant(s) at risk"
        f"{' in stage(s) ' + ', '.join(stages) if stages else ''}: about {max(lost, 0):,.0f} orders "
        f"(90% interval {max(lost_w.low, 0):,.0f}-{max(lost_w.high, 0):,.0f}; {actual:,} taken against "
        f"{expected:,.0f} expected) and {_money(max(revenue, 0), currency)} in revenue "
        f"({_money(max(rev_w.low, 0), currency)}-{_money(max(rev_w.high, 0), currency)}). "
        f"At the current rate (the average since {start:%H:%M} UTC), {_money(max(rev_h.value, 0), currency)} "
        f"per hour; if it persists, about {_money(max(rev_d.value, 0), currency)} per day."
        + (f" Most affected: {top_text}." if top_text else "")
    )
    return RiskReport(
        window_minutes=obs.window_minutes,
        currency=currency,
        expected_orders=round(expected, 2),
        actual_orders=actual,
        lost_orders=lost_w,
        lost_revenue=rev_w,
        lost_orders_per_hour=lost_h,
        lost_revenue_per_hour=rev_h,
        lost_orders_per_day=lost_d,
        lost_revenue_per_day=rev_d,
        text=text,
        onset=start,
        minutes_affected=minutes,
    )


@dataclass(frozen=True)
class LossRate:
    """Orders lost per hour at a set of merchants over the minutes since a moment (those with KPI points)."""

    minutes: int
    expected_orders: float
    actual_orders: int
    lost_orders_per_hour: float


def loss_rate_since(obs: Observation, merchants: set[str], since: datetime) -> LossRate:
    """Expected (baseline conversion x attempts) minus actual orders per hour, from `since` to `as_of`.

    What the outcome check compares before and after an action executes.
    """
    start = max(since, obs.window_start)
    notes = ImpactNotes(assumptions=[], uncertainties=[])
    rates = merchant_rates(obs.baselines, merchants, obs.merchant_stages, notes)
    m = obs.metrics
    conversion = m.merchant_id.lookup({k: r.conversion for k, r in rates.items()})
    rows = np.flatnonzero(
        ~np.isnan(conversion) & _at_or_after(m.ts_ms, start.replace(second=0, microsecond=0))
    )
    expected = ordered_sum(conversion[rows] * m.checkout_attempts[rows])
    actual = int(m.orders[rows].sum())
    # Minutes without any KPI point are missing data: the rate is over the minutes that were measured.
    missing = len(kpi_gap_minutes(obs, start))
    minutes = max(1, round((obs.as_of - start).total_seconds() / 60) - missing)
    return LossRate(
        minutes=minutes,
        expected_orders=round(expected, 2),
        actual_orders=actual,
        lost_orders_per_hour=round((expected - actual) * 60 / minutes, 2),
    )


def counted_loss_report(
    obs: Observation,
    missing_by_merchant: dict[str, int],
    aov: dict[str, float],
    onset: datetime | None,
    currency: str,
    stages: tuple[str, ...],
) -> tuple[list[MerchantImpact], RiskReport]:
    """Impact when no KPI metrics cover the merchants at risk: the lost orders are the counted payments
    without order.created (exact), valued at the baseline AOV where one exists."""
    start = max(onset, obs.window_start) if onset else obs.window_start
    minutes = max(1, round((obs.as_of - start).total_seconds() / 60))
    hour = 60 / max(minutes, MIN_RATE_MINUTES)
    impacts = []
    for merchant, missing in sorted(missing_by_merchant.items(), key=lambda kv: -kv[1]):
        value = missing * aov.get(merchant, 0.0)
        impacts.append(
            MerchantImpact(
                merchant_id=merchant,
                migration_stage=obs.merchant_stages.get(merchant, ""),
                expected_orders=float(missing),
                actual_orders=0,
                lost_orders=Estimate(value=missing, low=missing, high=missing),
                lost_revenue=Estimate(value=round(value, 2), low=round(value, 2), high=round(value, 2)),
                traffic_share=0.0,
                basis="direct",
            )
        )
    lost = float(sum(missing_by_merchant.values()))
    revenue = sum(i.lost_revenue.value for i in impacts)
    text = (
        f"Lost so far since {start:%H:%M} UTC ({minutes} minutes): {lost:.0f} successful payments at "
        f"{len(impacts)} merchant(s){' in stage(s) ' + ', '.join(stages) if stages else ''} have no order, "
        f"{_money(revenue, currency)} at baseline order values. At the current rate (the average since "
        f"{start:%H:%M} UTC), {_money(revenue * hour, currency)} per hour. "
        "No KPI metrics cover these merchants, so orders lost before payment are not counted."
    )
    report = RiskReport(
        window_minutes=obs.window_minutes,
        currency=currency,
        expected_orders=lost,
        actual_orders=0,
        lost_orders=_exact(lost),
        lost_revenue=_exact(revenue),
        lost_orders_per_hour=_exact(lost * hour),
        lost_revenue_per_hour=_exact(revenue * hour),
        lost_orders_per_day=_exact(lost * hour * 24),
        lost_revenue_per_day=_exact(revenue * hour * 24),
        text=text,
        onset=start,
        minutes_affected=minutes,
    )
    return impacts, report


@dataclass(frozen=True)
class LossSpan:
    """Orders and revenue lost at a set of merchants over `[start, end)`: baseline conversion x checkout
    attempts minus actual orders, valued at each merchant's baseline order value."""

    start: datetime
    end: datetime
    expected_orders: float
    actual_orders: int
    lost_orders: float
    lost_revenue: float
    missing_minutes: int = 0
    """Whole minutes of the span without any KPI point (`observe.gaps`): missing data, not counted above."""

    @property
    def minutes(self) -> float:
        """The minutes the figures above measure: the span less its minutes without KPI points."""
        return max((self.end - self.start).total_seconds() / 60 - self.missing_minutes, 0.0)

    @property
    def lost_orders_per_hour(self) -> float:
        return self.lost_orders * 60 / self.minutes if self.minutes > 0 else 0.0

    @property
    def lost_revenue_per_hour(self) -> float:
        return self.lost_revenue * 60 / self.minutes if self.minutes > 0 else 0.0

    @property
    def whole_span_share(self) -> float:
        """The whole span per measured minute: what scales the measured loss to the span's estimated loss (the
        minutes without KPI points at the measured minutes' rate); 1 without missing minutes."""
        wall = max((self.end - self.start).total_seconds() / 60, 0.0)
        return wall / self.minutes if self.missing_minutes and self.minutes > 0 else 1.0


def loss_between(obs: Observation, merchants: set[str], start: datetime, end: datetime) -> LossSpan:
    """The loss at `merchants` in the KPI minutes of `[start, end)` (clipped to the window); the whole minutes
    of the span without any KPI point are counted apart (`missing_minutes`)."""
    start = max(start, obs.window_start)
    end = min(end, obs.as_of)
    notes = ImpactNotes(assumptions=[], uncertainties=[])
    rates = merchant_rates(obs.baselines, merchants, obs.merchant_stages, notes)
    first, last = start.replace(second=0, microsecond=0), end
    m = obs.metrics
    conversion = m.merchant_id.lookup({k: r.conversion for k, r in rates.items()})
    aov = m.merchant_id.lookup({k: r.aov for k, r in rates.items()})
    rows = np.flatnonzero(~np.isnan(conversion) & _at_or_after(m.ts_ms, first) & ~_at_or_after(m.ts_ms, last))
    e = conversion[rows] * m.checkout_attempts[rows]
    expected = ordered_sum(e)
    actual = int(m.orders[rows].sum())
    revenue = ordered_sum((e - m.orders[rows]) * aov[rows])
    return LossSpan(
        start=start,
        end=max(end, start),
        expected_orders=round(expected, 2),
        actual_orders=actual,
        lost_orders=round(expected - actual, 2),
        lost_revenue=round(revenue, 2),
        missing_minutes=len([t for t in kpi_gap_minutes(obs, start) if t < end]),
    )
