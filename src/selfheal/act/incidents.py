"""The incident side of the act stage: open or update incidents, move their status, judge action outcomes.

The rules live in `selfheal.decide.lifecycle` (pure); this module applies them inside the cycle's
transaction and writes the timeline, the tracking row and the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from selfheal import audit
from selfheal.decide.impact import loss_rate_since
from selfheal.decide.lifecycle import (
    IncidentStatus,
    Scope,
    TrackedIncident,
    Verdict,
    incident_outcome,
    match,
    merge_scope,
    ready_to_judge,
    scope_of,
    step,
    verdict,
)
from selfheal.decide.model import Assessment
from selfheal.observe.model import Observation
from selfheal.observe.summary import ObservationSummary
from selfheal.reason.model import Findings
from selfheal.records import dt_to_ms, ms_to_dt, utcnow
from selfheal.settings import Settings
from selfheal.store import incidents_repo


def _tracked(row: dict[str, Any]) -> TrackedIncident:
    return TrackedIncident(
        incident_id=row["incident_id"],
        status=IncidentStatus(row["status"]),
        scope=Scope(
            categories=tuple(row["categories"]),
            stages=tuple(row["stages"]),
            merchants=tuple(row["merchants"]),
        ),
        quiet_cycles=row["quiet_cycles"],
    )


def _observed(findings: Findings, assessment: Assessment | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "anomalies": len(findings.anomalies),
        "soft_failures": sum(g.missing_orders for g in findings.soft_failures),
        "themes": len(findings.themes),
    }
    if assessment and assessment.risk_report:
        r = assessment.risk_report
        out.update(
            lost_orders=r.lost_orders.value,
            lost_revenue=r.lost_revenue.value,
            lost_revenue_per_hour=r.lost_revenue_per_hour.value,
            currency=r.currency,
        )
    return out


def _decision(assessment: Assessment) -> dict[str, Any]:
    return {
        "category": assessment.root_cause.category.value,
        "confidence": assessment.root_cause.confidence,
        "concurrent": [c.category.value for c in assessment.concurrent_causes],
        "severity": assessment.severity.value,
        "stages": list(assessment.blast_radius.stages),
    }


def _open(
    conn: Connection,
    assessment: Assessment,
    findings: Findings,
    summary: ObservationSummary,
    actor: str,
    now: int,
) -> str:
    as_of = dt_to_ms(summary.as_of)
    row: dict[str, Any] = {
        "created_ms": now,
        "updated_ms": now,
        "as_of_ms": as_of,
        "window_minutes": summary.window_minutes,
        "status": IncidentStatus.open.value,
        "severity": assessment.severity.value,
        "category": assessment.root_cause.category.value,
        "title": assessment.title,
        "assessment": assessment.model_dump(mode="json"),
        "findings": findings.model_dump(mode="json"),
        "observation": summary.model_dump(mode="json", exclude={"series"}),
        "timeline": [
            {
                "at": now,
                "as_of": summary.as_of.isoformat(),
                "event": "opened",
                "observations": _observed(findings, assessment),
                "decision": _decision(assessment),
                "actions": [a.key for a in assessment.actions],
            }
        ],
    }
    incident_id = incidents_repo.insert_incident(conn, row)
    scope = scope_of(assessment)
    risk = assessment.risk_report
    incidents_repo.insert_tracking(
        conn,
        {
            "incident_id": incident_id,
            "status": IncidentStatus.open.value,
            "categories": list(scope.categories),
            "stages": list(scope.stages),
            "merchants": list(scope.merchants),
            "first_seen_ms": as_of,
            "last_seen_ms": as_of,
            "cycles": 1,
            "quiet_cycles": 0,
            "currency": risk.currency if risk else "USD",
            "lost_revenue_per_hour": risk.lost_revenue_per_hour.value if risk else 0.0,
            "lost_orders_per_hour": risk.lost_orders_per_hour.value if risk else 0.0,
            "executed": {},
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


def _judge(
    conn: Connection,
    obs: Observation,
    track: dict[str, Any],
    executed: dict[str, Any],
    settings: Settings,
    actor: str,
    now: int,
) -> list[dict[str, Any]]:
    """Judge executed actions whose after-period is long enough; returns timeline entries."""
    judged = {o["action_id"] for o in incidents_repo.outcomes(conn, track["incident_id"])}
    entries = []
    merchants = set(track["merchants"])
    for action in incidents_repo.executed_actions(conn, track["incident_id"]):
        seen_ms = executed.get(action["id"])
        if action["id"] in judged or seen_ms is None:
            continue
        since = ms_to_dt(seen_ms)
        if not ready_to_judge(since, obs.as_of, settings.outcome_min_minutes):
            continue
        after = loss_rate_since(obs, merchants, since)
        before = float(track["lost_orders_per_hour"])
        result = verdict(before, after.lost_orders_per_hour)
        detail = (
            f"Lost orders per hour at the {len(merchants)} merchants at risk: {before:.1f} before, "
            f"{after.lost_orders_per_hour:.1f} in the {after.minutes} minutes after ({after.actual_orders} orders "
            f"vs {after.expected_orders:.0f} expected)."
        )
        incidents_repo.insert_outcome(
            conn,
            {
                "action_id": action["id"],
                "incident_id": track["incident_id"],
                "key": action["key"],
                "executed_ms": seen_ms,
                "judged_ms": dt_to_ms(obs.as_of),
                "verdict": result.value,
                "before_per_hour": before,
                "after_per_hour": after.lost_orders_per_hour,
                "detail": detail,
            },
        )
        audit.record(
            conn,
            actor=actor,
            action="action.outcome",
            target_type="action",
            target_id=action["id"],
            after={"incident_id": track["incident_id"], "verdict": result.value, "detail": detail},
        )
        entries.append(
            {
                "at": now,
                "as_of": obs.as_of.isoformat(),
                "event": "outcome",
                "action_id": action["id"],
                "key": action["key"],
                "verdict": result.value,
                "detail": detail,
            }
        )
    return entries


def track_incidents(
    conn: Connection,
    *,
    obs: Observation | None,
    assessment: Assessment | None,
    findings: Findings,
    summary: ObservationSummary,
    actor: str,
    settings: Settings,
) -> tuple[str | None, bool]:
    """Open a new incident or update the one this assessment continues; step every unresolved incident.

    Returns (incident id the assessment belongs to, whether it was opened by this cycle).
    """
    now = dt_to_ms(utcnow())
    as_of_ms = dt_to_ms(summary.as_of)
    rows = {r["incident_id"]: r for r in incidents_repo.unresolved_tracking(conn)}
    tracked = [_tracked(r) for r in rows.values()]
    target = match(assessment, tracked) if assessment else None
    created_id: str | None = None
    if assessment is not None and target is None:
        created_id = _open(conn, assessment, findings, summary, actor, now)
    for inc in tracked:
        track = rows[inc.incident_id]
        seen = target is not None and inc.incident_id == target.incident_id
        executed = dict(track.get("executed") or {})
        for action in incidents_repo.executed_actions(conn, inc.incident_id):
            executed.setdefault(action["id"], as_of_ms)
        move = step(inc, seen, bool(executed), settings.incident_resolve_cycles)
        entries: list[dict[str, Any]] = []
        values: dict[str, Any] = {
            "quiet_cycles": move.quiet_cycles,
            "status": move.status.value,
            "executed": executed,
        }
        incident_values: dict[str, Any] = {"updated_ms": now, "status": move.status.value}
        if "mitigating" in move.events:
            values["mitigating_since_ms"] = as_of_ms
            entries.append({"at": now, "as_of": summary.as_of.isoformat(), "event": "mitigating"})
        waiting = incidents_repo.waiting_actions(conn, inc.incident_id)
        if seen and assessment is not None:
            scope = merge_scope(inc.scope, scope_of(assessment))
            risk = assessment.risk_report
            values.update(
                categories=list(scope.categories),
                stages=list(scope.stages),
                merchants=list(scope.merchants),
                last_seen_ms=as_of_ms,
                cycles=int(track["cycles"]) + 1,
            )
            if risk is not None:
                values["lost_revenue_per_hour"] = risk.lost_revenue_per_hour.value
                if move.status == IncidentStatus.open:  # frozen once mitigating: the outcome's "before"
                    values["lost_orders_per_hour"] = risk.lost_orders_per_hour.value
            incident_values.update(
                as_of_ms=as_of_ms,
                severity=assessment.severity.value,
                title=assessment.title,
                assessment=assessment.model_dump(mode="json"),
                findings=findings.model_dump(mode="json"),
                observation=summary.model_dump(mode="json", exclude={"series"}),
            )
            entry: dict[str, Any] = {
                "at": now,
                "as_of": summary.as_of.isoformat(),
                "event": "updated",
                "observations": _observed(findings, assessment),
                "decision": _decision(assessment),
                "actions": [a.key for a in assessment.actions],
            }
            if waiting and risk is not None:
                entry["cost_of_waiting"] = {
                    "actions_waiting": [w["key"] for w in waiting],
                    "lost_revenue_per_hour": risk.lost_revenue_per_hour.value,
                    "currency": risk.currency,
                }
            entries.append(entry)
        else:
            entries.append(
                {
                    "at": now,
                    "as_of": summary.as_of.isoformat(),
                    "event": "quiet",
                    "quiet_cycles": move.quiet_cycles,
                    "observations": _observed(findings, None),
                }
            )
        if obs is not None and executed:
            entries += _judge(conn, obs, {**track, **values}, executed, settings, actor, now)
            verdicts = [Verdict(o["verdict"]) for o in incidents_repo.outcomes(conn, inc.incident_id)]
            best = incident_outcome(verdicts)
            if best is not None:
                values["outcome"] = best.value
        if move.status == IncidentStatus.resolved:
            values["resolved_ms"] = as_of_ms
            entries.append({"at": now, "as_of": summary.as_of.isoformat(), "event": "resolved"})
            audit.record(
                conn,
                actor=actor,
                action="incident.resolve",
                target_type="incident",
                target_id=inc.incident_id,
                before={"status": inc.status.value},
                after={
                    "status": "resolved",
                    "quiet_cycles": move.quiet_cycles,
                    "outcome": values.get("outcome"),
                },
            )
        incidents_repo.update_tracking(conn, inc.incident_id, values)
        incidents_repo.append_timeline(conn, inc.incident_id, entries, incident_values)
    if created_id is not None:
        return created_id, True
    return (target.incident_id if target else None), False


def lifecycle_view(conn: Connection, incident_id: str) -> dict[str, Any]:
    """An incident's lifecycle for people: status, scope, cost of waiting, outcomes and timeline."""
    incident = incidents_repo.get_incident(conn, incident_id)
    track = incidents_repo.get_tracking(conn, incident_id) or {}
    waiting = incidents_repo.waiting_actions(conn, incident_id)
    per_hour = float(track.get("lost_revenue_per_hour") or 0.0)
    return {
        "incident_id": incident_id,
        "status": incident["status"],
        "categories": track.get("categories", [incident["category"]]),
        "stages": track.get("stages", []),
        "merchants": track.get("merchants", []),
        "cycles": track.get("cycles", 0),
        "quiet_cycles": track.get("quiet_cycles", 0),
        "first_seen": _iso(track.get("first_seen_ms")),
        "last_seen": _iso(track.get("last_seen_ms")),
        "mitigating_since": _iso(track.get("mitigating_since_ms")),
        "resolved_at": _iso(track.get("resolved_ms")),
        "outcome": track.get("outcome"),
        "cost_of_waiting": {
            "actions_waiting": [
                {"id": w["id"], "key": w["key"], "title": w["title"], "risk": w["risk"]} for w in waiting
            ],
            "lost_revenue_per_hour": per_hour if waiting else 0.0,
            "currency": track.get("currency", "USD"),
        },
        "outcomes": incidents_repo.outcomes(conn, incident_id),
        "timeline": incident["timeline"],
    }


def _iso(ms: int | None) -> str | None:
    return None if ms is None else _dt(ms).isoformat()


def _dt(ms: int) -> datetime:
    return ms_to_dt(ms)
