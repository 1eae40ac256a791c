"""The audit table: append under a lock, read in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Select, func, select, text

from selfheal.store.actions_tables import AuditHeadRow
from selfheal.store.rows import AuditEntry
from selfheal.store.tables import AuditRow, table

_PG_AUDIT_LOCK = 724_001


def lock_and_last(conn: Connection) -> tuple[int, str] | None:
    """Serialise appenders (PostgreSQL advisory lock; SQLite writers are already serialised) and return
    the last (seq, hash). The head anchor wins over the table: after the newest records were deleted,
    new records still link to the anchored head, so the gap stays visible to `verify`."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    head = get_head(conn)
    if head is not None:
        return head
    t = table(AuditRow)
    last_seq = conn.execute(select(func.max(t.c.seq))).scalar_one()
    if last_seq is None:
        return None
    last_hash = conn.execute(select(t.c.hash).where(t.c.seq == last_seq)).scalar_one()
    return int(last_seq), str(last_hash)


def insert(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(table(AuditRow).insert(), [row])


def get_head(conn: Connection) -> tuple[int, str] | None:
    """The anchored (seq, hash) of the newest record, or None before the first append."""
    h = table(AuditHeadRow)
    row = conn.execute(select(h.c.seq, h.c.hash).where(h.c.id == 1)).first()
    return (int(row.seq), str(row.hash)) if row else None


def set_head(conn: Connection, seq: int, hash_: str) -> None:
    """Move the head anchor to the record just appended (inside the appender's lock)."""
    h = table(AuditHeadRow)
    done = conn.execute(h.update().where(h.c.id == 1).values(seq=seq, hash=hash_)).rowcount
    if not done:
        conn.execute(h.insert(), [{"id": 1, "seq": seq, "hash": hash_}])


def last_record(conn: Connection) -> AuditEntry | None:
    t = table(AuditRow)
    row = conn.execute(select(t).order_by(t.c.seq.desc()).limit(1)).first()
    return AuditEntry.model_validate(row._mapping) if row else None


def for_targets(conn: Connection, target_ids: list[str], limit: int = 1000) -> list[AuditEntry]:
    """Records about any of `target_ids`, oldest first (an incident's own trail and its actions')."""
    if not target_ids:
        return []
    t = table(AuditRow)
    q = select(t).where(t.c.target_id.in_(target_ids)).order_by(t.c.seq).limit(limit)
    return [AuditEntry.model_validate(r._mapping) for r in conn.execute(q)]


def iter_all(conn: Connection, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every record in chain order, read `batch` at a time (for `audit.verify`).

    Built with `model_construct`: the walk reads the whole log, the columns are typed by the table, and
    the chain check itself recomputes every hash, so re-validating each row would only cost time."""
    t = table(AuditRow)
    last = 0
    while True:
        rows = conn.execute(select(t).where(t.c.seq > last).order_by(t.c.seq).limit(batch)).all()
        if not rows:
            return
        for r in rows:
            yield AuditEntry.model_construct(**r._mapping)
        last = rows[-1].seq


def query(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    t = table(AuditRow)
    q = _filtered(select(t), actor, action, target_type, target_id, since_ms, until_ms)
    q = q.order_by(t.c.seq.desc()).limit(limit).offset(offset)
    return [AuditEntry.model_validate(r._mapping) for r in conn.execute(q)]


def count(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> int:
    """How many records `query` pages through with these filters."""
    q = select(func.count()).select_from(table(AuditRow))
    q = _filtered(q, actor, action, target_type, target_id, since_ms, until_ms)
    return int(conn.execute(q).scalar_one())


def _filtered(
    q: Select[Any],
    actor: str | None,
    action: str | None,
    target_type: str | None,
    target_id: str | None,
    since_ms: int | None,
    until_ms: int | None,
) -> Select[Any]:
    t = table(AuditRow)
    if actor:
        q = q.where(t.c.actor == actor)
    if action:
        q = q.where(t.c.action.like(f"{action}%"))
    if target_type:
        q = q.where(t.c.target_type == target_type)
    if target_id:
        q = q.where(t.c.target_id == target_id)
    if since_ms is not None:
        q = q.where(t.c.ts_ms >= since_ms)
    if until_ms is not None:
        q = q.where(t.c.ts_ms < until_ms)
    return q
