"""The open incidents a cycle starts from: each unresolved incident's lifecycle state, read from storage; and
the incidents resolved within the window (their leftover loss may still be in it)."""

from __future__ import annotations

from sqlalchemy import Connection

from selfheal.observe.model import (
    ExecutedAction,
    JudgedAction,
    OpenIncident,
    ResolvedIncident,
    WaitingAction,
)
from selfheal.store import incidents_repo
from selfheal.store.incidents_repo import IncidentTracking


def read_open_incidents(conn: Connection) -> tuple[OpenIncident, ...]:
    """Every unresolved incident, most recently seen first, with its executed, judged and waiting actions."""
    tracks = incidents_repo.unresolved_tracking(conn)
    heads = incidents_repo.headlines(conn, [t.incident_id for t in tracks])
    return tuple(_open_incident(conn, track, *heads.get(track.incident_id, ("", ""))) for track in tracks)


def read_recently_resolved(conn: Connection, since_ms: int) -> tuple[ResolvedIncident, ...]:
    """Incidents resolved at or after `since_ms`, most recently resolved first."""
    return tuple(
        ResolvedIncident(
            incident_id=t.incident_id,
            categories=t.categories,
            stages=t.stages,
            merchants=t.merchants,
            resolved_at=t.resolved_at,
        )
        for t in incidents_repo.resolved_since(conn, since_ms)
        if t.resolved_at is not None
    )


def _open_incident(conn: Connection, track: IncidentTracking, title: str, severity: str) -> OpenIncident:
    incident_id = track.incident_id
    return OpenIncident(
        title=title,
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
            JudgedAction(
                action_id=v.action_id,
                verdict=v.verdict,
                key=v.key,
                executed_at=v.executed_at,
                before_per_hour=v.before_per_hour,
            )
            for v in incidents_repo.verdicts(conn, incident_id)
        ),
        waiting=tuple(
            WaitingAction(action_id=w.id, key=w.key)
            for w in incidents_repo.waiting_actions(conn, incident_id)
        ),
        severity=severity,
        first_seen=track.first_seen,
        mitigating_since=track.mitigating_since,
        onset=track.onset,
        recovering_since=track.recovering_since,
        lost_orders_so_far=track.lost_orders_so_far,
        lost_revenue_so_far=track.lost_revenue_so_far,
        counted_until=track.counted_until,
        peak_lost_orders_per_hour=track.peak_lost_orders_per_hour,
        peak_lost_revenue_per_hour=track.peak_lost_revenue_per_hour,
        currency=track.currency,
    )
