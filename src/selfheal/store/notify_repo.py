"""The notification outbox. Rows are queued in the writer's transaction (a repeated notice is ignored), and
claimed by delivery workers: a claim flips due rows to `sending` under a lease in one short transaction
(PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint rows; SQLite: `BEGIN IMMEDIATE`
serialises writers), and the outcome is written only by the holder of the claim token."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from selfheal.errors import NotFound
from selfheal.records import Record, ms_to_dt
from selfheal.store.notify_tables import NotificationRow
from selfheal.store.tables import table

STATUSES = ("pending", "sending", "delivered", "failed")


class NotificationRecord(Record):
    id: str
    receiver: str
    kind: str
    event: str
    incident_id: str
    notice_key: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


def new_id() -> str:
    """Ordered by creation time (then random), so rows queued together are sent in the order queued."""
    return f"ntf-{time.time_ns():016x}{uuid.uuid4().hex[:8]}"


def enqueue(conn: Connection, row: dict[str, Any]) -> bool:
    """Queue one notification; False when the receiver already has this notice of this incident."""
    t = table(NotificationRow)
    values = {"id": new_id(), "attempts": 0, "status": "pending", **row}
    insert = postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t)
    statement = (
        insert.values(**values)
        .on_conflict_do_nothing(index_elements=["incident_id", "notice_key", "receiver"])
        .returning(t.c.id)
    )
    return conn.execute(statement).first() is not None


def claim_due(
    conn: Connection, now_ms: int, token: str, lease_ms: int, limit: int
) -> list[NotificationRecord]:
    """Claim up to `limit` due rows (pending and due, or sending with an expired lease) for `token`; each
    claim counts as an attempt."""
    t = table(NotificationRow)
    due = or_(
        and_(t.c.status == "pending", t.c.next_attempt_ms <= now_ms),
        and_(t.c.status == "sending", t.c.lease_until_ms <= now_ms),
    )
    query = select(t.c.id).where(due).order_by(t.c.next_attempt_ms, t.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [r.id for r in conn.execute(query)]
    if not ids:
        return []
    conn.execute(
        t.update()
        .where(t.c.id.in_(ids))
        .values(
            status="sending",
            claim_token=token,
            lease_until_ms=now_ms + lease_ms,
            attempts=t.c.attempts + 1,
            updated_ms=now_ms,
        )
    )
    rows = conn.execute(select(t).where(t.c.id.in_(ids)).order_by(t.c.next_attempt_ms, t.c.id))
    return [_record(r._mapping) for r in rows]


def finish(conn: Connection, notification_id: str, token: str, values: dict[str, Any]) -> bool:
    """Write a delivery outcome if `token` still holds the claim; the claim is released."""
    t = table(NotificationRow)
    result = conn.execute(
        t.update()
        .where(t.c.id == notification_id, t.c.claim_token == token, t.c.status == "sending")
        .values(**values, claim_token=None, lease_until_ms=None)
    )
    return bool(result.rowcount)


def next_due_ms(conn: Connection) -> int | None:
    """When the earliest pending row is due (or a claim's lease ends); None when nothing waits."""
    t = table(NotificationRow)
    pending = conn.execute(select(func.min(t.c.next_attempt_ms)).where(t.c.status == "pending")).scalar()
    leased = conn.execute(select(func.min(t.c.lease_until_ms)).where(t.c.status == "sending")).scalar()
    candidates = [int(v) for v in (pending, leased) if v is not None]
    return min(candidates) if candidates else None


def list_notifications(
    conn: Connection,
    *,
    status: str | None = None,
    incident_id: str | None = None,
    receiver: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[NotificationRecord], int]:
    """Newest first, with the total count matching the filters."""
    t = table(NotificationRow)
    conditions = []
    if status is not None:
        conditions.append(t.c.status == status)
    if incident_id is not None:
        conditions.append(t.c.incident_id == incident_id)
    if receiver is not None:
        conditions.append(t.c.receiver == receiver)
    total = conn.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(t)
        .where(*conditions)
        .order_by(t.c.created_ms.desc(), t.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_record(r._mapping) for r in rows], int(total)


def get_notification(conn: Connection, notification_id: str) -> NotificationRecord:
    t = table(NotificationRow)
    row = conn.execute(select(t).where(t.c.id == notification_id)).first()
    if row is None:
        raise NotFound(f"notification {notification_id!r} not found", {"notification_id": notification_id})
    return _record(row._mapping)


def _record(r: Any) -> NotificationRecord:
    return NotificationRecord(
        id=r["id"],
        receiver=r["receiver"],
        kind=r["kind"],
        event=r["event"],
        incident_id=r["incident_id"],
        notice_key=r["notice_key"],
        payload=r["payload"],
        status=r["status"],
        attempts=r["attempts"],
        created_at=ms_to_dt(r["created_ms"]),
        updated_at=ms_to_dt(r["updated_ms"]),
        next_attempt_at=ms_to_dt(r["next_attempt_ms"]),
        delivered_at=ms_to_dt(r["delivered_ms"]) if r["delivered_ms"] is not None else None,
        last_status=r["last_status"],
        last_error=r["last_error"],
    )
