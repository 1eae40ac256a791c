"""Stored settled hours of the detection baselines: read, store (insert-or-ignore), invalidate on late data.

Consistency with late data: ingestion deletes the stored hours its rows fall in, in its own transaction
(`invalidate`); detection stores an hour only from an aggregation it ran after `lock_for_aggregation`, in the
same transaction as the store. On SQLite every transaction (reads included) begins IMMEDIATE, so the two
never interleave. On PostgreSQL ingestion holds a shared advisory lock until it commits and detection takes
the exclusive one before aggregating: every ingest either committed before the aggregation read (its rows are
in it) or runs its delete after the stored hour is committed (and removes it).

Raw retention does not touch this table: the stored hours outlive the raw rows they were aggregated from.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite

from selfheal.store.history_repo import HOUR_MS
from selfheal.store.history_tables import HistoryHourRow
from selfheal.store.tables import table

ROLLUP_KINDS = ("endpoints", "minutes")
"""Kinds aggregated from `log_rollups`."""
METRIC_KINDS = ("merchants", "minutes", "merchant_stages")
"""Kinds aggregated from `metric_points`."""
_LOCK_KEY = 0x5E1F_4EA1_0001
"""PostgreSQL advisory lock between ingestion (shared) and detection storing hours (exclusive)."""
_CHUNK = 500


def _number(value: Any) -> Any:
    """PostgreSQL sums of integer columns come back as Decimal: store them as int (or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def encode(rows: Sequence[Any]) -> str:
    """The payload of one hour's rows: dict rows as columns + value lists, tuple rows as lists."""
    if rows and isinstance(rows[0], dict):
        columns = list(rows[0])
        body: dict[str, Any] = {"columns": columns, "rows": [[r[c] for c in columns] for r in rows]}
    else:
        body = {"rows": list(rows)}
    return orjson.dumps(body, default=_number).decode()


def decode(payload: str) -> list[Any]:
    body = orjson.loads(payload)
    columns = body.get("columns")
    if columns is not None:
        return [dict(zip(columns, values, strict=True)) for values in body["rows"]]
    return [tuple(r) for r in body["rows"]]


def read_hours(conn: Connection, kind: str, hours: Collection[int]) -> dict[int, list[Any]]:
    """The stored rows of those of `hours` that are stored."""
    if not hours:
        return {}
    t = table(HistoryHourRow)
    wanted = set(hours)
    rows = conn.execute(
        select(t.c.hour_ms, t.c.payload).where(
            t.c.kind == kind, t.c.hour_ms >= min(wanted), t.c.hour_ms <= max(wanted)
        )
    )
    return {int(h): decode(p) for h, p in rows if int(h) in wanted}


def versions(conn: Connection, kind: str, start_ms: int, end_ms: int) -> dict[int, int]:
    """`stored_ms` of each stored hour of `kind` in `[start_ms, end_ms)`: an hour deleted by late data, or
    deleted and stored again, shows as missing or with another version (no payloads are read)."""
    t = table(HistoryHourRow)
    rows = conn.execute(
        select(t.c.hour_ms, t.c.stored_ms).where(
            t.c.kind == kind, t.c.hour_ms >= start_ms, t.c.hour_ms < end_ms
        )
    )
    return {int(h): int(v) for h, v in rows}


def lock_for_aggregation(conn: Connection) -> None:
    """Hold off ingestion until this transaction ends (PostgreSQL); call before aggregating hours to store."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def store_hours(conn: Connection, kind: str, hours: Mapping[int, Sequence[Any]], now_ms: int) -> None:
    """Store each hour's rows unless the hour is already stored (a concurrent cycle stored the same rows)."""
    if not hours:
        return
    t = table(HistoryHourRow)
    values = [
        {"kind": kind, "hour_ms": h, "payload": encode(rows), "stored_ms": now_ms}
        for h, rows in hours.items()
    ]
    insert = postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t)
    statement = insert.on_conflict_do_nothing(index_elements=["kind", "hour_ms"])
    for start in range(0, len(values), _CHUNK):
        conn.execute(statement, values[start : start + _CHUNK])


def invalidate(conn: Connection, kinds: Sequence[str], timestamps_ms: Iterable[int]) -> None:
    """Delete the stored hours of `kinds` that any of `timestamps_ms` falls in.

    Call in the ingest transaction before its first write: on PostgreSQL the shared lock taken here is then
    held before any row lock, so a cycle waiting for it never waits on an ingest that waits on that cycle.
    """
    hours = sorted({ts - ts % HOUR_MS for ts in timestamps_ms})
    if not hours:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _LOCK_KEY})
    t = table(HistoryHourRow)
    for start in range(0, len(hours), _CHUNK):
        chunk = hours[start : start + _CHUNK]
        conn.execute(delete(t).where(t.c.kind.in_(kinds), t.c.hour_ms.in_(chunk)))
