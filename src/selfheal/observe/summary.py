"""A compact, readable summary of an Observation (what `GET /observe` returns)."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from selfheal.observe.model import Observation, SignalCounts
from selfheal.observe.window import group_max, group_rows, group_sums, ordered_sum
from selfheal.records import Record, ms_to_dt
from selfheal.signals import LATENCY_BUCKETS_MS


class ErrorRate(Record):
    source: str
    endpoint: str
    requests: int
    errors_4xx: int
    errors_5xx: int
    error_rate: float
    latency_p95_ms: float | None


class KpiTotals(Record):
    checkout_attempts: int
    orders: int
    revenue: float
    checkout_success_rate: float | None
    conversion_rate: float | None
    average_order_value: float | None


class KpiPoint(Record):
    ts: datetime
    checkout_attempts: int
    orders: int
    revenue: float
    log_events: int
    errors: int


class ObservationSummary(Record):
    as_of: datetime
    window_start: datetime
    window_minutes: int
    counts: SignalCounts
    merchants: int
    unknown_merchants: tuple[str, ...] = ()
    """Merchants of the window the merchant directory does not list (first 100; empty without a directory)."""
    error_rates: tuple[ErrorRate, ...]
    kpis: KpiTotals
    series: tuple[KpiPoint, ...]


def quantile_from_hist(hist: list[int] | tuple[int, ...], q: float, max_value: float) -> float | None:
    """Estimate a quantile from bucket counts, interpolating linearly inside the bucket."""
    total = sum(hist)
    if total == 0:
        return None
    target = q * total
    seen = 0.0
    for i, n in enumerate(hist):
        if n and seen + n >= target:
            lo = LATENCY_BUCKETS_MS[i - 1] if i > 0 else 0.0
            hi = LATENCY_BUCKETS_MS[i] if i < len(LATENCY_BUCKETS_MS) else max(max_value, lo)
            return float(lo + (hi - lo) * (target - seen) / n)
        seen += n
    return float(max_value)


def summarize(obs: Observation) -> ObservationSummary:
    r, m = obs.rollups, obs.metrics
    # Per (source, endpoint), in order of first appearance: requests, 4xx, 5xx, histogram, max latency.
    ep, ep_first = group_rows(r.source, r.endpoint)
    n_ep = len(ep_first)
    counts = r.count
    klass = r.status_class
    is_4xx, is_5xx = klass.mask("4xx"), klass.mask("5xx")
    requests, e4, e5 = group_sums(ep, n_ep, counts, counts * is_4xx, counts * is_5xx)
    hists = np.zeros((n_ep, r.latency_hist.shape[1]), dtype=np.int64)
    np.add.at(hists, ep, r.latency_hist)
    maxes = group_max(ep, n_ep, r.latency_max)
    per_ep = {
        (r.source[int(first)], r.endpoint[int(first)]): (int(requests[g]), int(e4[g]), int(e5[g]), g)
        for g, first in enumerate(ep_first.tolist())
    }
    rates = tuple(
        ErrorRate(
            source=s,
            endpoint=e,
            requests=n,
            errors_4xx=n4,
            errors_5xx=n5,
            error_rate=(n4 + n5) / n if n else 0.0,
            latency_p95_ms=quantile_from_hist(hists[g].tolist(), 0.95, float(maxes[g])),
        )
        for (s, e), (n, n4, n5, g) in sorted(
            per_ep.items(), key=lambda kv: -(kv[1][1] + kv[1][2]) / max(kv[1][0], 1)
        )
    )
    attempts = int(m.checkout_attempts.sum())
    orders = int(m.orders.sum())
    revenue = ordered_sum(m.revenue)
    sessions = int(m.sessions[m.has_sessions].sum())
    has_sessions = bool(m.has_sessions.any())
    merchants = {*m.merchant_id.distinct(), *r.merchant_id.distinct()}
    return ObservationSummary(
        as_of=obs.as_of,
        window_start=obs.window_start,
        window_minutes=obs.window_minutes,
        counts=obs.counts,
        merchants=len(merchants),
        unknown_merchants=obs.unknown_merchants[:100],
        error_rates=rates,
        kpis=KpiTotals(
            checkout_attempts=attempts,
            orders=orders,
            revenue=round(revenue, 2),
            checkout_success_rate=orders / attempts if attempts else None,
            conversion_rate=orders / sessions if has_sessions and sessions else None,
            average_order_value=revenue / orders if orders else None,
        ),
        series=_series(obs),
    )


def _series(obs: Observation) -> tuple[KpiPoint, ...]:
    """KPIs and log counts per minute, over the minutes either signal has."""
    r, m = obs.rollups, obs.metrics
    metric_minute = m.minute_ms()
    minutes = np.union1d(r.minute_ms, metric_minute)
    size = len(minutes)
    at_r = np.searchsorted(minutes, r.minute_ms)
    at_m = np.searchsorted(minutes, metric_minute)
    errors = r.count * r.status_class.mask("4xx", "5xx")
    events, failed = group_sums(at_r, size, r.count, errors)
    attempts, orders, revenue = group_sums(at_m, size, m.checkout_attempts, m.orders, m.revenue)
    return tuple(
        KpiPoint(
            ts=ms_to_dt(ts),
            checkout_attempts=int(attempts[i]),
            orders=int(orders[i]),
            revenue=round(float(revenue[i]), 2),
            log_events=int(events[i]),
            errors=int(failed[i]),
        )
        for i, ts in enumerate(minutes.tolist())
    )
