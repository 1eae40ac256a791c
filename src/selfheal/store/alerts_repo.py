"""Alerts: store Alertmanager notifications idempotently, list them, read those active in a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from selfheal.records import Record, ms_to_dt
from selfheal.store.alert_tables import AlertRow
from selfheal.store.tables import table

FIRING = "firing"
RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertWrite:
    """Column values of one received alert (ready to store)."""

    id: str
    fingerprint: str
    starts_ms: int
    ends_ms: int | None
    status: str
    alertname: str
    severity: str | None
    merchant_id: str | None
    migration_stage: str | None
    summary: str | None
    labels: dict[str, Any]
    annotations: dict[str, Any]
    generator_url: str | None
    group_key: str | None
    receiver: str | None


@dataclass(frozen=True)
class AlertsResult:
    received: int
    stored: int
    resolved: int
    duplicates: int


class StoredAlert(Record):
    id: str
    fingerprint: str
    status: str
    alertname: str
    starts_at: datetime
    ends_at: datetime | None
    severity: str | None
    merchant_id: str | None
    migration_stage: str | None
    summary: str | None
    labels: dict[str, Any]
    annotations: dict[str, Any]
    generator_url: str | None
    group_key: str | None
    receiver: str | None
    received_at: datetime
    updated_at: datetime


def store_alerts(conn: Connection, alerts: Sequence[AlertWrite], now_ms: int) -> AlertsResult:
    """Insert new occurrences; a `resolved` notice of a stored firing occurrence resolves it; anything else
    (a repeat, a late `firing` after `resolved`) is a duplicate. The first copy of a repeat in one payload wins."""
    tbl = table(AlertRow)
    unique: dict[str, AlertWrite] = {}
    for a in alerts:
        if a.id not in unique or (unique[a.id].status == FIRING and a.status == RESOLVED):
            unique[a.id] = a
    existing = {
        row.id: row.status
        for row in conn.execute(select(tbl.c.id, tbl.c.status).where(tbl.c.id.in_(list(unique))))
    }
    new = [a for i, a in unique.items() if i not in existing]
    resolving = [a for i, a in unique.items() if existing.get(i) == FIRING and a.status == RESOLVED]
    if new:
        conn.execute(
            tbl.insert(),
            [
                {**a.__dict__, "received_ms": now_ms, "updated_ms": now_ms}
                for a in sorted(new, key=lambda a: a.id)
            ],
        )
    for a in resolving:
        conn.execute(
            update(tbl)
            .where(tbl.c.id == a.id, tbl.c.status == FIRING)
            .values(status=RESOLVED, ends_ms=a.ends_ms, annotations=a.annotations, updated_ms=now_ms)
        )
    changed = len(new) + len(resolving)
    return AlertsResult(len(alerts), len(new), len(resolving), len(alerts) - changed)


def _stored(row: Any) -> StoredAlert:
    m = row._mapping
    return StoredAlert(
        id=m["id"],
        fingerprint=m["fingerprint"],
        status=m["status"],
        alertname=m["alertname"],
        starts_at=ms_to_dt(m["starts_ms"]),
        ends_at=ms_to_dt(m["ends_ms"]) if m["ends_ms"] is not None else None,
        severity=m["severity"],
        merchant_id=m["merchant_id"],
        migration_stage=m["migration_stage"],
        summary=m["summary"],
        labels=m["labels"] or {},
        annotations=m["annotations"] or {},
        generator_url=m["generator_url"],
        group_key=m["group_key"],
        receiver=m["receiver"],
        received_at=ms_to_dt(m["received_ms"]),
        updated_at=ms_to_dt(m["updated_ms"]),
    )


def list_alerts(
    conn: Connection, status: str | None = None, merchant_id: str | None = None, limit: int = 100
) -> list[StoredAlert]:
    """The latest alerts first (by start), optionally one status or one merchant's."""
    tbl = table(AlertRow)
    query = select(tbl)
    if status:
        query = query.where(tbl.c.status == status)
    if merchant_id:
        query = query.where(tbl.c.merchant_id == merchant_id)
    rows = conn.execute(query.order_by(tbl.c.starts_ms.desc(), tbl.c.id).limit(limit))
    return [_stored(r) for r in rows]


def window_alerts(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Alerts active at some moment of `[start_ms, end_ms)`: started before the end, not ended before the start."""
    tbl = table(AlertRow)
    rows = conn.execute(
        select(
            tbl.c.fingerprint,
            tbl.c.alertname,
            tbl.c.status,
            tbl.c.starts_ms,
            tbl.c.ends_ms,
            tbl.c.severity,
            tbl.c.merchant_id,
            tbl.c.migration_stage,
            tbl.c.summary,
        )
        .where(tbl.c.starts_ms < end_ms, or_(tbl.c.ends_ms.is_(None), tbl.c.ends_ms >= start_ms))
        .order_by(tbl.c.starts_ms, tbl.c.fingerprint)
    )
    return [dict(r._mapping) for r in rows]
