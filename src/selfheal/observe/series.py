"""Per-minute series of a window, for charts: KPIs against their baseline, and one endpoint's error rate.

Pure functions of an Observation. The expected orders of a minute are its checkout attempts times the
baseline checkout success rate (orders / attempts over the baseline period before the window), the same rule
the risk report uses; the accumulated loss is the running sum of expected minus actual orders, valued at the
baseline average order value.

The expected band of a minute and the interval of the accumulated loss are 90 % normal approximations of the
binomial counterfactual (A p (1 - p) per minute, plus A^2 Var(p) for the estimated baseline rate), the same
rule the risk report uses. With `since` (an incident's onset) the loss accumulates from that minute on, so an
outage's cost is not diluted by the quiet minutes before it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from selfheal.observe.model import Observation
from selfheal.records import Record

Z90 = 1.6449
"""Two-sided 90 % normal quantile: the coverage of every band and interval here."""


class KpiBaselinePoint(Record):
    ts: datetime
    checkout_attempts: int
    orders: int
    revenue: float
    expected_orders: float | None
    expected_low: float | None = None
    """Lower end of the 90 % band of the expected orders of this minute"""
    expected_high: float | None = None
    success_rate: float | None
    lost_orders_cumulative: float | None
    """Expected minus actual orders summed from `since` (or the window start) to this minute; None before"""
    lost_revenue_cumulative: float | None
    lost_orders_cumulative_low: float | None = None
    lost_orders_cumulative_high: float | None = None
    lost_revenue_cumulative_low: float | None = None
    lost_revenue_cumulative_high: float | None = None


class LossSoFar(Record):
    """The loss accumulated from `since` to the last minute of the series, with its 90 % interval."""

    since: datetime
    until: datetime
    lost_orders: float
    lost_orders_low: float
    lost_orders_high: float
    lost_revenue: float | None
    lost_revenue_low: float | None
    lost_revenue_high: float | None


class KpiSeries(Record):
    as_of: datetime
    window_start: datetime
    window_minutes: int
    stage: str | None
    merchants: tuple[str, ...] = ()
    """Only these merchants (empty: all of the stage, or all)"""
    since: datetime | None = None
    """The loss accumulates from this minute (None: from the window start)"""
    currency: str
    confidence_level: float = 0.9
    baseline_minutes: int
    baseline_success_rate: float | None
    baseline_orders_per_minute: float | None
    baseline_average_order_value: float | None
    points: tuple[KpiBaselinePoint, ...]
    loss_so_far: LossSoFar | None = None


class ErrorRatePoint(Record):
    ts: datetime
    requests: int
    errors: int
    error_rate: float


class ErrorSeries(Record):
    as_of: datetime
    window_start: datetime
    window_minutes: int
    source: str | None
    endpoint: str | None
    status_class: str | None
    stage: str | None
    points: tuple[ErrorRatePoint, ...]


@dataclass(frozen=True)
class MerchantRate:
    """A merchant's baseline conversion (with the attempts it rests on) and average order value, as the risk
    report values its loss; given to `kpi_series` so the chart and the incident card agree."""

    conversion: float
    conversion_n: float
    aov: float


def kpi_series(
    obs: Observation,
    stage: str | None = None,
    default_currency: str = "USD",
    merchants: Collection[str] = (),
    since: datetime | None = None,
    rates: Mapping[str, MerchantRate] | None = None,
) -> KpiSeries:
    """Orders, attempts and revenue per minute with the expected orders (and their band) and the loss
    accumulating from `since` (default: the window start) with its interval.

    Without `rates` the expectation is the pooled baseline conversion of the selected merchants; with them,
    each merchant's own rate and order value (merchants without one are left out of the expectation)."""
    wanted = set(merchants)

    def keep(merchant_id: str, merchant_stage: str) -> bool:
        return (stage is None or merchant_stage == stage) and (not wanted or merchant_id in wanted)

    base = [b for b in obs.baselines if keep(b.merchant_id, b.migration_stage)]
    b_attempts = sum(b.checkout_attempts for b in base)
    b_orders = sum(b.orders for b in base)
    b_revenue = sum(b.revenue for b in base)
    b_minutes = max((b.minutes for b in base), default=0)
    success = b_orders / b_attempts if b_attempts else None
    aov = b_revenue / b_orders if b_orders else None
    pooled = None if success is None else MerchantRate(success, float(b_attempts), aov or 0.0)
    currency = next((b.currency for b in base if b.currency), None)

    def rate_of(merchant_id: str) -> MerchantRate | None:
        return rates.get(merchant_id) if rates is not None else pooled

    # minute -> [attempts, orders, revenue]; (minute, merchant) -> attempts, for the expectation
    per_minute: dict[datetime, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    cells: dict[datetime, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    selected = obs.metrics
    if stage is not None:
        selected = selected.take(selected.migration_stage.mask(stage))
    if wanted:
        selected = selected.take(selected.merchant_id.mask(*wanted))
    for m in selected:  # the selected rows only (a stage's or a few merchants' of thousands)
        currency = currency or m.currency
        at = m.ts.replace(second=0, microsecond=0)
        slot = per_minute[at]
        slot[0] += m.checkout_attempts
        slot[1] += m.orders
        slot[2] += m.revenue
        cell = cells[at][m.merchant_id]
        cell[0] += m.checkout_attempts
        cell[1] += m.orders
    start = since.replace(second=0, microsecond=0) if since is not None else None
    rated = pooled is not None if rates is None else bool(rates)
    valued = rates is not None or aov is not None
    acc = _Accumulator()
    points = []
    for ts, (attempts, orders, revenue) in sorted(per_minute.items()):
        counting = rated and (start is None or ts >= start)
        minute = _Minute()
        for merchant, (m_attempts, m_orders) in cells[ts].items():
            rate = rate_of(merchant)
            if rate is None:
                continue
            minute.add(rate, m_attempts, m_orders)
            if counting:
                acc.add(merchant, rate, m_attempts, m_orders)
        points.append(_point(ts, attempts, orders, revenue, minute if rated else None, acc, counting, valued))
    return KpiSeries(
        as_of=obs.as_of,
        window_start=obs.window_start,
        window_minutes=obs.window_minutes,
        stage=stage,
        merchants=tuple(sorted(wanted)),
        since=since,
        currency=currency or default_currency,
        baseline_minutes=b_minutes,
        baseline_success_rate=success,
        baseline_orders_per_minute=b_orders / b_minutes if b_minutes else None,
        baseline_average_order_value=aov,
        points=tuple(points),
        loss_so_far=_loss_so_far(points, start or obs.window_start),
    )


class _Minute:
    """One minute's expected orders over the selected merchants and the variance of its counterfactual."""

    def __init__(self) -> None:
        self.expected = 0.0
        self.var = 0.0

    def add(self, rate: MerchantRate, attempts: float, orders: float) -> None:
        p = rate.conversion
        self.expected += attempts * p
        self.var += attempts * p * (1 - p) + attempts**2 * p * (1 - p) / max(rate.conversion_n, 1.0)


class _Accumulator:
    """The loss from `since`: orders and revenue, and the variance of each (binomial counterfactual per
    minute, plus the baseline rate's own uncertainty, which is shared by all minutes of a merchant)."""

    def __init__(self) -> None:
        self.lost = 0.0
        self.revenue = 0.0
        self.binomial: dict[str, float] = defaultdict(float)
        self.attempts: dict[str, float] = defaultdict(float)
        self.rates: dict[str, MerchantRate] = {}

    def add(self, merchant: str, rate: MerchantRate, attempts: float, orders: float) -> None:
        p = rate.conversion
        lost = attempts * p - orders
        self.lost += lost
        self.revenue += lost * rate.aov
        self.binomial[merchant] += attempts * p * (1 - p)
        self.attempts[merchant] += attempts
        self.rates[merchant] = rate

    def sd(self) -> tuple[float, float]:
        """Standard deviation of the lost orders and of the lost revenue."""
        orders = revenue = 0.0
        for merchant, rate in self.rates.items():
            p = rate.conversion
            var = self.binomial[merchant] + self.attempts[merchant] ** 2 * p * (1 - p) / max(
                rate.conversion_n, 1
            )
            orders += var
            revenue += var * rate.aov**2
        return math.sqrt(orders), math.sqrt(revenue)


def _point(
    ts: datetime,
    attempts: float,
    orders: float,
    revenue: float,
    minute: _Minute | None,
    acc: _Accumulator,
    counting: bool,
    valued: bool,
) -> KpiBaselinePoint:
    sd_orders, sd_revenue = acc.sd() if counting else (0.0, 0.0)
    band = Z90 * math.sqrt(minute.var) if minute is not None else None

    def kept(x: float) -> float | None:
        return round(x, 3) if counting else None

    def money(x: float) -> float | None:
        return round(x, 2) if counting and valued else None

    expected = minute.expected if minute is not None else None
    return KpiBaselinePoint(
        ts=ts,
        checkout_attempts=int(attempts),
        orders=int(orders),
        revenue=round(revenue, 2),
        expected_orders=None if expected is None else round(expected, 3),
        expected_low=None if expected is None or band is None else round(max(expected - band, 0.0), 3),
        expected_high=None if expected is None or band is None else round(expected + band, 3),
        success_rate=orders / attempts if attempts else None,
        lost_orders_cumulative=kept(acc.lost),
        lost_revenue_cumulative=money(acc.revenue),
        lost_orders_cumulative_low=kept(acc.lost - Z90 * sd_orders),
        lost_orders_cumulative_high=kept(acc.lost + Z90 * sd_orders),
        lost_revenue_cumulative_low=money(acc.revenue - Z90 * sd_revenue),
        lost_revenue_cumulative_high=money(acc.revenue + Z90 * sd_revenue),
    )


def _loss_so_far(points: list[KpiBaselinePoint], since: datetime) -> LossSoFar | None:
    counted = [p for p in points if p.lost_orders_cumulative is not None]
    if not counted:
        return None
    last = counted[-1]
    return LossSoFar(
        since=since,
        until=last.ts,
        lost_orders=last.lost_orders_cumulative or 0.0,
        lost_orders_low=last.lost_orders_cumulative_low or 0.0,
        lost_orders_high=last.lost_orders_cumulative_high or 0.0,
        lost_revenue=last.lost_revenue_cumulative,
        lost_revenue_low=last.lost_revenue_cumulative_low,
        lost_revenue_high=last.lost_revenue_cumulative_high,
    )


def error_series(
    obs: Observation,
    source: str | None = None,
    endpoint: str | None = None,
    status_class: str | None = None,
    stage: str | None = None,
) -> ErrorSeries:
    """Requests and errors per minute for the matching logs; `status_class` (4xx/5xx) narrows what counts
    as an error, otherwise both do."""
    per_minute: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    error_classes = {status_class} if status_class else {"4xx", "5xx"}
    rollups = obs.rollups
    for field, value in (("source", source), ("endpoint", endpoint), ("migration_stage", stage)):
        if value is not None:
            rollups = rollups.take(getattr(rollups, field).mask(value))
    for r in rollups:
        slot = per_minute[r.minute]
        slot[0] += r.count
        if r.status_class in error_classes:
            slot[1] += r.count
    return ErrorSeries(
        as_of=obs.as_of,
        window_start=obs.window_start,
        window_minutes=obs.window_minutes,
        source=source,
        endpoint=endpoint,
        status_class=status_class,
        stage=stage,
        points=tuple(
            ErrorRatePoint(ts=ts, requests=n, errors=e, error_rate=e / n if n else 0.0)
            for ts, (n, e) in sorted(per_minute.items())
        ),
    )
