"""Reading a time window of signals (the observe stage's queries).

Tickets come back as the contract's `signals.Ticket`. The window's rollups and metric points come back as
columns (`WindowColumns`: at scale a window holds hundreds of thousands of rows, and a Python object per value
was most of a cycle's cost); payment/order events and merchant totals as plain column mappings. Observe builds
its own records from them without validating again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, case, func, literal_column, select, union_all

from selfheal.records import ms_to_dt
from selfheal.signals import HIST_COLUMNS, PAIRING_EVENTS, Ticket
from selfheal.store.tables import (
    PAIRING_COLUMNS,
    LogEventRow,
    LogRollupRow,
    MetricPointRow,
    PaymentOrderEventRow,
    TicketRow,
    table,
)


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


@dataclass(frozen=True)
class WindowColumns:
    """A window table's rows as columns: text fields dictionary-encoded (`codes`, `values`: row i's value is
    `values[codes[i]]`), numeric fields as numpy arrays (the rollups' histogram buckets as one
    `latency_hist` array of shape (rows, buckets)). Rows in the query's order."""

    text: dict[str, tuple[np.ndarray, list[str]]]
    numbers: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.numbers.values())))


ROLLUP_TEXT = ("merchant_id", "migration_stage", "source", "endpoint", "status_class", "status_code")
ROLLUP_NUMBERS: tuple[tuple[str, str], ...] = (
    ("minute_ms", "int8"),
    ("count", "int4"),
    ("latency_count", "int4"),
    ("latency_sum", "float8"),
    ("latency_max", "float8"),
    *((h, "int4") for h in HIST_COLUMNS),
)
METRIC_TEXT = ("merchant_id", "migration_stage", "currency")
"""A metric point's missing stage or currency reads as "" (nothing downstream tells the two apart)."""
METRIC_NUMBERS: tuple[tuple[str, str], ...] = (
    ("ts_ms", "int8"),
    ("interval_seconds", "int4"),
    ("checkout_attempts", "int4"),
    ("orders", "int4"),
    ("revenue", "float8"),
    ("sessions", "int4"),
    ("has_sessions", "int4"),
    ("p95_latency_ms", "float8"),
    ("has_p95", "int4"),
)
_SEP = "\x1f"
"""Joins a row's text fields into one key on PostgreSQL (a row whose text holds it takes the plain path)."""
_NUMPY = {"int8": ">i8", "int4": ">i4", "float8": ">f8"}


def rollups(conn: Connection, start_ms: int, end_ms: int) -> WindowColumns:
    """The window's log rollups, ordered by minute."""
    r = table(LogRollupRow)
    where = (r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms)
    columns = {name: r.c[name] for name, _ in ROLLUP_NUMBERS} | {name: r.c[name] for name in ROLLUP_TEXT}
    return _read(conn, columns, ROLLUP_TEXT, ROLLUP_NUMBERS, where, (r.c.minute_ms, r.c.id))


def metrics(conn: Connection, start_ms: int, end_ms: int) -> WindowColumns:
    """The window's metric points, ordered by time and merchant."""
    m = table(MetricPointRow)
    where = (m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
    columns: dict[str, Any] = {
        "ts_ms": m.c.ts_ms,
        "interval_seconds": m.c.interval_seconds,
        "checkout_attempts": m.c.checkout_attempts,
        "orders": m.c.orders,
        "revenue": m.c.revenue,
        "sessions": func.coalesce(m.c.sessions, 0),
        "has_sessions": case((m.c.sessions.is_(None), 0), else_=1),
        "p95_latency_ms": func.coalesce(m.c.p95_latency_ms, literal_column("'NaN'::float8")),
        "has_p95": case((m.c.p95_latency_ms.is_(None), 0), else_=1),
        "merchant_id": m.c.merchant_id,
        "migration_stage": func.coalesce(m.c.migration_stage, ""),
        "currency": func.coalesce(m.c.currency, ""),
    }
    if conn.dialect.name != "postgresql":
        columns["p95_latency_ms"] = m.c.p95_latency_ms
    return _read(conn, columns, METRIC_TEXT, METRIC_NUMBERS, where, (m.c.ts_ms, m.c.merchant_id))


def rollup_fingerprints(conn: Connection, start_ms: int, end_ms: int) -> dict[int, tuple[int, ...]]:
    """Per minute of `[start_ms, end_ms)` that has rollups: (rows, sum of `count`, sum of `latency_count`).

    Ingest only inserts rollup rows or adds into them (every event adds one to `count`), so any change to a
    minute's rows changes its fingerprint. Equal to `rollup_fingerprint_of` of the minute's rows."""
    r = table(LogRollupRow)
    rows = conn.execute(
        select(r.c.minute_ms, func.count(), func.sum(r.c.count), func.sum(r.c.latency_count))
        .where(r.c.minute_ms >= start_ms, r.c.minute_ms < end_ms)
        .group_by(r.c.minute_ms)
    )
    return {int(m): (int(n), int(c), int(lc)) for m, n, c, lc in rows}


def rollup_fingerprint_of(numbers: dict[str, np.ndarray]) -> tuple[int, ...]:
    """`rollup_fingerprints` of rows already read (one minute's); () for none."""
    if not len(numbers["count"]):
        return ()
    return (len(numbers["count"]), int(numbers["count"].sum()), int(numbers["latency_count"].sum()))


def metric_fingerprints(conn: Connection, start_ms: int, end_ms: int) -> dict[int, tuple[int, ...]]:
    """Per minute of `[start_ms, end_ms)` that has metric points: (points, sums of the interval, checkout
    attempts, orders and sessions, points with sessions, points with a p95).

    Ingest only inserts metric points (a point already stored is skipped), so any change to a minute's
    points changes its count. Equal to `metric_fingerprint_of` of the minute's rows."""
    m = table(MetricPointRow)
    minute = (m.c.ts_ms - m.c.ts_ms % 60_000).label("minute")
    rows = conn.execute(
        select(
            minute,
            func.count(),
            func.sum(m.c.interval_seconds),
            func.sum(m.c.checkout_attempts),
            func.sum(m.c.orders),
            func.sum(func.coalesce(m.c.sessions, 0)),
            func.count(m.c.sessions),
            func.count(m.c.p95_latency_ms),
        )
        .where(m.c.ts_ms >= start_ms, m.c.ts_ms < end_ms)
        .group_by(minute)
    )
    return {int(row[0]): tuple(int(v) for v in row[1:]) for row in rows}


def metric_fingerprint_of(numbers: dict[str, np.ndarray]) -> tuple[int, ...]:
    """`metric_fingerprints` of points already read (one minute's); () for none."""
    if not len(numbers["ts_ms"]):
        return ()
    sums = ("interval_seconds", "checkout_attempts", "orders", "sessions", "has_sessions", "has_p95")
    return (len(numbers["ts_ms"]), *(int(numbers[n].sum()) for n in sums))


def _read(
    conn: Connection,
    columns: dict[str, Any],
    text_fields: tuple[str, ...],
    number_fields: tuple[tuple[str, str], ...],
    where: tuple[Any, ...],
    order: tuple[Any, ...],
) -> WindowColumns:
    if conn.dialect.name == "postgresql":
        packed = _read_packed(conn, columns, text_fields, number_fields, where, order)
        if packed is not None:
            return packed
    names = [*text_fields, *(n for n, _ in number_fields)]
    rows = conn.execute(select(*(columns[n].label(n) for n in names)).where(*where).order_by(*order)).all()
    cols = list(zip(*rows, strict=True)) or [()] * len(names)
    text = {n: _encode(cols[i]) for i, n in enumerate(text_fields)}
    numbers = {
        n: np.array(
            [np.nan if v is None else v for v in cols[len(text_fields) + i]]
            if kind == "float8"
            else cols[len(text_fields) + i],
            dtype=np.float64 if kind == "float8" else np.int64,
        )
        for i, (n, kind) in enumerate(number_fields)
    }
    if all(h in numbers for h in HIST_COLUMNS):
        hist = [numbers.pop(h) for h in HIST_COLUMNS]
        numbers["latency_hist"] = (
            np.stack(hist, axis=1) if len(cols[0]) else np.zeros((0, len(hist)), np.int64)
        )
    return WindowColumns(text, numbers)


def _read_packed(
    conn: Connection,
    columns: dict[str, Any],
    text_fields: tuple[str, ...],
    number_fields: tuple[tuple[str, str], ...],
    where: tuple[Any, ...],
    order: tuple[Any, ...],
) -> WindowColumns | None:
    """PostgreSQL: each row as two values, its text fields joined into one key and its numbers packed into one
    binary string (`int8send(..) || float8send(..)`), decoded by numpy in one pass. Hundreds of thousands of
    rows cost two Python objects each instead of thirty. None when a text field holds the separator."""
    key = func.concat_ws(_SEP, *(columns[n] for n in text_fields))
    packed: Any = literal_column(
        " || ".join(f"{kind}send(({_sql(conn, columns[n])})::{kind})" for n, kind in number_fields)
    )
    # Straight from the driver's cursor, on the connection's transaction: no result-row objects on top.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_sql(conn, select(key, packed).where(*where).order_by(*order)))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k, _ in rows), dtype=np.int64, count=len(rows))
    parts = [k.split(_SEP) for k in index]
    if any(len(p) != len(text_fields) for p in parts):
        return None
    text: dict[str, tuple[np.ndarray, list[str]]] = {}
    for i, n in enumerate(text_fields):
        per_key, values = _encode([p[i] for p in parts])
        text[n] = (per_key[codes] if len(codes) else codes, values)
    blobs = [b for _, b in rows]
    if any(b is None for b in blobs):  # a NULL number: the plain path says what it is
        return None
    scalars = [(n, kind) for n, kind in number_fields if n not in HIST_COLUMNS]
    fields: list[Any] = [(n, _NUMPY[kind]) for n, kind in scalars]
    if len(scalars) < len(number_fields):  # the histogram's buckets, decoded as one (rows, buckets) block
        fields.append(("latency_hist", ">i4", (len(HIST_COLUMNS),)))
    record = np.frombuffer(b"".join(blobs), dtype=np.dtype(fields))
    numbers = {n: record[n].astype(np.float64 if kind == "float8" else np.int64) for n, kind in scalars}
    if len(scalars) < len(number_fields):
        numbers["latency_hist"] = record["latency_hist"].astype(np.int64)
    return WindowColumns(text, numbers)


def _sql(conn: Connection, column: Any) -> str:
    return str(column.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def _encode(items: Any) -> tuple[np.ndarray, list[str]]:
    index: dict[str, int] = {}
    codes = [index.setdefault(s, len(index)) for s in items]
    return np.array(codes, dtype=np.int64), list(index)


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
    """Payments and orders with a correlation id in `[start_ms, end_ms)`, oldest first: the raw log events and
    the pairing events pruning kept of them (`payment_order_events`; one whose id is stored raw again, an event
    re-sent after it was pruned, is read once), so a window pairs the same before and after its raw events are
    pruned. One statement: a concurrent prune's move from one table to the other is seen whole or not at all."""
    e = table(LogEventRow)
    kept = table(PaymentOrderEventRow)
    raw = select(*(e.c[name] for name in PAIRING_COLUMNS)).where(
        e.c.event.in_(PAIRING_EVENTS),
        e.c.ts_ms >= start_ms,
        e.c.ts_ms < end_ms,
        e.c.correlation_id.is_not(None),
    )
    pruned = select(*(kept.c[name] for name in PAIRING_COLUMNS)).where(
        kept.c.ts_ms >= start_ms,
        kept.c.ts_ms < end_ms,
        ~select(e.c.id).where(e.c.id == kept.c.id).exists(),
    )
    both = union_all(raw, pruned).subquery()
    rows = conn.execute(
        select(
            both.c.ts_ms, both.c.merchant_id, both.c.migration_stage, both.c.event, both.c.correlation_id
        ).order_by(both.c.ts_ms, both.c.id)
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
