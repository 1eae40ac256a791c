"""The incident plan: what one cycle does to incidents, from the assessment and the open incidents observed.

The assessment opens a new incident unless it continues an open one (`lifecycle.match`) or is the leftover
window loss of an incident resolved within the window whose current rate is normal (`aftermath_of`). Every
open incident then takes one step: its current rate is measured (`impact.loss_between` over the last
`incident_recovery_minutes`, `lifecycle.current_rate`); seen (its scope merges, its loss per hour updates while
open) or quiet; its status moves (`lifecycle.step`: recovering on a normal cycle, resolved after
`incident_resolve_cycles` of them); its own onset, peak and loss so far (the new minutes since the last
cycle) are carried; its severity escalates only on the current rate (`lifecycle.held_severity`); executed
actions whose after-period is long enough get a verdict (`lifecycle.verdict` on `impact.loss_rate_since`);
the best verdict is the incident's outcome. `plan_decision` also rewrites the continued incident's
assessment to match (held severity, loss so far, past tense once recovering). Pure: the act stage writes the
plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from selfheal.decide.assessment import LOSS_SO_FAR_LABEL
from selfheal.decide.impact import loss_between, loss_rate_since
from selfheal.decide.lifecycle import (
    MIN_EXPECTED_ORDERS,
    TrackedIncident,
    current_rate,
    held_severity,
    incident_outcome,
    match,
    merge_scope,
    overlaps,
    ready_to_judge,
    scope_of,
    step,
    story,
    verdict,
    within_noise,
)
from selfheal.decide.model import Assessment
from selfheal.decide.plan_model import (
    CostOfWaiting,
    CurrentRate,
    Decision,
    DecisionDigest,
    IncidentMove,
    IncidentOpening,
    IncidentPlan,
    IncidentStatus,
    IncidentStep,
    JudgedOutcome,
    LossSoFar,
    ObservedCounts,
    Scope,
    TimelineEntry,
    TimelineEvent,
    TrackingChange,
    Verdict,
)
from selfheal.observe.model import Observation, OpenIncident
from selfheal.reason.model import Findings, Severity
from selfheal.settings import Settings


def plan_decision(
    obs: Observation, assessment: Assessment | None, findings: Findings, settings: Settings
) -> Decision:
    """The incident plan, and the assessment as the incident it opens or continues shows it."""
    plan = plan_incidents(obs, assessment, findings, settings)
    return Decision(assessment=shown_assessment(assessment, plan), plan=plan)


def shown_assessment(assessment: Assessment | None, plan: IncidentPlan) -> Assessment | None:
    """The continued incident's assessment with the incident's held severity and loss so far; once the
    incident is recovering, in the past tense, without the per-day projection and without new actions."""
    if assessment is None or plan.continues is None:
        return assessment
    found = next((s for s in plan.steps if s.incident_id == plan.continues), None)
    if found is None or found.tracking.loss is None:
        return assessment
    track = found.tracking
    loss = track.loss
    assert loss is not None
    head = assessment.title.rsplit(": ~", 1)[0]
    orders = f"~{max(loss.lost_orders, 0):,.0f} orders lost so far"
    update: dict[str, object] = {}
    if track.severity is not None:
        update["severity"] = Severity(track.severity)
    if found.move.status in (IncidentStatus.recovering, IncidentStatus.resolved):
        cause = assessment.root_cause
        update["title"] = f"{head}: recovering, {orders}"
        update["summary"] = (
            f"{track.story} Cause: {cause.hypothesis[0].lower() + cause.hypothesis[1:]} ({cause.category.value}, "
            f"confidence {cause.confidence:.0%})."
        )
        update["actions"] = ()
        if assessment.risk_report is not None:
            update["risk_report"] = assessment.risk_report.model_copy(update={"text": track.story or ""})
    else:
        update["title"] = f"{head}: {orders}"
        # The assessment's own money sentence gives way to the incident's story (one figure per concept);
        # idempotent: a re-plan under the lock rewrites again.
        summary = assessment.summary.split(f" {LOSS_SO_FAR_LABEL} ")[0].split(" Mitigating since ")[0]
        update["summary"] = f"{summary} {track.story}"
    return assessment.model_copy(update=update)


def plan_incidents(
    obs: Observation, assessment: Assessment | None, findings: Findings, settings: Settings
) -> IncidentPlan:
    """Open or continue the assessment's incident and step every open incident of the observation."""
    tracked = [_tracked(o) for o in obs.open_incidents]
    target = match(assessment, tracked) if assessment is not None else None
    aftermath = _aftermath(obs, assessment, settings) if assessment is not None and target is None else None
    opening = (
        _opening(obs, assessment, findings, settings)
        if assessment is not None and target is None and aftermath is None
        else None
    )
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
        aftermath_of=aftermath,
    )


MIN_MINUTES_AFTER_ACTION = 3
"""The shortest span after the latest executed action that the current rate is judged on (see `_recent_rate`)."""


def _recent_rate(
    obs: Observation,
    merchants: set[str],
    settings: Settings,
    peak_per_hour: float | None,
    acted_at: datetime | None = None,
) -> CurrentRate:
    """The loss at `merchants` over the last `incident_recovery_minutes`, judged. When an action finished
    inside that span, at least `MIN_MINUTES_AFTER_ACTION` whole minutes ago, only the whole minutes after it
    count: the rate after a fix is the question, and minutes of the fault before it (the minute the fix
    landed in is still partly faulty) would hold recovery back a cycle, wherever the fix falls between
    cycles."""
    start = obs.as_of - timedelta(minutes=settings.incident_recovery_minutes)
    if acted_at is not None:
        after = _next_whole_minute(acted_at)
        if start < after <= obs.as_of - timedelta(minutes=MIN_MINUTES_AFTER_ACTION):
            start = after
    span = loss_between(obs, merchants, start, obs.as_of)
    return current_rate(
        span.expected_orders, span.actual_orders, span.minutes, span.lost_revenue, peak_per_hour
    )


def _next_whole_minute(at: datetime) -> datetime:
    """`at` itself on a whole minute, else the start of the next minute."""
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


def _aftermath(obs: Observation, assessment: Assessment, settings: Settings) -> str | None:
    """The recently resolved incident whose leftover loss the assessment shows, when its rate is normal now."""
    scope = scope_of(assessment)
    for resolved in obs.recently_resolved:
        other = Scope(categories=resolved.categories, stages=resolved.stages, merchants=resolved.merchants)
        if not overlaps(scope, other):
            continue
        rate = _recent_rate(obs, set(scope.merchants) | set(resolved.merchants), settings, None)
        if rate.measured and rate.normal:
            return resolved.incident_id
    return None


def _earliest_onset(assessment: Assessment | None, known: datetime | None) -> datetime | None:
    """The earliest of a known onset and the assessment's causes' and risk report's onsets."""
    if assessment is None:
        return known
    onsets = [c.onset for c in (assessment.root_cause, *assessment.concurrent_causes)]
    if assessment.risk_report is not None:
        onsets.append(assessment.risk_report.onset)
    return min([t for t in (*onsets, known) if t is not None], default=None)


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


def _opening(
    obs: Observation, assessment: Assessment, findings: Findings, settings: Settings
) -> IncidentOpening:
    risk = assessment.risk_report
    scope = scope_of(assessment)
    rate = _recent_rate(obs, set(scope.merchants), settings, None)
    per_hour = risk.lost_orders_per_hour.value if risk else 0.0
    revenue_per_hour = risk.lost_revenue_per_hour.value if risk else 0.0
    loss = LossSoFar(
        onset=_earliest_onset(assessment, None),
        lost_orders=risk.lost_orders.value if risk else 0.0,
        lost_revenue=risk.lost_revenue.value if risk else 0.0,
        counted_until=obs.as_of,
        peak_lost_orders_per_hour=max(per_hour, rate.lost_orders_per_hour if rate.measured else 0.0),
        peak_lost_revenue_per_hour=max(
            revenue_per_hour, rate.lost_revenue_per_hour if rate.measured else 0.0
        ),
        current=rate,
    )
    currency = risk.currency if risk else "USD"
    return IncidentOpening(
        scope=scope,
        currency=currency,
        lost_revenue_per_hour=revenue_per_hour,
        lost_orders_per_hour=per_hour,
        timeline=(_assessed_entry(obs.as_of, TimelineEvent.opened, assessment, findings),),
        loss=loss,
        story=story(IncidentStatus.open, loss, currency),
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
    scope = merge_scope(inc.scope, scope_of(seen_by)) if seen_by is not None else inc.scope
    merchants = set(scope.merchants)
    fixed_at = max((a.finished_at for a in incident.executed if a.finished_at <= obs.as_of), default=None)
    rate = _recent_rate(obs, merchants, settings, incident.peak_lost_orders_per_hour, fixed_at)
    move = step(inc, seen_by is not None, bool(executed), settings.incident_resolve_cycles, rate)
    recovering_since = _recovering_since(incident, move, obs.as_of)
    tracking = TrackingChange(
        status=move.status,
        quiet_cycles=move.quiet_cycles,
        executed=executed,
        recovering_since=recovering_since,
    )
    entries: list[TimelineEntry] = []
    first_mitigating = move.status == IncidentStatus.mitigating and incident.mitigating_since is None
    if "mitigating" in move.events or first_mitigating:
        tracking = tracking.model_copy(update={"mitigating_since": obs.as_of})
        entries.append(TimelineEntry(as_of=obs.as_of, event=TimelineEvent.mitigating))
    if seen_by is not None:
        tracking = _seen_tracking(obs, incident, inc, seen_by, move, tracking)
        tracking = tracking.model_copy(
            update={
                "severity": held_severity(
                    Severity(incident.severity) if incident.severity else None,
                    seen_by.severity,
                    move.status,
                    rate,
                ).value
            }
        )
        entries.append(_updated_entry(obs.as_of, incident, seen_by, findings))
    else:
        entries.append(_quiet_entry(obs.as_of, move, findings))
    for event in ("recovering", "relapsed"):
        if event in move.events:
            entries.append(TimelineEntry(as_of=obs.as_of, event=TimelineEvent(event), current=rate))
    if move.status in (IncidentStatus.recovering, IncidentStatus.resolved):
        # Nothing is being lost any more: waiting for approvals costs only what the current rate shows.
        waiting_cost = max(rate.lost_revenue_per_hour, 0.0) if rate.measured and not rate.normal else 0.0
        tracking = tracking.model_copy(update={"lost_revenue_per_hour": waiting_cost})
    loss = _loss_so_far(obs, incident, merchants, seen_by, rate)
    tracking = tracking.model_copy(update={"loss": loss})
    outcomes: tuple[JudgedOutcome, ...] = ()
    if executed:
        outcomes = _outcomes(obs, incident, tracking, move, settings)
        entries += [_outcome_entry(obs.as_of, o) for o in outcomes]
        latest = {j.action_id: Verdict(j.verdict) for j in incident.judged}
        latest.update({o.action_id: o.verdict for o in outcomes})
        best = incident_outcome(list(latest.values()))
        if best is not None:
            tracking = tracking.model_copy(update={"outcome": best})
    if move.status == IncidentStatus.resolved:
        tracking = tracking.model_copy(update={"resolved_at": obs.as_of})
        entries.append(TimelineEntry(as_of=obs.as_of, event=TimelineEvent.resolved))
    mitigating_since = tracking.mitigating_since or incident.mitigating_since
    tracking = tracking.model_copy(
        update={
            "story": story(
                move.status,
                loss,
                incident.currency,
                recovering_since=recovering_since,
                mitigating_since=mitigating_since,
                resolved_at=tracking.resolved_at,
            )
        }
    )
    return IncidentStep(
        incident_id=incident.incident_id,
        seen=seen_by is not None,
        previous_status=inc.status,
        move=move,
        tracking=tracking,
        timeline=tuple(entries),
        outcomes=outcomes,
        title=resolved_title(incident.title, loss) if move.status == IncidentStatus.resolved else None,
    )


def resolved_title(title: str, loss: LossSoFar | None) -> str | None:
    """A resolved incident's headline: its cause and where, then what it cost in all (not "recovering")."""
    if not title:
        return None
    head = title.rsplit(": ~", 1)[0].split(": recovering, ")[0]
    if loss is None:
        return f"{head}: resolved"
    return f"{head}: resolved, ~{max(loss.lost_orders, 0):,.0f} orders lost"


def _recovering_since(incident: OpenIncident, move: IncidentMove, as_of: datetime) -> datetime | None:
    """When the incident started recovering: kept while it recovers (and when it resolves), cleared when
    the loss returns."""
    if move.status not in (IncidentStatus.recovering, IncidentStatus.resolved):
        return None
    if incident.status == IncidentStatus.recovering.value and incident.recovering_since is not None:
        return incident.recovering_since
    return as_of


def _loss_so_far(
    obs: Observation,
    incident: OpenIncident,
    merchants: set[str],
    seen_by: Assessment | None,
    rate: CurrentRate,
) -> LossSoFar:
    """The incident's own figures after this cycle: the loss in the minutes since the last counted one is
    added (so the loss before a fix is counted once, not again each cycle while the window holds it); the
    onset is the earliest seen; the peak rate the highest current rate measured."""
    counted = incident.counted_until or obs.as_of
    orders = incident.lost_orders_so_far or 0.0
    revenue = incident.lost_revenue_so_far or 0.0
    risk = seen_by.risk_report if seen_by is not None else None
    if incident.lost_orders_so_far is None and risk is not None:
        # An incident stored before loss so far was kept: start from the window's loss.
        orders, revenue = risk.lost_orders.value, risk.lost_revenue.value
    if counted < obs.as_of:
        span = loss_between(obs, merchants, counted, obs.as_of)
        # Minutes without KPI points lost at the measured minutes' rate (missing data, not zero loss).
        orders += span.lost_orders * span.whole_span_share
        revenue += span.lost_revenue * span.whole_span_share
    peak_orders = incident.peak_lost_orders_per_hour or 0.0
    peak_revenue = incident.peak_lost_revenue_per_hour or 0.0
    if rate.measured:
        peak_orders = max(peak_orders, rate.lost_orders_per_hour)
        peak_revenue = max(peak_revenue, rate.lost_revenue_per_hour)
    return LossSoFar(
        onset=_earliest_onset(seen_by, incident.onset),
        lost_orders=round(orders, 2),
        lost_revenue=round(revenue, 2),
        counted_until=max(counted, obs.as_of),
        peak_lost_orders_per_hour=round(peak_orders, 2),
        peak_lost_revenue_per_hour=round(peak_revenue, 2),
        current=rate,
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


def _judge_after_minutes(status: IncidentStatus, settings: Settings) -> int:
    """Minutes after an action an outcome needs: `outcome_min_minutes`; once the incident recovers (its rate
    after the fix is normal: the outcome is on screen when the recovery is), `MIN_MINUTES_AFTER_ACTION`; when it
    resolves (no later cycle will judge), any minute."""
    if status == IncidentStatus.resolved:
        return 1
    if status == IncidentStatus.recovering:
        return min(settings.outcome_min_minutes, MIN_MINUTES_AFTER_ACTION)
    return settings.outcome_min_minutes


def _outcomes(
    obs: Observation, incident: OpenIncident, tracking: TrackingChange, move: IncidentMove, settings: Settings
) -> tuple[JudgedOutcome, ...]:
    """This cycle's verdicts: actions judged for the first time, and earlier verdicts revised on a relapse."""
    outcomes = _judge(obs, incident, tracking, _judge_after_minutes(move.status, settings))
    if "relapsed" in move.events:
        outcomes += _revise_after_relapse(obs, incident, tracking)
    return outcomes


def _revise_after_relapse(
    obs: Observation, incident: OpenIncident, tracking: TrackingChange
) -> tuple[JudgedOutcome, ...]:
    """Verdicts given again when the loss came back: an action judged to have worked (or partly) is judged
    anew on the loss rate since it executed, which now holds the relapse, and is never better than partial:
    a fix after which the loss returned did not close it."""
    merchants = set(tracking.scope.merchants if tracking.scope is not None else incident.merchants)
    revised: list[JudgedOutcome] = []
    for judged in incident.judged:
        was = Verdict(judged.verdict)
        if was == Verdict.no_effect or judged.executed_at is None or judged.before_per_hour is None:
            continue
        after = loss_rate_since(obs, merchants, judged.executed_at)
        now = verdict(judged.before_per_hour, after.lost_orders_per_hour)
        if now == Verdict.worked:
            now = Verdict.partial
        if now == was:
            continue
        revised.append(
            JudgedOutcome(
                action_id=judged.action_id,
                key=judged.key,
                executed_at=judged.executed_at,
                judged_at=obs.as_of,
                verdict=now,
                before_per_hour=judged.before_per_hour,
                after_per_hour=after.lost_orders_per_hour,
                detail=(
                    f"Revised at {obs.as_of:%H:%M} UTC (was {was.value.replace('_', ' ')}): the loss came back. "
                    f"Lost orders per hour at the {len(merchants)} merchants at risk: "
                    f"{judged.before_per_hour:.1f} before, {after.lost_orders_per_hour:.1f} in the "
                    f"{after.minutes} minutes since the action ({after.actual_orders} orders vs "
                    f"{after.expected_orders:.0f} expected)."
                ),
                revised=True,
            )
        )
    return tuple(revised)


def _judge(
    obs: Observation,
    incident: OpenIncident,
    tracking: TrackingChange,
    min_minutes: int,
) -> tuple[JudgedOutcome, ...]:
    """Verdicts on the executed actions not judged yet with at least `min_minutes` after them: the loss rate
    at the incident's merchants since the action was first seen executed, against the rate before it."""
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
        if not ready_to_judge(since, obs.as_of, min_minutes):
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
                verdict=Verdict.worked
                if after.expected_orders >= MIN_EXPECTED_ORDERS
                and within_noise(after.expected_orders, after.actual_orders)
                else verdict(before, after.lost_orders_per_hour),
                before_per_hour=before,
                after_per_hour=after.lost_orders_per_hour,
                detail=detail,
            )
        )
    return tuple(outcomes)
