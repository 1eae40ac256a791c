"""The history a detection cycle compares its window with: compact baselines, not raw rows."""

from __future__ import annotations

from datetime import datetime

from selfheal.records import Record


class EndpointBaseline(Record):
    """Request totals of one (stage, source, endpoint) over the baseline period, with its latency histogram."""

    migration_stage: str
    source: str
    endpoint: str
    requests: int
    errors_4xx: int
    errors_5xx: int
    latency_hist: tuple[int, ...]


class MerchantVolume(Record):
    """One merchant's KPI totals: over the baseline period and over the same window one day and one week ago."""

    merchant_id: str
    minutes: int
    checkout_attempts: int
    orders: int
    revenue: float
    sessions: int | None = None
    orders_1d: int | None = None
    orders_7d: int | None = None
    revenue_1d: float | None = None
    revenue_7d: float | None = None


class MinuteTotals(Record):
    """Platform-wide totals for one minute, for the streaming detector's history."""

    minute: datetime
    checkout_attempts: int
    orders: int
    requests: int
    errors: int


class DetectionHistory(Record):
    """Baselines for `[start, end)`, the complete hours before the observed window."""

    start: datetime
    end: datetime
    endpoints: tuple[EndpointBaseline, ...] = ()
    merchants: tuple[MerchantVolume, ...] = ()
    minutes: tuple[MinuteTotals, ...] = ()
    latency_buckets_ms: tuple[float, ...] = ()
    coverage_1d: float = 0.0
    """Share of the same window yesterday's minutes with KPI data; under `MIN_COMPARISON_COVERAGE` the
    comparison is dropped (no history is no evidence)."""
    coverage_7d: float = 0.0
    """Upper bounds of the latency histogram buckets (a last bucket holds the rest)."""
