"""Writing signals: atomic, idempotent batches; logs are rolled up per minute as they are stored."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson
from sqlalchemy import Connection, select

from selfheal.records import dt_to_ms
from selfheal.signals import (
    HIST_COLUMNS,
    LATENCY_BUCKETS_MS,
    PAIRING_EVENTS,
    LogEvent,
    MetricPoint,
    Ticket,
    rollup_status,
)
from selfheal.store import history_hours_repo
from selfheal.store.tables import (
    LOG_ROLLUP_KEY,
    PAIRING_COLUMNS,
    LogEventRow,
    MetricPointRow,
    PaymentOrderEventRow,
    TicketRow,
    table,
)

_ID_CHUNK = 500


@dataclass(frozen=True)
class StoreResult:
    received: int
    stored: int
    duplicates: int


def _existing(conn: Connection, column: Any, keys: Sequence[Any]) -> set[Any]:
    found: set[Any] = set()
    for start in range(0, len(keys), _ID_CHUNK):
        chunk = keys[start : start + _ID_CHUNK]
        found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def log_event_id(event: LogEvent) -> str:
    """The event's own id, or a hash of its canonical content (the moment in epoch ms, so `...Z`, a naive
    time and `+01:00` naming the same instant are one event) so that re-sending the same event is idempotent."""
    if event.id:
        return event.id
    content = event.model_dump(mode="json", exclude_none=True, exclude={"ts"})
    content["ts_ms"] = dt_to_ms(event.ts)
    payload = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    return "h:" + hashlib.blake2b(payload, digest_size=12).hexdigest()


def store_tickets(conn: Connection, tickets: Sequence[Ticket], now_ms: int) -> StoreResult:
    unique = {t.id: t for t in tickets}
    existing = _existing(conn, TicketRow.id, list(unique))
    rows = [
        {
            "id": t.id,
            "created_ms": dt_to_ms(t.created_at),
            "merchant_id": t.merchant_id,
            "subject": t.subject,
            "body": t.body,
            "migration_stage": t.migration_stage,
            "channel": t.channel,
            "priority": t.priority,
            "tags": list(t.tags),
            "extra": t.extras(),
            "ingested_ms": now_ms,
        }
        for tid, t in sorted(unique.items(), key=lambda kv: kv[0])
        if tid not in existing
    ]
    if rows:
        conn.execute(table(TicketRow).insert(), rows)
    return StoreResult(len(tickets), len(rows), len(tickets) - len(rows))


def store_metrics(conn: Connection, points: Sequence[MetricPoint]) -> StoreResult:
    unique = {(p.merchant_id, dt_to_ms(p.ts)): p for p in points}
    tbl = table(MetricPointRow)
    existing: set[tuple[str, int]] = set()
    keys = list(unique)
    for start in range(0, len(keys), _ID_CHUNK):
        chunk = keys[start : start + _ID_CHUNK]
        merchants = {m for m, _ in chunk}
        lo, hi = min(t for _, t in chunk), max(t for _, t in chunk)
        rows = conn.execute(
            select(tbl.c.merchant_id, tbl.c.ts_ms).where(
                tbl.c.merchant_id.in_(merchants), tbl.c.ts_ms.between(lo, hi)
            )
        )
        existing.update((m, t) for m, t in rows)
    new_rows = [
        {
            "merchant_id": m,
            "ts_ms": ts,
            "interval_seconds": p.interval_seconds,
            "checkout_attempts": p.checkout_attempts,
            "orders": p.orders,
            "revenue": p.revenue,
            "migration_stage": p.migration_stage,
            "sessions": p.sessions,
            "p95_latency_ms": p.p95_latency_ms,
            "currency": p.currency,
            "extra": p.extras() or None,
        }
        for (m, ts), p in sorted(unique.items(), key=lambda kv: kv[0])
        if (m, ts) not in existing
    ]
    if new_rows:
        # Late points for an hour whose aggregate is stored: drop it so detection re-aggregates the hour.
        new_ts = (ts for m, ts in unique if (m, ts) not in existing)
        history_hours_repo.invalidate(conn, history_hours_repo.METRIC_KINDS, new_ts)
        conn.execute(tbl.insert(), new_rows)
    return StoreResult(len(points), len(new_rows), len(points) - len(new_rows))


RollupKey = tuple[int, str, str, str, str, str, str]
"""(minute, merchant, stage, source, endpoint, status class, status code as the rollups keep it)"""


def _bucket(latency: float) -> int:
    return bisect.bisect_left(LATENCY_BUCKETS_MS, latency)


def rollup_rows(events: Iterable[tuple[int, LogEvent]]) -> list[dict[str, Any]]:
    """Aggregate (ts_ms, event) pairs into per-minute rollup rows (column values, ready to write: ingest's hot
    path, so no records)."""
    acc: dict[RollupKey, list[Any]] = {}
    n_b = len(HIST_COLUMNS)
    for ts_ms, e in events:
        key = (
            ts_ms - ts_ms % 60_000,
            e.merchant_id,
            e.migration_stage or "",
            e.source,
            e.endpoint,
            f"{e.status_code // 100}xx",
            rollup_status(e.status_code),
        )
        slot = acc.get(key)
        if slot is None:
            # count, latency_count, latency_sum, latency_max, hist
            slot = [0, 0, 0.0, 0.0, [0] * n_b]
            acc[key] = slot
        slot[0] += 1
        lat = e.latency_ms
        if lat is not None:
            slot[1] += 1
            slot[2] += lat
            if lat > slot[3]:
                slot[3] = lat
            slot[4][_bucket(lat)] += 1
    return _rollup_dicts(acc)


def _rollup_dicts(acc: dict[RollupKey, list[Any]]) -> list[dict[str, Any]]:
    rows = []
    for (minute, merchant, stage, source, endpoint, sclass, code), (n, lc, ls, lm, hist) in acc.items():
        row: dict[str, Any] = {
            "minute_ms": minute,
            "merchant_id": merchant,
            "migration_stage": stage,
            "source": source,
            "endpoint": endpoint,
            "status_class": sclass,
            "status_code": code,
            "count": n,
            "latency_count": lc,
            "latency_sum": ls,
            "latency_max": lm,
        }
        row.update(zip(HIST_COLUMNS, hist, strict=True))
        rows.append(row)
    return rows


_ROLLUP_ADD = ("count", "latency_count", "latency_sum", *HIST_COLUMNS)
_LOG_COLUMNS = (
    "id",
    "ts_ms",
    "merchant_id",
    "source",
    "endpoint",
    "status_code",
    "latency_ms",
    "event",
    "correlation_id",
    "migration_stage",
    "message",
    "extra",
)


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def upsert_rollups(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add `rows` into the rollup table (insert, or add the counts to the existing row for the key).

    Stored history hours the rows fall in are deleted in the same transaction (detection re-aggregates them).
    Rows are written in key order, so concurrent batches lock shared rollup rows in the same order and never
    deadlock on each other.
    """
    if not rows:
        return
    rows = sorted(rows, key=lambda r: tuple(r[c] for c in LOG_ROLLUP_KEY))
    ph = _placeholder(conn)
    columns = (*LOG_ROLLUP_KEY, *_ROLLUP_ADD, "latency_max")
    biggest = "greatest" if conn.dialect.name == "postgresql" else "max"
    updates = ", ".join(f"{c} = log_rollups.{c} + excluded.{c}" for c in _ROLLUP_ADD)
    sql = (
        f"INSERT INTO log_rollups ({', '.join(columns)}) VALUES ({', '.join([ph] * len(columns))}) "
        f"ON CONFLICT ({', '.join(LOG_ROLLUP_KEY)}) DO UPDATE SET {updates}, "
        f"latency_max = {biggest}(log_rollups.latency_max, excluded.latency_max)"
    )
    history_hours_repo.invalidate(conn, history_hours_repo.ROLLUP_KINDS, (r["minute_ms"] for r in rows))
    conn.exec_driver_sql(sql, [tuple(r[c] for c in columns) for r in rows])


def store_logs(conn: Connection, events: Sequence[LogEvent], keep_raw: bool = True) -> StoreResult:
    """Store new events (by id or content hash) and add exactly those to the per-minute rollups.

    One pass over the new events builds both the raw rows and the rollup accumulators (this is the ingest
    hot path: every attribute is read once).
    """
    unique: dict[str, LogEvent] = {}
    for e in events:
        unique.setdefault(log_event_id(e), e)
    existing = _existing_ids(conn, "log_events", list(unique))
    raw: list[tuple[Any, ...]] = []
    acc: dict[RollupKey, list[Any]] = {}
    n_b = len(HIST_COLUMNS)
    bounds = LATENCY_BUCKETS_MS
    for i, e in unique.items():
        if i in existing:
            continue
        ts = e.ts
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        ts_ms = int(ts.timestamp() * 1000)
        merchant, source, endpoint, status = e.merchant_id, e.source, e.endpoint, e.status_code
        stage, lat = e.migration_stage, e.latency_ms
        if keep_raw:
            extra = e.__pydantic_extra__
            raw.append(
                (
                    i,
                    ts_ms,
                    merchant,
                    source,
                    endpoint,
                    status,
                    lat,
                    e.event,
                    e.correlation_id,
                    stage,
                    e.message,
                    orjson.dumps(extra).decode() if extra else None,
                )
            )
        key = (
            ts_ms - ts_ms % 60_000,
            merchant,
            stage or "",
            source,
            endpoint,
            f"{status // 100}xx",
            rollup_status(status),
        )
        slot = acc.get(key)
        if slot is None:
            slot = acc[key] = [0, 0, 0.0, 0.0, [0] * n_b]
        slot[0] += 1
        if lat is not None:
            slot[1] += 1
            slot[2] += lat
            if lat > slot[3]:
                slot[3] = lat
            slot[4][bisect.bisect_left(bounds, lat)] += 1
    # Rollups first: they invalidate stored history hours, which takes the ingest's lock before any row write.
    upsert_rollups(conn, _rollup_dicts(acc))
    if raw:
        raw.sort(key=lambda r: r[0])  # id order: concurrent batches sharing ids wait, never deadlock
        ph = _placeholder(conn)
        sql = f"INSERT INTO log_events ({', '.join(_LOG_COLUMNS)}) VALUES ({', '.join([ph] * len(_LOG_COLUMNS))})"
        conn.exec_driver_sql(sql, raw)
    stored = sum(slot[0] for slot in acc.values())
    return StoreResult(len(events), stored, len(events) - stored)


def _existing_ids(conn: Connection, table_name: str, ids: Sequence[str], chunk: int = 2000) -> set[str]:
    ph = _placeholder(conn)
    found: set[str] = set()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        sql = f"SELECT id FROM {table_name} WHERE id IN ({', '.join([ph] * len(part))})"
        found.update(row[0] for row in conn.exec_driver_sql(sql, tuple(part)))
    return found


"""The columns of a pairing event (`payment_order_events`): the raw log event's, as stored."""


def prune_raw_logs(conn: Connection, before_ms: int) -> int:
    """Delete raw log events older than `before_ms` (rollups are kept). Returns the number deleted.

    Stored history hours (`history_hours_repo`) are kept too: detection history survives raw retention. So does
    payment/order pairing: first, in the same transaction, the payments and orders with a correlation id among
    the events to prune are copied into the pairing events (`payment_order_events`, kept until `prune_pairing_events`; an id already
    there, e.g. an event re-sent after it was pruned, is left as it is). Pairing reads both tables, so a window
    pairs the same before and after, and an order that arrives after its payment was pruned still pairs.
    """
    columns = ", ".join(PAIRING_COLUMNS)
    ph = _placeholder(conn)
    kinds = ", ".join([ph] * len(PAIRING_EVENTS))
    conn.exec_driver_sql(
        f"INSERT INTO payment_order_events ({columns}) SELECT {columns} FROM log_events "
        f"WHERE ts_ms < {ph} AND event IN ({kinds}) AND correlation_id IS NOT NULL "
        "ORDER BY id ON CONFLICT (id) DO NOTHING",
        (before_ms, *PAIRING_EVENTS),
    )
    tbl = table(LogEventRow)
    result = conn.execute(tbl.delete().where(tbl.c.ts_ms < before_ms))
    return int(result.rowcount or 0)


def prune_pairing_events(conn: Connection, before_ms: int) -> int:
    """Delete pairing events (`payment_order_events`) older than `before_ms`. Returns the number deleted."""
    tbl = table(PaymentOrderEventRow)
    result = conn.execute(tbl.delete().where(tbl.c.ts_ms < before_ms))
    return int(result.rowcount or 0)
