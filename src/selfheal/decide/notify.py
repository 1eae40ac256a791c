"""Which notifications a cycle's incident plan calls for, and which configured routes take each.

- opened: the plan opens an incident;
- escalated: a seen incident's new assessment is more severe than the stored one;
- waiting: a seen incident has actions waiting for approval (the timeline's cost of waiting: the loss per
  hour that goes on while they wait); one notice per set of waiting actions;
- resolved: an incident resolves.

A route takes a notice when the event is among its `events` (empty: all), the severity reaches its
`min_severity` and, if it lists `stages`, the incident touches one of them. Pure: the act stage stores the
notices in the outbox, the delivery worker sends them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from selfheal.decide.model import Assessment
from selfheal.decide.plan_model import (
    IncidentPlan,
    IncidentStep,
    Notice,
    NoticeEvent,
    NoticeMerchant,
)
from selfheal.observe.model import Observation, OpenIncident
from selfheal.reason.model import SEVERITY_RANK, Severity
from selfheal.settings import NotifyRoute, Settings

TOP_MERCHANTS = 5


def plan_notices(
    obs: Observation, assessment: Assessment | None, plan: IncidentPlan, settings: Settings
) -> tuple[Notice, ...]:
    """The notices of one cycle's plan, each with the routes that take it."""
    notices: list[Notice] = []
    if plan.opening is not None and assessment is not None:
        notices.append(_assessed(NoticeEvent.opened, None, "opened", obs, assessment))
    incidents = {i.incident_id: i for i in obs.open_incidents}
    for step in plan.steps:
        incident = incidents.get(step.incident_id)
        if incident is not None:
            notices += _step_notices(obs, incident, step, assessment)
    return tuple(n.model_copy(update={"receivers": routes_for(n, settings.notify_routes)}) for n in notices)


def routes_for(notice: Notice, routes: Sequence[NotifyRoute]) -> tuple[str, ...]:
    """Names of the routes that take `notice`."""
    rank = SEVERITY_RANK[Severity(notice.severity)]
    return tuple(
        r.name
        for r in routes
        if (not r.events or notice.event.value in r.events)
        and rank >= SEVERITY_RANK[Severity(r.min_severity)]
        and (not r.stages or set(r.stages) & set(notice.stages))
    )


def _step_notices(
    obs: Observation, incident: OpenIncident, step: IncidentStep, assessment: Assessment | None
) -> list[Notice]:
    notices: list[Notice] = []
    seen_by = assessment if step.seen else None
    if seen_by is not None and _rank(seen_by.severity.value) > _rank(incident.severity):
        escalated = _assessed(
            NoticeEvent.escalated, incident.incident_id, f"escalated:{seen_by.severity.value}", obs, seen_by
        )
        notices.append(escalated.model_copy(update={"previous_severity": incident.severity}))
    waiting = next((e.cost_of_waiting for e in step.timeline if e.cost_of_waiting is not None), None)
    if seen_by is not None and waiting is not None and incident.waiting:
        ids = ",".join(sorted(w.action_id for w in incident.waiting))
        key = "waiting:" + hashlib.sha256(ids.encode()).hexdigest()[:16]
        notice = _assessed(NoticeEvent.waiting, incident.incident_id, key, obs, seen_by)
        notices.append(notice.model_copy(update={"cost_of_waiting": waiting}))
    if step.resolves:
        notices.append(
            Notice(
                event=NoticeEvent.resolved,
                incident_id=incident.incident_id,
                key="resolved",
                as_of=obs.as_of,
                title=incident.title,
                severity=incident.severity or Severity.low.value,
                category=incident.categories[0] if incident.categories else None,
                stages=incident.stages,
                merchants_total=len(incident.merchants),
                currency=incident.currency,
            )
        )
    return notices


def _rank(severity: str) -> int:
    """A stored severity's rank; -1 for none (an incident stored without one)."""
    return SEVERITY_RANK[Severity(severity)] if severity in Severity.__members__.values() else -1


def _assessed(
    event: NoticeEvent, incident_id: str | None, key: str, obs: Observation, assessment: Assessment
) -> Notice:
    """A notice carrying the assessment's headline, money and top merchants."""
    risk = assessment.risk_report
    impacts = sorted(assessment.blast_radius.merchants, key=lambda m: (-m.lost_revenue.value, m.merchant_id))
    return Notice(
        event=event,
        incident_id=incident_id,
        key=key,
        as_of=obs.as_of,
        title=assessment.title,
        severity=assessment.severity.value,
        category=assessment.root_cause.category.value,
        stages=assessment.blast_radius.stages,
        merchants=tuple(
            NoticeMerchant(
                merchant_id=m.merchant_id, stage=m.migration_stage, lost_revenue=m.lost_revenue.value
            )
            for m in impacts[:TOP_MERCHANTS]
        ),
        merchants_total=len(impacts),
        currency=risk.currency if risk is not None else "USD",
        lost_revenue=risk.lost_revenue if risk is not None else None,
        lost_revenue_per_hour=risk.lost_revenue_per_hour if risk is not None else None,
        window_minutes=risk.window_minutes if risk is not None else obs.window_minutes,
    )
