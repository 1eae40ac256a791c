"""Per-minute series of a window, for charts: KPIs against their baseline, and one endpoint's error rate.

Pure functions of an Observation. The expected orders of a minute are its checkout attempts times the
baseline checkout success rate (orders / attempts over the baseline period before the window), the same rule
the risk report uses; the accumulated loss is the running sum of expected minus actual orders, valued at the
baseline average order value.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from selfheal.observe.model import Observation
from selfheal.records import Record


class KpiBaselinePoint(Record):
    ts: datetime
    checkout_attempts: int
    orders: int
    revenue: float
    expected_orders: float | None
    success_rate: float | None
    lost_orders_cumulative: float | None
    lost_revenue_cumulative: float | None


class KpiSeries(Record):
    as_of: datetime
    window_start: datetime
    window_minutes: int
    stage: str | None
    currency: str
    baseline_minutes: int
    baseline_success_rate: float | None
    baseline_orders_per_minute: float | None
    baseline_average_order_value: float | None
    points: tuple[KpiBaselinePoint, ...]


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


def kpi_series(obs: Observation, stage: str | None = None, default_currency: str = "USD") -> KpiSeries:
    """Orders, attempts and revenue per minute with the expected orders and the loss accumulating."""
    base = [b for b in obs.baselines if stage is None or b.migration_stage == stage]
    b_attempts = sum(b.checkout_attempts for b in base)
    b_orders = sum(b.orders for b in base)
    b_revenue = sum(b.revenue for b in base)
    b_minutes = max((b.minutes for b in base), default=0)
    success = b_orders / b_attempts if b_attempts else None
    aov = b_revenue / b_orders if b_orders else None
    currency = next((b.currency for b in base if b.currency), None)
    per_minute: dict[datetime, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for m in obs.metrics:
        if stage is not None and m.migration_stage != stage:
            continue
        currency = currency or m.currency
        slot = per_minute[m.ts.replace(second=0, microsecond=0)]
        slot[0] += m.checkout_attempts
        slot[1] += m.orders
        slot[2] += m.revenue
    points = []
    lost = 0.0
    for ts, (attempts, orders, revenue) in sorted(per_minute.items()):
        expected = attempts * success if success is not None else None
        if expected is not None:
            lost += expected - orders
        points.append(
            KpiBaselinePoint(
                ts=ts,
                checkout_attempts=int(attempts),
                orders=int(orders),
                revenue=round(revenue, 2),
                expected_orders=None if expected is None else round(expected, 3),
                success_rate=orders / attempts if attempts else None,
                lost_orders_cumulative=None if expected is None else round(lost, 3),
                lost_revenue_cumulative=None if expected is None or aov is None else round(lost * aov, 2),
            )
        )
    return KpiSeries(
        as_of=obs.as_of,
        window_start=obs.window_start,
        window_minutes=obs.window_minutes,
        stage=stage,
        currency=currency or default_currency,
        baseline_minutes=b_minutes,
        baseline_success_rate=success,
        baseline_orders_per_minute=b_orders / b_minutes if b_minutes else None,
        baseline_average_order_value=aov,
        points=tuple(points),
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
