"""Incidents and cycle runs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, func, select

from selfheal.errors import NotFound
from selfheal.store.actions_tables import ActionRow
from selfheal.store.decide_tables import ActionOutcomeRow, IncidentTrackingRow
from selfheal.store.tables import CycleRunRow, IncidentRow, table


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def insert_incident(conn: Connection, row: dict[str, Any]) -> str:
    row = dict(row)
    row.setdefault("id", new_id("inc"))
    conn.execute(table(IncidentRow).insert(), [row])
    return str(row["id"])


def get_incident(conn: Connection, incident_id: str) -> dict[str, Any]:
    t = table(IncidentRow)
    row = conn.execute(select(t).where(t.c.id == incident_id)).first()
    if row is None:
        raise NotFound(f"incident {incident_id!r} does not exist", {"incident_id": incident_id})
    return dict(row._mapping)


def list_incidents(
    conn: Connection, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    t = table(IncidentRow)
    query = select(
        t.c.id,
        t.c.created_ms,
        t.c.updated_ms,
        t.c.as_of_ms,
        t.c.window_minutes,
        t.c.status,
        t.c.severity,
        t.c.category,
        t.c.title,
    )
    if status:
        query = query.where(t.c.status == status)
    query = query.order_by(t.c.created_ms.desc(), t.c.id.desc()).limit(limit).offset(offset)
    return [dict(r._mapping) for r in conn.execute(query)]


def insert_cycle_run(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(table(CycleRunRow).insert(), [row])


def list_cycle_runs(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    t = table(CycleRunRow)
    rows = conn.execute(select(t).order_by(t.c.started_ms.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


# --- lifecycle tracking (decide) ------------------------------------------------------------------


def insert_tracking(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(table(IncidentTrackingRow).insert(), [row])


def update_tracking(conn: Connection, incident_id: str, values: dict[str, Any]) -> None:
    t = table(IncidentTrackingRow)
    conn.execute(t.update().where(t.c.incident_id == incident_id).values(**values))


def get_tracking(conn: Connection, incident_id: str) -> dict[str, Any] | None:
    t = table(IncidentTrackingRow)
    row = conn.execute(select(t).where(t.c.incident_id == incident_id)).first()
    return dict(row._mapping) if row else None


def unresolved_tracking(conn: Connection) -> list[dict[str, Any]]:
    """Tracking rows of every incident not yet resolved, most recently seen first."""
    t = table(IncidentTrackingRow)
    rows = conn.execute(
        select(t).where(t.c.status != "resolved").order_by(t.c.last_seen_ms.desc(), t.c.incident_id)
    )
    return [dict(r._mapping) for r in rows]


def append_timeline(
    conn: Connection, incident_id: str, entries: list[dict[str, Any]], values: dict[str, Any]
) -> None:
    """Add entries to an incident's timeline and set other columns in the same update."""
    t = table(IncidentRow)
    current = conn.execute(select(t.c.timeline).where(t.c.id == incident_id)).scalar_one()
    conn.execute(
        t.update().where(t.c.id == incident_id).values(timeline=[*(current or []), *entries], **values)
    )


def executed_actions(conn: Connection, incident_id: str) -> list[dict[str, Any]]:
    """Actions of the incident that finished executing successfully, oldest first."""
    t = table(ActionRow)
    rows = conn.execute(
        select(t.c.id, t.c.key, t.c.finished_ms)
        .where(t.c.incident_id == incident_id, t.c.status == "succeeded", t.c.finished_ms.is_not(None))
        .order_by(t.c.finished_ms)
    )
    return [dict(r._mapping) for r in rows]


def waiting_actions(conn: Connection, incident_id: str) -> list[dict[str, Any]]:
    """Actions of the incident waiting for a person's approval."""
    t = table(ActionRow)
    rows = conn.execute(
        select(t.c.id, t.c.key, t.c.title, t.c.risk, t.c.created_ms).where(
            t.c.incident_id == incident_id, t.c.status == "proposed"
        )
    )
    return [dict(r._mapping) for r in rows]


def insert_outcome(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(table(ActionOutcomeRow).insert(), [row])


def outcomes(conn: Connection, incident_id: str) -> list[dict[str, Any]]:
    t = table(ActionOutcomeRow)
    rows = conn.execute(select(t).where(t.c.incident_id == incident_id).order_by(t.c.judged_ms))
    return [dict(r._mapping) for r in rows]


def count_incidents(conn: Connection) -> int:
    t = table(IncidentRow)
    return int(conn.execute(select(func.count()).select_from(t)).scalar_one())
