"""Incidents, their lifecycle tracking and action verdicts, and cycle runs.

Reads return frozen records with aware UTC datetimes (the columns hold epoch milliseconds); writes take the
column values.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, select

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
    onset: datetime | None = None
    """The earliest onset any cycle saw (from the lifecycle tracking)."""
    recovering_since: datetime | None = None
    resolved_at: datetime | None = None
    currency: str | None = None
    lost_orders_so_far: float | None = None
    """Cumulative since the onset, not the rolling window's sum."""
    lost_revenue_so_far: float | None = None
    peak_lost_orders_per_hour: float | None = None
    peak_lost_revenue_per_hour: float | None = None
    current_lost_orders_per_hour: float | None = None
    current_lost_revenue_per_hour: float | None = None
    story: str | None = None


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
    recovering_since: datetime | None = None
    onset: datetime | None = None
    lost_orders_so_far: float | None = None
    lost_revenue_so_far: float | None = None
    counted_until: datetime | None = None
    peak_lost_orders_per_hour: float | None = None
    peak_lost_revenue_per_hour: float | None = None
    current_lost_orders_per_hour: float | None = None
    current_lost_revenue_per_hour: float | None = None
    story: str | None = None


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
        "onset": _opt_dt(r.get("onset_ms")),
        "recovering_since": _opt_dt(r.get("recovering_since_ms")),
        "resolved_at": _opt_dt(r.get("resolved_ms")),
        "currency": r.get("currency"),
        "lost_orders_so_far": r.get("lost_orders_so_far"),
        "lost_revenue_so_far": r.get("lost_revenue_so_far"),
        "peak_lost_orders_per_hour": r.get("peak_lost_orders_per_hour"),
        "peak_lost_revenue_per_hour": r.get("peak_lost_revenue_per_hour"),
        "current_lost_orders_per_hour": r.get("current_lost_orders_per_hour"),
        "current_lost_revenue_per_hour": r.get("current_lost_revenue_per_hour"),
        "story": r.get("story"),
    }


def _recovery_columns() -> tuple[Any, ...]:
    """The tracking columns an incident's headline shows (outer-joined: an incident may have none)."""
    k = table(IncidentTrackingRow)
    return (
        k.c.onset_ms,
        k.c.recovering_since_ms,
        k.c.resolved_ms,
        k.c.currency,
        k.c.lost_orders_so_far,
        k.c.lost_revenue_so_far,
        k.c.peak_lost_orders_per_hour,
        k.c.peak_lost_revenue_per_hour,
        k.c.current_lost_orders_per_hour,
        k.c.current_lost_revenue_per_hour,
        k.c.story,
    )


def get_incident(conn: Connection, incident_id: str) -> StoredIncident:
    t, k = table(IncidentRow), table(IncidentTrackingRow)
    row = conn.execute(
        select(t, *_recovery_columns())
        .select_from(t.outerjoin(k, k.c.incident_id == t.c.id))
        .where(t.c.id == incident_id)
    ).first()
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
    t, k = table(IncidentRow), table(IncidentTrackingRow)
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
        *_recovery_columns(),
    ).select_from(t.outerjoin(k, k.c.incident_id == t.c.id))
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
        recovering_since=_opt_dt(r["recovering_since_ms"]),
        onset=_opt_dt(r["onset_ms"]),
        lost_orders_so_far=r["lost_orders_so_far"],
        lost_revenue_so_far=r["lost_revenue_so_far"],
        counted_until=_opt_dt(r["counted_until_ms"]),
        peak_lost_orders_per_hour=r["peak_lost_orders_per_hour"],
        peak_lost_revenue_per_hour=r["peak_lost_revenue_per_hour"],
        current_lost_orders_per_hour=r["current_lost_orders_per_hour"],
        current_lost_revenue_per_hour=r["current_lost_revenue_per_hour"],
        story=r["story"],
    )


def get_tracking(conn: Connection, incident_id: str) -> IncidentTracking | None:
    t = table(IncidentTrackingRow)
    row = conn.execute(select(t).where(t.c.incident_id == incident_id)).first()
    return _tracking(row._mapping) if row else None


def unresolved_tracking(conn: Connection) -> list[IncidentTracking]:
    """Tracking rows of every incident not yet resolved, most recently seen first."""
    t = table(IncidentTrackingRow)
    rows = conn.execute(
        select(t).where(t.c.status != "resolved").order_by(t.c.last_seen_ms.desc(), t.c.incident_id)
    )
    return [_tracking(r._mapping) for r in rows]


def resolved_since(conn: Connection, since_ms: int) -> list[IncidentTracking]:
    """Tracking rows of incidents resolved at or after `since_ms`, most recently resolved first."""
    t = table(IncidentTrackingRow)
    rows = conn.execute(
        select(t)
        .where(t.c.status == "resolved", t.c.resolved_ms >= since_ms)
        .order_by(t.c.resolved_ms.desc(), t.c.incident_id)
    )
    return [_tracking(r._mapping) for r in rows]


def headlines(conn: Connection, incident_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each incident's stored (title, severity), in one query."""
    if not incident_ids:
        return {}
    t = table(IncidentRow)
    rows = conn.execute(select(t.c.id, t.c.title, t.c.severity).where(t.c.id.in_(incident_ids)))
    return {r.id: (str(r.title), str(r.severity)) for r in rows}


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


def save_verdict(conn: Connection, row: dict[str, Any]) -> None:
    """Store an action's verdict; a revised one (after a relapse) replaces the earlier verdict."""
    t = table(ActionVerdictRow)
    conn.execute(delete(t).where(t.c.action_id == row["action_id"]))
    conn.execute(t.insert(), [row])


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
