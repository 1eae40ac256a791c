"""Incidents, their lifecycle tracking and action verdicts, and cycle runs.

Reads return frozen records with aware UTC datetimes (the columns hold epoch milliseconds); writes take the
column values.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select

from selfheal.errors import NotFound
from selfheal.records import Record, ms_to_dt
from selfheal.store.actions_tables import ActionRow
from selfheal.store.incident_tables import ActionVerdictRow, IncidentTrackingRow
from selfheal.store.tables import CycleRunRow, IncidentRow, table


class IncidentListing(Record):
    """An incident's headline: what `GET /incidents` lists."""

    id: str
    created_at: datetime
    updated_at: datetime
    as_of: datetime
    window_minutes: int
    status: str
    severity: str
    category: str
    title: str


class StoredIncident(IncidentListing):
    """An incident whole: the assessment, findings and observation summary of the cycle that last saw it
    (as stored JSON), and its timeline."""

    assessment: dict[str, Any]
    findings: dict[str, Any]
    observation: dict[str, Any]
    timeline: list[dict[str, Any]]


class CycleRun(Record):
    id: str
    started_at: datetime
    as_of: datetime
    window_minutes: int
    use_llm: bool
    incident_id: str | None
    duration_ms: float
    stage_ms: dict[str, Any]
    summary: dict[str, Any]


class IncidentTracking(Record):
    """The lifecycle state of one incident (`incident_tracking`)."""

    incident_id: str
    status: str
    categories: tuple[str, ...]
    stages: tuple[str, ...]
    merchants: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    cycles: int
    quiet_cycles: int
    mitigating_since: datetime | None
    resolved_at: datetime | None
    currency: str
    lost_revenue_per_hour: float
    lost_orders_per_hour: float
    outcome: str | None
    executed: dict[str, datetime]
    """Executed action id -> as_of of the first cycle that saw it executed."""


class ExecutedAction(Record):
    """An action of the incident that finished executing successfully."""

    id: str
    key: str
    finished_at: datetime


class WaitingAction(Record):
    """An action of the incident waiting for a person's approval."""

    id: str
    key: str
    title: str
    risk: str
    created_at: datetime


class ActionVerdict(Record):
    """The stored verdict on an executed action (`action_outcomes`)."""

    action_id: str
    incident_id: str
    key: str
    executed_at: datetime
    """As of the first cycle that saw the action executed: the start of its after-period."""
    judged_at: datetime
    verdict: str
    before_per_hour: float
    after_per_hour: float
    detail: str


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _opt_dt(ms: int | None) -> datetime | None:
    return None if ms is None else ms_to_dt(ms)


# --- incidents --------------------------------------------------------------------------------------


def insert_incident(conn: Connection, row: dict[str, Any]) -> str:
    row = dict(row)
    row.setdefault("id", new_id("inc"))
    conn.execute(table(IncidentRow).insert(), [row])
    return str(row["id"])


def _listing_fields(r: RowMapping) -> dict[str, Any]:
    return {
        "id": r["id"],
        "created_at": ms_to_dt(r["created_ms"]),
        "updated_at": ms_to_dt(r["updated_ms"]),
        "as_of": ms_to_dt(r["as_of_ms"]),
        "window_minutes": r["window_minutes"],
        "status": r["status"],
        "severity": r["severity"],
        "category": r["category"],
        "title": r["title"],
    }


def get_incident(conn: Connection, incident_id: str) -> StoredIncident:
    t = table(IncidentRow)
    row = conn.execute(select(t).where(t.c.id == incident_id)).first()
    if row is None:
        raise NotFound(f"incident {incident_id!r} does not exist", {"incident_id": incident_id})
    r = row._mapping
    return StoredIncident(
        **_listing_fields(r),
        assessment=r["assessment"] or {},
        findings=r["findings"] or {},
        observation=r["observation"] or {},
        timeline=r["timeline"] or [],
    )


def list_incidents(
    conn: Connection, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[IncidentListing]:
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
    return [IncidentListing(**_listing_fields(r._mapping)) for r in conn.execute(query)]


def count_incidents(conn: Connection, status: str | None = None) -> int:
    """How many incidents `list_incidents` pages through."""
    t = table(IncidentRow)
    query = select(func.count()).select_from(t)
    if status:
        query = query.where(t.c.status == status)
    return int(conn.execute(query).scalar_one())


def append_timeline(
    conn: Connection, incident_id: str, entries: list[dict[str, Any]], values: dict[str, Any]
) -> None:
    """Add entries to an incident's timeline and set other columns in the same update."""
    t = table(IncidentRow)
    current = conn.execute(select(t.c.timeline).where(t.c.id == incident_id)).scalar_one()
    conn.execute(
        t.update().where(t.c.id == incident_id).values(timeline=[*(current or []), *entries], **values)
    )


# --- cycle runs -------------------------------------------------------------------------------------


def insert_cycle_run(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(table(CycleRunRow).insert(), [row])


def cycle_ran(conn: Connection, as_of_ms: int) -> bool:
    """Whether a cycle for exactly `as_of_ms` is stored (the scheduler runs each period once)."""
    t = table(CycleRunRow)
    return conn.execute(select(t.c.id).where(t.c.as_of_ms == as_of_ms).limit(1)).first() is not None


def list_cycle_runs(conn: Connection, limit: int = 50) -> list[CycleRun]:
    t = table(CycleRunRow)
    rows = conn.execute(select(t).order_by(t.c.started_ms.desc()).limit(limit))
    return [
        CycleRun(
            id=r.id,
            started_at=ms_to_dt(r.started_ms),
            as_of=ms_to_dt(r.as_of_ms),
            window_minutes=r.window_minutes,
            use_llm=bool(r.use_llm),
            incident_id=r.incident_id,
            duration_ms=r.duration_ms,
            stage_ms=r.stage_ms,
            summary=r.summary,
        )
        for r in rows
    ]


# --- lifecycle tracking -----------------------------------------------------------------------------


def insert_tracking(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(table(IncidentTrackingRow).insert(), [row])


def update_tracking(conn: Connection, incident_id: str, values: dict[str, Any]) -> None:
    t = table(IncidentTrackingRow)
    conn.execute(t.update().where(t.c.incident_id == incident_id).values(**values))


def _tracking(r: RowMapping) -> IncidentTracking:
    return IncidentTracking(
        incident_id=r["incident_id"],
        status=r["status"],
        categories=tuple(r["categories"]),
        stages=tuple(r["stages"]),
        merchants=tuple(r["merchants"]),
        first_seen=ms_to_dt(r["first_seen_ms"]),
        last_seen=ms_to_dt(r["last_seen_ms"]),
        cycles=r["cycles"],
        quiet_cycles=r["quiet_cycles"],
        mitigating_since=_opt_dt(r["mitigating_since_ms"]),
        resolved_at=_opt_dt(r["resolved_ms"]),
        currency=r["currency"],
        lost_revenue_per_hour=float(r["lost_revenue_per_hour"] or 0.0),
        lost_orders_per_hour=float(r["lost_orders_per_hour"] or 0.0),
        outcome=r["outcome"],
        executed={k: ms_to_dt(v) for k, v in (r["executed"] or {}).items()},
    )


def get_tracking(conn: Connection, incident_id: str) -> IncidentTracking | None:
    t = table(IncidentTrackingRow)
    row = conn.execute(select(t).where(t.c.incident_id == incident_id)).first()
    return _tracking(row._mapping) if row else None


def headline(conn: Connection, incident_id: str) -> tuple[str, str]:
    """The incident's (title, severity)."""
    t = table(IncidentRow)
    row = conn.execute(select(t.c.title, t.c.severity).where(t.c.id == incident_id)).one_or_none()
    if row is None:
        raise NotFound(f"incident {incident_id!r} not found", {"incident_id": incident_id})
    return str(row.title), str(row.severity)


def unresolved_tracking(conn: Connection) -> list[IncidentTracking]:
    """Tracking rows of every incident not yet resolved, most recently seen first."""
    t = table(IncidentTrackingRow)
    rows = conn.execute(
        select(t).where(t.c.status != "resolved").order_by(t.c.last_seen_ms.desc(), t.c.incident_id)
    )
    return [_tracking(r._mapping) for r in rows]


def executed_actions(conn: Connection, incident_id: str) -> list[ExecutedAction]:
    """Actions of the incident that finished executing successfully, oldest first."""
    t = table(ActionRow)
    rows = conn.execute(
        select(t.c.id, t.c.key, t.c.finished_ms)
        .where(t.c.incident_id == incident_id, t.c.status == "succeeded", t.c.finished_ms.is_not(None))
        .order_by(t.c.finished_ms)
    )
    return [ExecutedAction(id=r.id, key=r.key, finished_at=ms_to_dt(r.finished_ms)) for r in rows]


def waiting_actions(conn: Connection, incident_id: str) -> list[WaitingAction]:
    """Actions of the incident waiting for a person's approval."""
    t = table(ActionRow)
    rows = conn.execute(
        select(t.c.id, t.c.key, t.c.title, t.c.risk, t.c.created_ms).where(
            t.c.incident_id == incident_id, t.c.status == "proposed"
        )
    )
    return [
        WaitingAction(id=r.id, key=r.key, title=r.title, risk=r.risk, created_at=ms_to_dt(r.created_ms))
        for r in rows
    ]


def insert_verdict(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(table(ActionVerdictRow).insert(), [row])


def verdicts(conn: Connection, incident_id: str) -> list[ActionVerdict]:
    """The verdicts on the incident's executed actions, in the order they were judged."""
    t = table(ActionVerdictRow)
    rows = conn.execute(select(t).where(t.c.incident_id == incident_id).order_by(t.c.judged_ms))
    return [
        ActionVerdict(
            action_id=r.action_id,
            incident_id=r.incident_id,
            key=r.key,
            executed_at=ms_to_dt(r.executed_ms),
            judged_at=ms_to_dt(r.judged_ms),
            verdict=r.verdict,
            before_per_hour=r.before_per_hour,
            after_per_hour=r.after_per_hour,
            detail=r.detail,
        )
        for r in rows
    ]
