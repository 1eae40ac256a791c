"""The incident side of the act stage: write the incident plan decide made.

Opens the new incident (incident row, tracking row), and for every open incident writes its tracking values,
timeline entries and the verdicts on its executed actions, with audit records, inside the cycle's
transaction. What to write is decided in `selfheal.decide.plan`; nothing here judges.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from selfheal import audit
from selfheal.decide.model import Assessment
from selfheal.decide.plan_model import (
    Decision,
    IncidentOpening,
    IncidentStatus,
    IncidentStep,
    JudgedOutcome,
    LossSoFar,
    TimelineEntry,
    TrackingChange,
)
from selfheal.observe.summary import ObservationSummary
from selfheal.reason.model import Findings
from selfheal.records import dt_to_ms, utcnow
from selfheal.store import incidents_repo


def write_incident_plan(
    conn: Connection,
    *,
    decision: Decision,
    findings: Findings,
    summary: ObservationSummary,
    actor: str,
) -> tuple[str | None, bool]:
    """Write the decision's incident plan. The assessment, findings and observation summary are stored on the
    incident the assessment opens or continues.

    Returns (incident id the assessment belongs to, whether it was opened by this cycle).
    """
    now = dt_to_ms(utcnow())
    plan, assessment = decision.plan, decision.assessment
    created_id: str | None = None
    if plan.opening is not None and assessment is not None:
        created_id = _open(conn, plan.opening, assessment, findings, summary, actor, now)
    for step in plan.steps:
        _write_step(conn, step, assessment, findings, summary, actor, now)
    if created_id is not None:
        return created_id, True
    return plan.continues, False


def _stored(entries: tuple[TimelineEntry, ...], now: int) -> list[dict[str, Any]]:
    return [{"at": now, **e.stored()} for e in entries]


def _snapshot(assessment: Assessment, findings: Findings, summary: ObservationSummary) -> dict[str, Any]:
    """The incident columns that hold what the latest seeing cycle assessed."""
    return {
        "as_of_ms": dt_to_ms(summary.as_of),
        "severity": assessment.severity.value,
        "title": assessment.title,
        "assessment": assessment.model_dump(mode="json"),
        "findings": findings.model_dump(mode="json"),
        "observation": summary.model_dump(mode="json", exclude={"series"}),
    }


def _open(
    conn: Connection,
    opening: IncidentOpening,
    assessment: Assessment,
    findings: Findings,
    summary: ObservationSummary,
    actor: str,
    now: int,
) -> str:
    as_of = dt_to_ms(summary.as_of)
    snapshot = _snapshot(assessment, findings, summary)
    row: dict[str, Any] = {
        "created_ms": now,
        "updated_ms": now,
        "as_of_ms": as_of,
        "window_minutes": summary.window_minutes,
        "status": IncidentStatus.open.value,
        "severity": snapshot["severity"],
        "category": assessment.root_cause.category.value,
        "title": snapshot["title"],
        "assessment": snapshot["assessment"],
        "findings": snapshot["findings"],
        "observation": snapshot["observation"],
        "timeline": _stored(opening.timeline, now),
    }
    incident_id = incidents_repo.insert_incident(conn, row)
    incidents_repo.insert_tracking(
        conn,
        {
            "incident_id": incident_id,
            "status": IncidentStatus.open.value,
            "categories": list(opening.scope.categories),
            "stages": list(opening.scope.stages),
            "merchants": list(opening.scope.merchants),
            "first_seen_ms": as_of,
            "last_seen_ms": as_of,
            "cycles": 1,
            "quiet_cycles": 0,
            "currency": opening.currency,
            "lost_revenue_per_hour": opening.lost_revenue_per_hour,
            "lost_orders_per_hour": opening.lost_orders_per_hour,
            "executed": {},
            **_loss_values(opening.loss),
            "story": opening.story,
        },
    )
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
    return incident_id


def _write_step(
    conn: Connection,
    step: IncidentStep,
    assessment: Assessment | None,
    findings: Findings,
    summary: ObservationSummary,
    actor: str,
    now: int,
) -> None:
    for outcome in step.outcomes:
        _write_outcome(conn, step.incident_id, outcome, actor)
    if step.resolves:
        audit.record(
            conn,
            actor=actor,
            action="incident.resolve",
            target_type="incident",
            target_id=step.incident_id,
            before={"status": step.previous_status.value},
            after={
                "status": "resolved",
                "quiet_cycles": step.move.quiet_cycles,
                "outcome": step.tracking.outcome.value if step.tracking.outcome else None,
            },
        )
    incidents_repo.update_tracking(conn, step.incident_id, _tracking_values(step.tracking))
    incident_values: dict[str, Any] = {"updated_ms": now, "status": step.move.status.value}
    if step.seen and assessment is not None:
        incident_values.update(_snapshot(assessment, findings, summary))
    if step.title is not None:
        incident_values["title"] = step.title
    if step.tracking.severity is not None:
        incident_values["severity"] = step.tracking.severity
    incidents_repo.append_timeline(conn, step.incident_id, _stored(step.timeline, now), incident_values)


def _tracking_values(change: TrackingChange) -> dict[str, Any]:
    """The tracking columns to set: every field the plan set."""
    values: dict[str, Any] = {
        "quiet_cycles": change.quiet_cycles,
        "status": change.status.value,
        "executed": {action_id: dt_to_ms(at) for action_id, at in change.executed.items()},
        "recovering_since_ms": dt_to_ms(change.recovering_since) if change.recovering_since else None,
        **_loss_values(change.loss),
    }
    if change.story is not None:
        values["story"] = change.story
    if change.mitigating_since is not None:
        values["mitigating_since_ms"] = dt_to_ms(change.mitigating_since)
    if change.scope is not None:
        values.update(
            categories=list(change.scope.categories),
            stages=list(change.scope.stages),
            merchants=list(change.scope.merchants),
        )
    if change.last_seen is not None:
        values["last_seen_ms"] = dt_to_ms(change.last_seen)
    if change.cycles is not None:
        values["cycles"] = change.cycles
    if change.lost_revenue_per_hour is not None:
        values["lost_revenue_per_hour"] = change.lost_revenue_per_hour
    if change.lost_orders_per_hour is not None:
        values["lost_orders_per_hour"] = change.lost_orders_per_hour
    if change.outcome is not None:
        values["outcome"] = change.outcome.value
    if change.resolved_at is not None:
        values["resolved_ms"] = dt_to_ms(change.resolved_at)
    return values


def _loss_values(loss: LossSoFar | None) -> dict[str, Any]:
    """The tracking columns of an incident's own onset, peak, loss so far and current rate."""
    if loss is None:
        return {}
    return {
        "onset_ms": dt_to_ms(loss.onset) if loss.onset else None,
        "lost_orders_so_far": loss.lost_orders,
        "lost_revenue_so_far": loss.lost_revenue,
        "counted_until_ms": dt_to_ms(loss.counted_until),
        "peak_lost_orders_per_hour": loss.peak_lost_orders_per_hour,
        "peak_lost_revenue_per_hour": loss.peak_lost_revenue_per_hour,
        "current_lost_orders_per_hour": (
            loss.current.lost_orders_per_hour if loss.current and loss.current.measured else None
        ),
        "current_lost_revenue_per_hour": (
            loss.current.lost_revenue_per_hour if loss.current and loss.current.measured else None
        ),
    }


def _write_outcome(conn: Connection, incident_id: str, outcome: JudgedOutcome, actor: str) -> None:
    incidents_repo.save_verdict(
        conn,
        {
            "action_id": outcome.action_id,
            "incident_id": incident_id,
            "key": outcome.key,
            "executed_ms": dt_to_ms(outcome.executed_at),
            "judged_ms": dt_to_ms(outcome.judged_at),
            "verdict": outcome.verdict.value,
            "before_per_hour": outcome.before_per_hour,
            "after_per_hour": outcome.after_per_hour,
            "detail": outcome.detail,
        },
    )
    audit.record(
        conn,
        actor=actor,
        action="action.outcome.revised" if outcome.revised else "action.outcome",
        target_type="action",
        target_id=outcome.action_id,
        after={"incident_id": incident_id, "verdict": outcome.verdict.value, "detail": outcome.detail},
    )
