"""The open incidents a cycle starts from: each unresolved incident's lifecycle state, read from storage."""

from __future__ import annotations

from sqlalchemy import Connection

from selfheal.observe.model import ExecutedAction, JudgedAction, OpenIncident, WaitingAction
from selfheal.store import incidents_repo
from selfheal.store.incidents_repo import IncidentTracking


def read_open_incidents(conn: Connection) -> tuple[OpenIncident, ...]:
    """Every unresolved incident, most recently seen first, with its executed, judged and waiting actions."""
    return tuple(_open_incident(conn, track) for track in incidents_repo.unresolved_tracking(conn))


def _open_incident(conn: Connection, track: IncidentTracking) -> OpenIncident:
    incident_id = track.incident_id
    title, severity = incidents_repo.headline(conn, incident_id)
    return OpenIncident(
        title=title,
        severity=severity,
        currency=track.currency,
        lost_revenue_per_hour=track.lost_revenue_per_hour,
        incident_id=incident_id,
        status=track.status,
        categories=track.categories,
        stages=track.stages,
        merchants=track.merchants,
        cycles=track.cycles,
        quiet_cycles=track.quiet_cycles,
        lost_orders_per_hour=track.lost_orders_per_hour,
        seen_executed=track.executed,
        executed=tuple(
            ExecutedAction(action_id=a.id, key=a.key, finished_at=a.finished_at)
            for a in incidents_repo.executed_actions(conn, incident_id)
        ),
        judged=tuple(
            JudgedAction(action_id=v.action_id, verdict=v.verdict)
            for v in incidents_repo.verdicts(conn, incident_id)
        ),
        waiting=tuple(
            WaitingAction(action_id=w.id, key=w.key)
            for w in incidents_repo.waiting_actions(conn, incident_id)
        ),
    )
