"""Act: persist the incident the cycle produced and record it in the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from selfheal import audit
from selfheal.act.model import Outcome
from selfheal.decide.model import Assessment
from selfheal.observe.summary import ObservationSummary
from selfheal.reason.model import Findings
from selfheal.records import dt_to_ms, utcnow
from selfheal.store import incidents_repo


def act(
    conn: Connection,
    *,
    assessment: Assessment | None,
    findings: Findings,
    summary: ObservationSummary,
    actor: str,
) -> Outcome:
    """Store the assessment as an incident (inside the caller's transaction)."""
    if assessment is None:
        return Outcome(incident_id=None, incident_created=False)
    now = dt_to_ms(utcnow())
    row: dict[str, Any] = {
        "created_ms": now,
        "updated_ms": now,
        "as_of_ms": dt_to_ms(summary.as_of),
        "window_minutes": summary.window_minutes,
        "status": "open",
        "severity": assessment.severity.value,
        "category": assessment.root_cause.category.value,
        "title": assessment.title,
        "assessment": assessment.model_dump(mode="json"),
        "findings": findings.model_dump(mode="json"),
        "observation": summary.model_dump(mode="json", exclude={"series"}),
        "timeline": [{"at": now, "event": "opened", "as_of": summary.as_of.isoformat()}],
    }
    incident_id = incidents_repo.insert_incident(conn, row)
    audit.record(
        conn,
        actor=actor,
        action="incident.open",
        target_type="incident",
        target_id=incident_id,
        after={
            "status": "open",
            "category": row["category"],
            "severity": row["severity"],
            "title": row["title"],
        },
    )
    return Outcome(incident_id=incident_id, incident_created=True)


__all__ = ["Outcome", "act"]
