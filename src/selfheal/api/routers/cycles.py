from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from selfheal.act.model import Action
from selfheal.api.deps import Services, require, services
from selfheal.api.routers.audit_trail import audit_view
from selfheal.auth import Principal, Role
from selfheal.cycle import CycleDeps, CycleResult, run_cycle
from selfheal.observe import observe
from selfheal.observe.summary import ObservationSummary, summarize
from selfheal.records import ms_to_dt, utcnow
from selfheal.signals import UtcDatetime, as_utc
from selfheal.store import actions_repo, audit_repo, incidents_repo

router = APIRouter(tags=["cycle"])


class RunCycleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: UtcDatetime | None = Field(None, description="End of the window; default now")
    window_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    use_llm: bool = False


@router.get("/observe")
def get_observe(
    as_of: datetime | None = Query(None, description="End of the window (ISO 8601); default now"),
    window_minutes: int = Query(60, ge=1, le=7 * 24 * 60),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> ObservationSummary:
    """Counts, error rates per source/endpoint, KPI totals and per-minute series for the window."""
    moment = as_utc(as_of) if as_of else utcnow()
    return summarize(observe(svc.store, moment, window_minutes, svc.settings))


@router.post("/run_cycle")
async def post_run_cycle(
    req: RunCycleRequest | None = None,
    svc: Services = Depends(services),
    who: Principal = Depends(require(Role.operator)),
) -> CycleResult:
    """Run observe -> reason -> decide -> act over stored signals as of `as_of` and store the incident."""
    req = req or RunCycleRequest()
    deps = CycleDeps(store=svc.store, settings=svc.settings)
    return await run_in_threadpool(run_cycle, deps, req.as_of, req.window_minutes, req.use_llm, who.name)


def _incident_view(row: dict[str, Any]) -> dict[str, Any]:
    view = dict(row)
    for key in ("created_ms", "updated_ms", "as_of_ms"):
        if key in view:
            view[key.removesuffix("_ms") if key != "created_ms" else "created_at"] = ms_to_dt(view.pop(key))
    if "updated" in view:
        view["updated_at"] = view.pop("updated")
    return view


@router.get("/incidents")
def list_incidents(
    status: str | None = Query(None, description="open, mitigating or resolved"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[dict[str, Any]]:
    """Incidents, newest first."""
    with svc.store.read() as conn:
        return [_incident_view(r) for r in incidents_repo.list_incidents(conn, status, limit, offset)]


@router.get("/incidents/{incident_id}")
def get_incident(
    incident_id: str, svc: Services = Depends(services), _: Principal = Depends(require(Role.viewer))
) -> dict[str, Any]:
    """One incident, whole: assessment, findings, observation summary, timeline, its actions and its
    audit trail (records about the incident and about its actions, oldest first)."""
    with svc.store.read() as conn:
        view = _incident_view(incidents_repo.get_incident(conn, incident_id))
        actions = actions_repo.list_actions(conn, incident_id=incident_id, limit=1000)
        trail = audit_repo.for_targets(conn, [incident_id, *(a.id for a in actions)])
    view["actions"] = [Action.from_row(a).model_dump(mode="json") for a in actions]
    view["audit"] = [audit_view(r).model_dump(mode="json") for r in trail]
    return view
