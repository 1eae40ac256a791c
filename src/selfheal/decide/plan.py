"""The incident plan: what one cycle does to incidents, from the assessment and the open incidents observed.

The assessment opens a new incident unless it continues an open one (`lifecycle.match`). Every open incident
then takes one step: seen (its scope merges, its loss per hour updates while open) or quiet; its status moves
(`lifecycle.step`); executed actions whose after-period is long enough get a verdict (`lifecycle.verdict` on
`impact.loss_rate_since`); the best verdict is the incident's outcome. Pure: the act stage writes the plan.
"""

from __future__ import annotations

from datetime import datetime

from selfheal.decide.impact import loss_rate_since
from selfheal.decide.lifecycle import (
    TrackedIncident,
    incident_outcome,
    match,
    merge_scope,
    ready_to_judge,
    scope_of,
    step,
    verdict,
)
from selfheal.decide.model import Assessment
from selfheal.decide.plan_model import (
    CostOfWaiting,
    DecisionDigest,
    IncidentMove,
    IncidentOpening,
    IncidentPlan,
    IncidentStatus,
    IncidentStep,
    JudgedOutcome,
    ObservedCounts,
    Scope,
    TimelineEntry,
    TimelineEvent,
    TrackingChange,
    Verdict,
)
from selfheal.observe.model import Observation, OpenIncident
from selfheal.reason.model import Findings
from selfheal.settings import Settings


def plan_incidents(
    obs: Observation, assessment: Assessment | None, findings: Findings, settings: Settings
) -> IncidentPlan:
    """Open or continue the assessment's incident and step every open incident of the observation."""
    tracked = [_tracked(o) for o in obs.open_incidents]
    target = match(assessment, tracked) if assessment is not None else None
    opening = _opening(obs, assessment, findings) if assessment is not None and target is None else None
    steps = tuple(
        _step(
            obs,
            incident,
            inc,
            assessment if target is not None and inc.incident_id == target.incident_id else None,
            findings,
            settings,
        )
        for incident, inc in zip(obs.open_incidents, tracked, strict=True)
    )
    return IncidentPlan(
        as_of=obs.as_of,
        opening=opening,
        continues=target.incident_id if target is not None else None,
        steps=steps,
    )


def _tracked(incident: OpenIncident) -> TrackedIncident:
    return TrackedIncident(
        incident_id=incident.incident_id,
        status=IncidentStatus(incident.status),
        scope=Scope(categories=incident.categories, stages=incident.stages, merchants=incident.merchants),
        quiet_cycles=incident.quiet_cycles,
    )


def observed_counts(findings: Findings, assessment: Assessment | None) -> ObservedCounts:
    """The cycle's findings in numbers, with the money of the assessment's risk report when there is one."""
    counts = ObservedCounts(
        anomalies=len(findings.anomalies),
        soft_failures=sum(g.missing_orders for g in findings.soft_failures),
        themes=len(findings.themes),
    )
    if assessment is None or assessment.risk_report is None:
        return counts
    risk = assessment.risk_report
    return counts.model_copy(
        update={
            "lost_orders": risk.lost_orders.value,
            "lost_revenue": risk.lost_revenue.value,
            "lost_revenue_per_hour": risk.lost_revenue_per_hour.value,
            "currency": risk.currency,
        }
    )


def _digest(assessment: Assessment) -> DecisionDigest:
    return DecisionDigest(
        category=assessment.root_cause.category.value,
        confidence=assessment.root_cause.confidence,
        concurrent=tuple(c.category.value for c in assessment.concurrent_causes),
        severity=assessment.severity.value,
        stages=assessment.blast_radius.stages,
    )


def _assessed_entry(
    as_of: datetime, event: TimelineEvent, assessment: Assessment, findings: Findings
) -> TimelineEntry:
    """An `opened` or `updated` entry: what was observed, what was decided, which actions were proposed."""
    return TimelineEntry(
        as_of=as_of,
        event=event,
        observations=observed_counts(findings, assessment),
        decision=_digest(assessment),
        actions=tuple(a.key for a in assessment.actions),
    )


def _opening(obs: Observation, assessment: Assessment, findings: Findings) -> IncidentOpening:
    risk = assessment.risk_report
    return IncidentOpening(
        scope=scope_of(assessment),
        currency=risk.currency if risk else "USD",
        lost_revenue_per_hour=risk.lost_revenue_per_hour.value if risk else 0.0,
        lost_orders_per_hour=risk.lost_orders_per_hour.value if risk else 0.0,
        timeline=(_assessed_entry(obs.as_of, TimelineEvent.opened, assessment, findings),),
    )


def _step(
    obs: Observation,
    incident: OpenIncident,
    inc: TrackedIncident,
    seen_by: Assessment | None,
    findings: Findings,
    settings: Settings,
) -> IncidentStep:
    """One open incident's step; `seen_by` is the assessment when this cycle continues the incident."""
    executed = dict(incident.seen_executed)
    for action in incident.executed:
        executed.setdefault(action.action_id, obs.as_of)
    move = step(inc, seen_by is not None, bool(executed), settings.incident_resolve_cycles)
    tracking = TrackingChange(status=move.status, quiet_cycles=move.quiet_cycles, executed=executed)
    entries: list[TimelineEntry] = []
    if "mitigating" in move.events:
        tracking = tracking.model_copy(update={"mitigating_since": obs.as_of})
        entries.append(TimelineEntry(as_of=obs.as_of, event=TimelineEvent.mitigating))
    if seen_by is not None:
        tracking = _seen_tracking(obs, incident, inc, seen_by, move, tracking)
        entries.append(_updated_entry(obs.as_of, incident, seen_by, findings))
    else:
        entries.append(_quiet_entry(obs.as_of, move, findings))
    outcomes: tuple[JudgedOutcome, ...] = ()
    if executed:
        outcomes = _judge(obs, incident, tracking, settings)
        entries += [_outcome_entry(obs.as_of, o) for o in outcomes]
        verdicts = [Verdict(j.verdict) for j in incident.judged] + [o.verdict for o in outcomes]
        best = incident_outcome(verdicts)
        if best is not None:
            tracking = tracking.model_copy(update={"outcome": best})
    if move.status == IncidentStatus.resolved:
        tracking = tracking.model_copy(update={"resolved_at": obs.as_of})
        entries.append(TimelineEntry(as_of=obs.as_of, event=TimelineEvent.resolved))
    return IncidentStep(
        incident_id=incident.incident_id,
        seen=seen_by is not None,
        previous_status=inc.status,
        move=move,
        tracking=tracking,
        timeline=tuple(entries),
        outcomes=outcomes,
    )


def _seen_tracking(
    obs: Observation,
    incident: OpenIncident,
    inc: TrackedIncident,
    assessment: Assessment,
    move: IncidentMove,
    tracking: TrackingChange,
) -> TrackingChange:
    """A seen incident's scope grows by the assessment's; its loss per hour follows the assessment's, except
    lost orders per hour, which freeze once the incident is mitigating (the outcomes' "before")."""
    update: dict[str, object] = {
        "scope": merge_scope(inc.scope, scope_of(assessment)),
        "last_seen": obs.as_of,
        "cycles": incident.cycles + 1,
    }
    risk = assessment.risk_report
    if risk is not None:
        update["lost_revenue_per_hour"] = risk.lost_revenue_per_hour.value
        if move.status == IncidentStatus.open:
            update["lost_orders_per_hour"] = risk.lost_orders_per_hour.value
    return tracking.model_copy(update=update)


def _updated_entry(
    as_of: datetime, incident: OpenIncident, assessment: Assessment, findings: Findings
) -> TimelineEntry:
    entry = _assessed_entry(as_of, TimelineEvent.updated, assessment, findings)
    risk = assessment.risk_report
    if not incident.waiting or risk is None:
        return entry
    waiting = CostOfWaiting(
        actions_waiting=tuple(w.key for w in incident.waiting),
        lost_revenue_per_hour=risk.lost_revenue_per_hour.value,
        currency=risk.currency,
    )
    return entry.model_copy(update={"cost_of_waiting": waiting})


def _quiet_entry(as_of: datetime, move: IncidentMove, findings: Findings) -> TimelineEntry:
    return TimelineEntry(
        as_of=as_of,
        event=TimelineEvent.quiet,
        quiet_cycles=move.quiet_cycles,
        observations=observed_counts(findings, None),
    )


def _outcome_entry(as_of: datetime, outcome: JudgedOutcome) -> TimelineEntry:
    return TimelineEntry(
        as_of=as_of,
        event=TimelineEvent.outcome,
        action_id=outcome.action_id,
        key=outcome.key,
        verdict=outcome.verdict,
        detail=outcome.detail,
    )


def _judge(
    obs: Observation, incident: OpenIncident, tracking: TrackingChange, settings: Settings
) -> tuple[JudgedOutcome, ...]:
    """Verdicts on the executed actions not judged yet whose after-period is long enough: the loss rate at the
    incident's merchants since the action was first seen executed, against the rate before it."""
    judged = {j.action_id for j in incident.judged}
    merchants = set(tracking.scope.merchants if tracking.scope is not None else incident.merchants)
    before = (
        tracking.lost_orders_per_hour
        if tracking.lost_orders_per_hour is not None
        else incident.lost_orders_per_hour
    )
    outcomes: list[JudgedOutcome] = []
    for action in incident.executed:
        since = tracking.executed.get(action.action_id)
        if action.action_id in judged or since is None:
            continue
        if not ready_to_judge(since, obs.as_of, settings.outcome_min_minutes):
            continue
        after = loss_rate_since(obs, merchants, since)
        detail = (
            f"Lost orders per hour at the {len(merchants)} merchants at risk: {before:.1f} before, "
            f"{after.lost_orders_per_hour:.1f} in the {after.minutes} minutes after ({after.actual_orders} orders "
            f"vs {after.expected_orders:.0f} expected)."
        )
        outcomes.append(
            JudgedOutcome(
                action_id=action.action_id,
                key=action.key,
                executed_at=since,
                judged_at=obs.as_of,
                verdict=verdict(before, after.lost_orders_per_hour),
                before_per_hour=before,
                after_per_hour=after.lost_orders_per_hour,
                detail=detail,
            )
        )
    return tuple(outcomes)
