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
from collections.abc import Collection
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


def kpi_series(
    obs: Observation,
    stage: str | None = None,
    default_currency: str = "USD",
    merchants: Collection[str] = (),
    since: datetime | None = None,
) -> KpiSeries:
    """Orders, attempts and revenue per minute with the expected orders (and their band) and the loss
    accumulating from `since` (default: the window start) with its interval."""
    wanted = set(merchants)

    def keep(merchant_id: str, merchant_stage: str) -> bool:
        return (stage is None or merchant_stage == stage) and (not wanted or merchant_id in wanted)

    base = [b for b in obs.baselines if keep(b.merchant_id, b.migration_stage)]
    b_attempts = sum(b.checkout_attempts for b in base)
    b_orders = sum(b.orders for b in base)
    b_revenue = sum(b.revenue for b in base)
    b_minutes = max((b.minutes for b in base), default=0)
    success = b_orders / b_attempts if b_attempts else None
    var_success = success * (1 - success) / b_attempts if success is not None and b_attempts else 0.0
    aov = b_revenue / b_orders if b_orders else None
    currency = next((b.currency for b in base if b.currency), None)
    per_minute: dict[datetime, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for m in obs.metrics:
        if not keep(m.merchant_id, m.migration_stage):
            continue
        currency = currency or m.currency
        slot = per_minute[m.ts.replace(second=0, microsecond=0)]
        slot[0] += m.checkout_attempts
        slot[1] += m.orders
        slot[2] += m.revenue
    start = since.replace(second=0, microsecond=0) if since is not None else None
    points = []
    lost = 0.0
    binomial_var = 0.0  # sum of A p (1 - p) over the counted minutes
    counted_attempts = 0.0
    sd = 0.0
    for ts, (attempts, orders, revenue) in sorted(per_minute.items()):
        expected = attempts * success if success is not None else None
        band = None
        counting = expected is not None and (start is None or ts >= start)
        if expected is not None and success is not None:
            band = Z90 * math.sqrt(attempts * success * (1 - success) + attempts**2 * var_success)
        if counting and expected is not None and success is not None:
            lost += expected - orders
            binomial_var += attempts * success * (1 - success)
            counted_attempts += attempts
            sd = math.sqrt(binomial_var + counted_attempts**2 * var_success)
        points.append(_point(ts, attempts, orders, revenue, expected, band, lost, sd, aov, counting))
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
        loss_so_far=_loss_so_far(points, start or obs.window_start, aov),
    )


def _point(
    ts: datetime,
    attempts: float,
    orders: float,
    revenue: float,
    expected: float | None,
    band: float | None,
    lost: float,
    sd: float,
    aov: float | None,
    counting: bool,
) -> KpiBaselinePoint:
    def money(x: float) -> float | None:
        return None if aov is None or not counting else round(x * aov, 2)

    def orders_(x: float) -> float | None:
        return round(x, 3) if counting else None

    return KpiBaselinePoint(
        ts=ts,
        checkout_attempts=int(attempts),
        orders=int(orders),
        revenue=round(revenue, 2),
        expected_orders=None if expected is None else round(expected, 3),
        expected_low=None if expected is None or band is None else round(max(expected - band, 0.0), 3),
        expected_high=None if expected is None or band is None else round(expected + band, 3),
        success_rate=orders / attempts if attempts else None,
        lost_orders_cumulative=orders_(lost),
        lost_revenue_cumulative=money(lost),
        lost_orders_cumulative_low=orders_(lost - Z90 * sd),
        lost_orders_cumulative_high=orders_(lost + Z90 * sd),
        lost_revenue_cumulative_low=money(lost - Z90 * sd),
        lost_revenue_cumulative_high=money(lost + Z90 * sd),
    )


def _loss_so_far(points: list[KpiBaselinePoint], since: datetime, aov: float | None) -> LossSoFar | None:
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
    for r in obs.rollups:
        if source is not None and r.source != source:
            continue
        if endpoint is not None and r.endpoint != endpoint:
            continue
        if stage is not None and r.migration_stage != stage:
            continue
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
