"""A compact, readable summary of an Observation (what `GET /observe` returns)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from selfheal.observe.model import Observation, SignalCounts
from selfheal.records import Record
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
    per_ep: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    hists: dict[tuple[str, str], list[int]] = {}
    maxes: dict[tuple[str, str], float] = defaultdict(float)
    series: dict[datetime, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0, 0])
    for r in obs.rollups:
        key = (r.source, r.endpoint)
        slot = per_ep[key]
        slot[0] += r.count
        if r.status_class == "4xx":
            slot[1] += r.count
        elif r.status_class == "5xx":
            slot[2] += r.count
        h = hists.setdefault(key, [0] * len(r.latency_hist))
        for i, n in enumerate(r.latency_hist):
            h[i] += n
        maxes[key] = max(maxes[key], r.latency_max)
        point = series[r.minute]
        point[3] += r.count
        if r.status_class in ("4xx", "5xx"):
            point[4] += r.count
    attempts = orders = 0
    revenue = 0.0
    sessions = 0
    has_sessions = False
    merchants = set()
    for m in obs.metrics:
        attempts += m.checkout_attempts
        orders += m.orders
        revenue += m.revenue
        merchants.add(m.merchant_id)
        if m.sessions is not None:
            has_sessions = True
            sessions += m.sessions
        point = series[m.ts.replace(second=0, microsecond=0)]
        point[0] += m.checkout_attempts
        point[1] += m.orders
        point[2] += m.revenue
    rates = tuple(
        ErrorRate(
            source=s,
            endpoint=e,
            requests=n,
            errors_4xx=e4,
            errors_5xx=e5,
            error_rate=(e4 + e5) / n if n else 0.0,
            latency_p95_ms=quantile_from_hist(hists[(s, e)], 0.95, maxes[(s, e)]),
        )
        for (s, e), (n, e4, e5) in sorted(
            per_ep.items(), key=lambda kv: -(kv[1][1] + kv[1][2]) / max(kv[1][0], 1)
        )
    )
    return ObservationSummary(
        as_of=obs.as_of,
        window_start=obs.window_start,
        window_minutes=obs.window_minutes,
        counts=obs.counts,
        merchants=len(merchants | {r.merchant_id for r in obs.rollups}),
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
        series=tuple(
            KpiPoint(
                ts=ts,
                checkout_attempts=int(p[0]),
                orders=int(p[1]),
                revenue=round(p[2], 2),
                log_events=int(p[3]),
                errors=int(p[4]),
            )
            for ts, p in sorted(series.items())
        ),
    )
