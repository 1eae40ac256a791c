"""Incidents: the list, one incident whole (with its actions and audit trail), and its lifecycle (status, scope,
cost of waiting for approvals, verdicts on executed actions, timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Connection

from selfheal.act.model import Action
from selfheal.api.deps import Services, require, services
from selfheal.api.pagination import Page, page_params, paginate
from selfheal.api.routers.audit_trail import AuditRecord, audit_view
from selfheal.auth import Principal, Role
from selfheal.records import dt_to_ms
from selfheal.store import actions_repo, audit_repo, incidents_repo
from selfheal.store.incidents_repo import ActionVerdict

router = APIRouter(tags=["incidents"])


class IncidentSummary(BaseModel):
    """An incident's headline."""

    id: str
    created_at: datetime
    updated_at: datetime
    as_of: datetime
    """End of the window of the latest cycle that saw the incident."""
    window_minutes: int
    status: str
    """open, mitigating, recovering or resolved"""
    severity: str
    category: str
    title: str
    onset: datetime | None = None
    """The earliest onset any cycle saw (the incident's own, not the rolling window's)."""
    recovering_since: datetime | None = None
    """When the current loss rate came back within noise of the expectation (None while losing)."""
    resolved_at: datetime | None = None
    currency: str | None = None
    lost_orders_so_far: float | None = None
    """Cumulative since the onset (not the rolling window's sum); floored at zero."""
    lost_revenue_so_far: float | None = None
    peak_lost_orders_per_hour: float | None = None
    """The highest current loss rate measured."""
    peak_lost_revenue_per_hour: float | None = None
    current_lost_orders_per_hour: float | None = None
    """Over the last `incident_recovery_minutes`, as the latest cycle measured it."""
    current_lost_revenue_per_hour: float | None = None
    """The same span's loss in money: the story's "at the current rate" figure."""
    story: str | None = None
    """Where the incident stands, in words: "Recovering since 00:46 UTC; loss so far 44 orders / USD 1,201 ..."."""


class IncidentDetail(IncidentSummary):
    """One incident whole. `assessment`, `findings` and `observation` are what the latest cycle that saw the
    incident stored (an Assessment, Findings and an ObservationSummary as JSON)."""

    assessment: dict[str, Any]
    findings: dict[str, Any]
    observation: dict[str, Any]
    timeline: list[dict[str, Any]]
    """Entries with `at` (epoch ms), `as_of` and `event` (opened, updated, quiet, mitigating, recovering,
    relapsed, outcome, resolved)."""
    actions: list[Action]
    audit: list[AuditRecord]
    """Records about the incident and about its actions, oldest first."""


class WaitingActionView(BaseModel):
    id: str
    key: str
    title: str
    risk: str


class CostOfWaitingView(BaseModel):
    """What waiting for approvals costs: the incident's lost revenue per hour while any action waits."""

    actions_waiting: list[WaitingActionView]
    lost_revenue_per_hour: float
    currency: str


class ActionVerdictView(BaseModel):
    """Whether an executed action brought the incident's KPIs back."""

    action_id: str
    incident_id: str
    key: str
    executed_ms: int
    judged_ms: int
    verdict: str
    """worked, partial or no_effect"""
    before_per_hour: float
    after_per_hour: float
    detail: str


class IncidentLifecycle(BaseModel):
    incident_id: str
    status: str
    categories: list[str]
    stages: list[str]
    merchants: list[str]
    cycles: int
    quiet_cycles: int
    first_seen: str | None
    last_seen: str | None
    mitigating_since: str | None
    recovering_since: str | None
    resolved_at: str | None
    outcome: str | None
    onset: str | None
    """The earliest onset any cycle saw."""
    currency: str
    lost_orders_so_far: float | None
    """Cumulative since the onset (not the rolling window's sum); floored at zero."""
    lost_revenue_so_far: float | None
    peak_lost_orders_per_hour: float | None
    peak_lost_revenue_per_hour: float | None
    current_lost_orders_per_hour: float | None
    current_lost_revenue_per_hour: float | None
    story: str | None
    cost_of_waiting: CostOfWaitingView
    outcomes: list[ActionVerdictView]
    timeline: list[dict[str, Any]]


@router.get("/incidents")
def list_incidents(
    request: Request,
    response: Response,
    status: str | None = Query(None, description="open, mitigating, recovering or resolved"),
    page: Page = Depends(page_params(50, 500)),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[IncidentSummary]:
    """Incidents, newest first. Paginated: `X-Total-Count`, and `X-Next-Cursor` / `Link: rel="next"`."""
    with svc.store.read() as conn:
        rows = incidents_repo.list_incidents(conn, status, page.limit, page.offset)
        total = incidents_repo.count_incidents(conn, status)
    paginate(request, response, page, len(rows), total)
    return [IncidentSummary(**_floored(r.model_dump())) for r in rows]


@router.get("/incidents/{incident_id}")
def get_incident(
    incident_id: str, svc: Services = Depends(services), _: Principal = Depends(require(Role.viewer))
) -> IncidentDetail:
    """One incident, whole: assessment, findings, observation summary, timeline, its actions and its
    audit trail (records about the incident and about its actions, oldest first)."""
    with svc.store.read() as conn:
        incident = incidents_repo.get_incident(conn, incident_id)
        actions = actions_repo.list_actions(conn, incident_id=incident_id, limit=1000)
        trail = audit_repo.for_targets(conn, [incident_id, *(a.id for a in actions)])
    return IncidentDetail(
        **_floored(incident.model_dump()),
        actions=[Action.from_row(a) for a in actions],
        audit=[audit_view(r) for r in trail],
    )


@router.get("/incidents/{incident_id}/lifecycle")
def incident_lifecycle(
    incident_id: str = Path(min_length=1, max_length=64),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> IncidentLifecycle:
    """404 when the incident does not exist."""
    with svc.store.read() as conn:
        return lifecycle_view(conn, incident_id)


def lifecycle_view(conn: Connection, incident_id: str) -> IncidentLifecycle:
    """An incident's lifecycle for people: status, scope, cost of waiting, outcomes and timeline. An incident
    without a tracking row shows its category and zero cycles."""
    incident = incidents_repo.get_incident(conn, incident_id)
    track = incidents_repo.get_tracking(conn, incident_id)
    waiting = incidents_repo.waiting_actions(conn, incident_id)
    per_hour = track.lost_revenue_per_hour if track else 0.0
    return IncidentLifecycle(
        incident_id=incident_id,
        status=incident.status,
        categories=list(track.categories) if track else [incident.category],
        stages=list(track.stages) if track else [],
        merchants=list(track.merchants) if track else [],
        cycles=track.cycles if track else 0,
        quiet_cycles=track.quiet_cycles if track else 0,
        first_seen=_iso(track.first_seen if track else None),
        last_seen=_iso(track.last_seen if track else None),
        mitigating_since=_iso(track.mitigating_since if track else None),
        recovering_since=_iso(track.recovering_since if track else None),
        resolved_at=_iso(track.resolved_at if track else None),
        outcome=track.outcome if track else None,
        onset=_iso(track.onset if track else None),
        currency=track.currency if track else "USD",
        lost_orders_so_far=_floor(track.lost_orders_so_far if track else None),
        lost_revenue_so_far=_floor(track.lost_revenue_so_far if track else None),
        peak_lost_orders_per_hour=track.peak_lost_orders_per_hour if track else None,
        peak_lost_revenue_per_hour=track.peak_lost_revenue_per_hour if track else None,
        current_lost_orders_per_hour=track.current_lost_orders_per_hour if track else None,
        current_lost_revenue_per_hour=track.current_lost_revenue_per_hour if track else None,
        story=track.story if track else None,
        cost_of_waiting=CostOfWaitingView(
            actions_waiting=[
                WaitingActionView(id=w.id, key=w.key, title=w.title, risk=w.risk) for w in waiting
            ],
            lost_revenue_per_hour=per_hour if waiting else 0.0,
            currency=track.currency if track else "USD",
        ),
        outcomes=[_verdict_view(v) for v in incidents_repo.verdicts(conn, incident_id)],
        timeline=incident.timeline,
    )


def _floor(x: float | None) -> float | None:
    """A loss so far is never shown below zero (a normal stretch after recovery can sum slightly negative)."""
    return None if x is None else max(x, 0.0)


def _floored(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        **fields,
        "lost_orders_so_far": _floor(fields.get("lost_orders_so_far")),
        "lost_revenue_so_far": _floor(fields.get("lost_revenue_so_far")),
    }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _verdict_view(v: ActionVerdict) -> ActionVerdictView:
    return ActionVerdictView(
        action_id=v.action_id,
        incident_id=v.incident_id,
        key=v.key,
        executed_ms=dt_to_ms(v.executed_at),
        judged_ms=dt_to_ms(v.judged_at),
        verdict=v.verdict,
        before_per_hour=v.before_per_hour,
        after_per_hour=v.after_per_hour,
        detail=v.detail,
    )
