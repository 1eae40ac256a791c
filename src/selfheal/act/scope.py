"""What an executor learns about the incident behind an action: its category and blast radius.

Read from the stored incident at execution time (the incident may have grown since the action was proposed).
"""

from __future__ import annotations

from sqlalchemy import Connection

from selfheal.errors import NotFound
from selfheal.records import Record
from selfheal.store import incidents_repo


class IncidentScope(Record):
    """What an executor learns about the incident behind an action."""

    category: str | None = None
    stages: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()


def incident_scope(conn: Connection, incident_id: str | None) -> IncidentScope:
    """The category and blast radius (stages, merchants) of the action's incident, if it still exists."""
    if not incident_id:
        return IncidentScope()
    try:
        incident = incidents_repo.get_incident(conn, incident_id)
    except NotFound:
        return IncidentScope()
    radius = incident.assessment.get("blast_radius") or {}
    return IncidentScope(
        category=incident.category,
        stages=tuple(radius.get("stages") or ()),
        merchants=tuple(m["merchant_id"] for m in radius.get("merchants") or ()),
    )
