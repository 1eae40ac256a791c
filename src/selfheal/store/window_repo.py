"""Reading a time window of signals (the observe stage's queries).

Tickets come back as the contract's `signals.Ticket`. The window's rollups and metric points come back as plain
tuples (at scale a window holds hundreds of thousands of them; observe turns them into columns), payment/order
events and merchant totals as plain column mappings; observe builds its own records without validating again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from selfheal.records import ms_to_dt
from selfheal.signals import HIST_COLUMNS, Ticket
from selfheal.store.tables import LogEventRow, LogRollupRow, MetricPointRow, TicketRow, table

PAYMENT_EVENTS = ("payment.succeeded", "order.created")


def count_tickets(conn: Connection, start_ms: int, end_ms: int) -> int:
    t = table(TicketRow)
    return int(
        conn.execute(
            select(func.count()).select_from(t).where(t.c.created_ms >= start_ms, t.c.created_ms < end_ms)
        ).scalar_one()
    )


def count_log_events(conn: Connection, start_ms: int, end_ms: int) -> int:
    """Events in the window, from the rollups (raw rows may have been pruned)."""
    r = table(LogRollupRow)
    value = conn.execute(
        select(func.coalesce(func.sum(r.c.count), 0)).where(r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms)
    ).scalar_one()
    return int(value)


def count_metric_points(conn: Connection, start_ms: int, end_ms: int) -> int:
    m = table(MetricPointRow)
    return int(
        conn.execute(
            select(func.count()).select_from(m).where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        ).scalar_one()
    )


ROLLUP_FIELDS = (
    "minute_ms",
    "merchant_id",
    "migration_stage",
    "source",
    "endpoint",
    "status_class",
    "count",
    "latency_count",
    "latency_sum",
    "latency_max",
)
METRIC_FIELDS = (
    "ts_ms",
    "merchant_id",
    "migration_stage",
    "interval_seconds",
    "checkout_attempts",
    "orders",
    "revenue",
    "sessions",
    "p95_latency_ms",
    "currency",
)


def rollups(conn: Connection, start_ms: int, end_ms: int) -> list[tuple[Any, ...]]:
    """The window's rollups as plain tuples: `ROLLUP_FIELDS`, then the histogram buckets (`HIST_COLUMNS`)."""
    r = table(LogRollupRow)
    rows = conn.execute(
        select(*(r.c[f] for f in ROLLUP_FIELDS), *(r.c[h] for h in HIST_COLUMNS))
        .where(r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms)
        .order_by(r.c.minute_ms)
    )
    return [tuple(row) for row in rows.all()]


def metrics(conn: Connection, start_ms: int, end_ms: int) -> list[tuple[Any, ...]]:
    """The window's metric points as plain tuples of `METRIC_FIELDS`."""
    m = table(MetricPointRow)
    rows = conn.execute(
        select(*(m.c[f] for f in METRIC_FIELDS))
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        .order_by(m.c.ts_ms, m.c.merchant_id)
    )
    return [tuple(row) for row in rows.all()]


def tickets(conn: Connection, start_ms: int, end_ms: int) -> list[Ticket]:
    """Tickets created in `[start_ms, end_ms)`, oldest first (their ingest-time extras are not read back)."""
    t = table(TicketRow)
    rows = conn.execute(
        select(t).where(t.c.created_ms >= start_ms, t.c.created_ms < end_ms).order_by(t.c.created_ms, t.c.id)
    )
    return [
        Ticket(
            id=r.id,
            created_at=ms_to_dt(r.created_ms),
            merchant_id=r.merchant_id,
            subject=r.subject,
            body=r.body,
            migration_stage=r.migration_stage,
            channel=r.channel,
            priority=r.priority,
            tags=r.tags or [],
        )
        for r in rows
    ]


def payment_events(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    e = table(LogEventRow)
    rows = conn.execute(
        select(e.c.ts_ms, e.c.merchant_id, e.c.migration_stage, e.c.event, e.c.correlation_id)
        .where(
            e.c.event.in_(PAYMENT_EVENTS),
            e.c.ts_ms >= start_ms,
            e.c.ts_ms < end_ms,
            e.c.correlation_id.is_not(None),
        )
        .order_by(e.c.ts_ms)
    )
    return [dict(row._mapping) for row in rows]


def error_codes(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Failed requests (status >= 400) per (source, endpoint, status code) in `[start_ms, end_ms)`: what the
    rollups' status classes do not say (401 and 409 are both 4xx)."""
    e = table(LogEventRow)
    rows = conn.execute(
        select(e.c.source, e.c.endpoint, e.c.status_code, func.count().label("count"))
        .where(e.c.ts_ms >= start_ms, e.c.ts_ms < end_ms, e.c.status_code >= 400)
        .group_by(e.c.source, e.c.endpoint, e.c.status_code)
        .order_by(e.c.source, e.c.endpoint, e.c.status_code)
    )
    return [dict(row._mapping) for row in rows]


def merchant_baselines(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Per-merchant KPI totals over `[start_ms, end_ms)`."""
    m = table(MetricPointRow)
    rows = conn.execute(
        select(
            m.c.merchant_id,
            func.max(m.c.migration_stage).label("migration_stage"),
            func.coalesce(func.sum(m.c.interval_seconds), 0).label("seconds"),
            func.coalesce(func.sum(m.c.checkout_attempts), 0).label("checkout_attempts"),
            func.coalesce(func.sum(m.c.orders), 0).label("orders"),
            func.coalesce(func.sum(m.c.revenue), 0.0).label("revenue"),
            func.max(m.c.currency).label("currency"),
        )
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        .group_by(m.c.merchant_id)
        .order_by(m.c.merchant_id)
    )
    return [dict(row._mapping) for row in rows]


def latest_stages(conn: Connection, start_ms: int, end_ms: int) -> dict[str, str]:
    """The most recent migration stage reported for each merchant in metrics within the range."""
    m = table(MetricPointRow)
    latest = (
        select(m.c.merchant_id, func.max(m.c.ts_ms).label("ts"))
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms, m.c.migration_stage.is_not(None))
        .group_by(m.c.merchant_id)
        .subquery()
    )
    rows = conn.execute(
        select(m.c.merchant_id, m.c.migration_stage).join(
            latest, (m.c.merchant_id == latest.c.merchant_id) & (m.c.ts_ms == latest.c.ts)
        )
    )
    return {r.merchant_id: r.migration_stage for r in rows}
