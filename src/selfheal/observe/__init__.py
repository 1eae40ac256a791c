"""Observe: read the window ending at `as_of` (and its baseline history) from storage into an Observation,
with the open incidents the cycle starts from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from selfheal.observe.history import cache_for, load_history, load_merchant_baselines
from selfheal.observe.incidents import read_open_incidents, read_recently_resolved
from selfheal.observe.model import (
    ErrorCodeCount,
    MerchantBaseline,
    MetricRow,
    Observation,
    PaymentOrderEvent,
    RollupRow,
    SignalCounts,
)
from selfheal.records import dt_to_ms, ms_to_dt
from selfheal.settings import Settings
from selfheal.signals import HIST_COLUMNS
from selfheal.store import Store, window_repo

Rows = list[dict[str, Any]]


def observe(store: Store, as_of: datetime, window_minutes: int, settings: Settings) -> Observation:
    """Everything the reasoning stages need about `[as_of - window, as_of)`, and every unresolved incident.

    Reads signals only; the one write is the history hours that became settled and were aggregated by this
    cycle (see `observe.history`).
    """
    end = dt_to_ms(as_of)
    start = end - window_minutes * 60_000
    baseline_start = start - settings.baseline_days * 86_400_000
    grace = settings.soft_failure_grace_minutes * 60_000
    with store.read() as conn:
        counts = _signal_counts(conn, start, end)
        rollup_rows = window_repo.rollups(conn, start, end)
        metric_rows = window_repo.metrics(conn, start, end)
        tickets = window_repo.tickets(conn, start, end)
        payment_rows = window_repo.payment_events(conn, start - grace, end)
        code_rows = window_repo.error_codes(conn, start, end)
        cache = cache_for(store)
        baseline_rows, stages = load_merchant_baselines(conn, cache, baseline_start, start, end)
        history = load_history(conn, cache, start, end, settings.detect_history_days)
        open_incidents = read_open_incidents(conn)
        recently_resolved = read_recently_resolved(conn, start)
        conn.commit()  # the settled history hours aggregated by this cycle, stored for the next process

    return Observation(
        as_of=ms_to_dt(end),
        window_start=ms_to_dt(start),
        window_minutes=window_minutes,
        baseline_start=ms_to_dt(baseline_start),
        counts=counts,
        rollups=_rollups(rollup_rows, stages),
        metrics=_metrics(metric_rows, stages),
        tickets=tuple(tickets),
        payment_events=_payment_events(payment_rows, stages),
        baselines=_baselines(baseline_rows, stages),
        merchant_stages=stages,
        history=history,
        open_incidents=open_incidents,
        recently_resolved=recently_resolved,
        error_codes=tuple(ErrorCodeCount.model_construct(**r) for r in code_rows),
    )


def _signal_counts(conn: Connection, start: int, end: int) -> SignalCounts:
    return SignalCounts(
        tickets=window_repo.count_tickets(conn, start, end),
        log_events=window_repo.count_log_events(conn, start, end),
        metric_points=window_repo.count_metric_points(conn, start, end),
    )


# The window's rows come from typed columns written by validated ingest: rollups and metrics are built without
# re-validating (tens of thousands of rows per cycle at scale). A row without a stage takes the merchant's
# latest reported one.


def _rollups(rows: Rows, stages: dict[str, str]) -> tuple[RollupRow, ...]:
    return tuple(
        RollupRow.model_construct(
            minute=ms_to_dt(r["minute_ms"]),
            merchant_id=r["merchant_id"],
            migration_stage=r["migration_stage"] or stages.get(r["merchant_id"], ""),
            source=r["source"],
            endpoint=r["endpoint"],
            status_class=r["status_class"],
            count=r["count"],
            latency_count=r["latency_count"],
            latency_sum=r["latency_sum"],
            latency_max=r["latency_max"],
            latency_hist=tuple(r[h] for h in HIST_COLUMNS),
        )
        for r in rows
    )


def _metrics(rows: Rows, stages: dict[str, str]) -> tuple[MetricRow, ...]:
    return tuple(
        MetricRow.model_construct(
            ts=ms_to_dt(m["ts_ms"]),
            merchant_id=m["merchant_id"],
            migration_stage=m["migration_stage"] or stages.get(m["merchant_id"], ""),
            interval_seconds=m["interval_seconds"],
            checkout_attempts=m["checkout_attempts"],
            orders=m["orders"],
            revenue=m["revenue"],
            sessions=m["sessions"],
            p95_latency_ms=m["p95_latency_ms"],
            currency=m["currency"],
        )
        for m in rows
    )


def _payment_events(rows: Rows, stages: dict[str, str]) -> tuple[PaymentOrderEvent, ...]:
    return tuple(
        PaymentOrderEvent(
            ts=ms_to_dt(p["ts_ms"]),
            merchant_id=p["merchant_id"],
            migration_stage=p["migration_stage"] or stages.get(p["merchant_id"], ""),
            event=p["event"],
            correlation_id=p["correlation_id"],
        )
        for p in rows
    )


def _baselines(rows: Rows, stages: dict[str, str]) -> tuple[MerchantBaseline, ...]:
    return tuple(
        MerchantBaseline(
            merchant_id=b["merchant_id"],
            migration_stage=stages.get(b["merchant_id"], b["migration_stage"] or ""),
            minutes=int(b["seconds"]) // 60,
            checkout_attempts=int(b["checkout_attempts"]),
            orders=int(b["orders"]),
            revenue=float(b["revenue"]),
            currency=b["currency"],
        )
        for b in rows
    )


__all__ = ["Observation", "observe"]
