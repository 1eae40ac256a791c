"""Operational figures read at scrape time (`GET /metrics`): derived from the database, so every process of
an installation reports the same values."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from selfheal.store.actions_tables import ActionRow
from selfheal.store.incident_tables import IncidentTrackingRow
from selfheal.store.tables import CycleRunRow, IncidentRow, LogRollupRow, MetricPointRow, TicketRow, table

PENDING = ("proposed", "approved")


def open_incidents_by_severity(conn: Connection) -> dict[str, int]:
    t = table(IncidentRow)
    rows = conn.execute(
        select(t.c.severity, func.count()).where(t.c.status != "resolved").group_by(t.c.severity)
    )
    return {str(s): int(n) for s, n in rows}


def revenue_at_risk(conn: Connection) -> dict[str, float]:
    """Lost revenue per hour of the unresolved incidents, by currency."""
    t = table(IncidentTrackingRow)
    rows = conn.execute(
        select(t.c.currency, func.sum(t.c.lost_revenue_per_hour))
        .where(t.c.status != "resolved")
        .group_by(t.c.currency)
    )
    return {str(c or ""): float(v or 0.0) for c, v in rows}


def pending_actions(conn: Connection) -> dict[str, int]:
    t = table(ActionRow)
    rows = conn.execute(select(t.c.status, func.count()).where(t.c.status.in_(PENDING)).group_by(t.c.status))
    return {str(s): int(n) for s, n in rows}


def waiting_cost(conn: Connection, now_ms: int) -> dict[str, float]:
    """What waiting costs: per currency, the sum over pending actions of their incident's lost revenue per
    hour times the hours the action has waited (money lost while the action was not run)."""
    a, t = table(ActionRow), table(IncidentTrackingRow)
    hours = (now_ms - a.c.created_ms) / 3_600_000.0
    rows = conn.execute(
        select(t.c.currency, func.sum(t.c.lost_revenue_per_hour * hours))
        .join(t, t.c.incident_id == a.c.incident_id)
        .where(a.c.status.in_(PENDING), t.c.status != "resolved")
        .group_by(t.c.currency)
    )
    return {str(c or ""): float(v or 0.0) for c, v in rows}


def newest_signal_ms(conn: Connection) -> dict[str, int | None]:
    """The newest stored timestamp of each signal kind (indexed columns: a cheap max)."""
    return {
        "logs": conn.execute(select(func.max(table(LogRollupRow).c.minute_ms))).scalar(),
        "metrics": conn.execute(select(func.max(table(MetricPointRow).c.ts_ms))).scalar(),
        "tickets": conn.execute(select(func.max(table(TicketRow).c.created_ms))).scalar(),
    }


def latest_cycle(conn: Connection) -> tuple[int, float, dict[str, float]] | None:
    """(as_of_ms, duration_ms, stage_ms) of the most recently started cycle."""
    t = table(CycleRunRow)
    row = conn.execute(
        select(t.c.as_of_ms, t.c.duration_ms, t.c.stage_ms).order_by(t.c.started_ms.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return int(row[0]), float(row[1] or 0.0), dict(row[2] or {})
