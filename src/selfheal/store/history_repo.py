"""Baseline queries for detection: hourly aggregates (cacheable), same-window volumes, per-minute totals.

Deliberately not records: these feed detection over weeks of minutes (tens of thousands of hourly rows on a
cold start), are kept in memory and in `history_hours` as column lists (`history_hours_repo.encode`), and are
folded by `observe.history` without ever being shown. The hourly totals are column mappings (named by the
`label`s below), the same-window and per-minute totals plain numbers keyed by merchant or minute; a validated
record per row would only slow the cycle.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Label, Table, func, select

from selfheal.signals import HIST_COLUMNS
from selfheal.store.tables import LogRollupRow, MetricPointRow, table

HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def hourly_endpoint_totals(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Per (hour, stage, source, endpoint, status class): request count and latency histogram sums."""
    r = table(LogRollupRow)
    hour = (r.c.minute_ms - r.c.minute_ms % HOUR_MS).label("hour_ms")
    rows = conn.execute(
        select(
            hour,
            r.c.migration_stage,
            r.c.source,
            r.c.endpoint,
            r.c.status_class,
            func.sum(r.c.count).label("count"),
            *(func.sum(r.c[h]).label(h) for h in HIST_COLUMNS),
        )
        .where(r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms)
        .group_by(hour, r.c.migration_stage, r.c.source, r.c.endpoint, r.c.status_class)
    )
    return [dict(row._mapping) for row in rows]


def _kpi_sums(m: Table) -> tuple[Label[Any], ...]:
    """The additive KPI sums every hourly aggregate carries: seconds covered, checkout attempts, orders, revenue."""
    return (
        func.sum(m.c.interval_seconds).label("seconds"),
        func.sum(m.c.checkout_attempts).label("checkout_attempts"),
        func.sum(m.c.orders).label("orders"),
        func.sum(m.c.revenue).label("revenue"),
    )


def hourly_merchant_totals(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Per (hour, merchant): KPI sums."""
    m = table(MetricPointRow)
    hour = (m.c.ts_ms - m.c.ts_ms % HOUR_MS).label("hour_ms")
    rows = conn.execute(
        select(
            hour,
            m.c.merchant_id,
            *_kpi_sums(m),
            func.sum(m.c.sessions).label("sessions"),
            func.count(m.c.sessions).label("session_points"),
        )
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        .group_by(hour, m.c.merchant_id)
    )
    return [dict(row._mapping) for row in rows]


def hourly_merchant_stage_totals(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Per (hour, merchant, reported stage): KPI sums, the latest timestamp and the largest currency code.

    Enough to rebuild a merchant's baseline totals and its most recently reported stage from cached hours.
    """
    m = table(MetricPointRow)
    hour = (m.c.ts_ms - m.c.ts_ms % HOUR_MS).label("hour_ms")
    rows = conn.execute(
        select(
            hour,
            m.c.merchant_id,
            m.c.migration_stage,
            *_kpi_sums(m),
            func.max(m.c.currency).label("currency"),
            func.max(m.c.ts_ms).label("last_ms"),
        )
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        .group_by(hour, m.c.merchant_id, m.c.migration_stage)
    )
    return [dict(row._mapping) for row in rows]


def minute_latest_stages(
    conn: Connection, start_ms: int, end_ms: int
) -> dict[int, dict[str, tuple[int, str]]]:
    """Per minute, each merchant's latest metric point that reports a stage: (its timestamp, the stage).

    Merged in minute order (a later timestamp wins), the same latest stages as `hourly_merchant_stage_totals`
    over the minutes read together (one point per merchant and timestamp)."""
    m = table(MetricPointRow)
    minute = (m.c.ts_ms - m.c.ts_ms % MINUTE_MS).label("minute_ms")
    rows = conn.execute(
        select(minute, m.c.merchant_id, m.c.migration_stage, func.max(m.c.ts_ms))
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms, m.c.migration_stage.is_not(None))
        .group_by(minute, m.c.merchant_id, m.c.migration_stage)
    )
    out: dict[int, dict[str, tuple[int, str]]] = {}
    for minute_ms, merchant, stage, last_ms in rows:
        latest = out.setdefault(int(minute_ms), {})
        if int(last_ms) >= latest.get(merchant, (-1, ""))[0]:
            latest[merchant] = (int(last_ms), stage)
    return out


def merchant_window_totals(conn: Connection, start_ms: int, end_ms: int) -> dict[str, tuple[int, float]]:
    """Orders and revenue per merchant in `[start_ms, end_ms)` (for same-time-yesterday / last-week)."""
    m = table(MetricPointRow)
    rows = conn.execute(
        select(m.c.merchant_id, func.sum(m.c.orders), func.sum(m.c.revenue))
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        .group_by(m.c.merchant_id)
    )
    return {r[0]: (int(r[1] or 0), float(r[2] or 0.0)) for r in rows}


def covered_minutes(conn: Connection, start_ms: int, end_ms: int) -> int:
    """Distinct minutes of `[start_ms, end_ms)` with any KPI metric point."""
    m = table(MetricPointRow)
    minute = m.c.ts_ms - m.c.ts_ms % MINUTE_MS
    query = select(func.count(func.distinct(minute))).where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
    return int(conn.execute(query).scalar_one() or 0)


def minute_totals(conn: Connection, start_ms: int, end_ms: int) -> dict[int, list[int]]:
    """Platform-wide `[attempts, orders, requests, errors]` per minute."""
    out: dict[int, list[int]] = {}
    m = table(MetricPointRow)
    minute = (m.c.ts_ms - m.c.ts_ms % MINUTE_MS).label("minute_ms")
    for row in conn.execute(
        select(minute, func.sum(m.c.checkout_attempts), func.sum(m.c.orders))
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        .group_by(minute)
    ):
        slot = out.setdefault(int(row[0]), [0, 0, 0, 0])
        slot[0], slot[1] = int(row[1] or 0), int(row[2] or 0)
    r = table(LogRollupRow)
    errors = func.sum(r.c.count).filter(r.c.status_class.in_(("4xx", "5xx")))
    for row in conn.execute(
        select(r.c.minute_ms, func.sum(r.c.count), errors)
        .where(r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms)
        .group_by(r.c.minute_ms)
    ):
        slot = out.setdefault(int(row[0]), [0, 0, 0, 0])
        slot[2], slot[3] = int(row[1] or 0), int(row[2] or 0)
    return out
