"""Observe the window and run an agent cycle (`/observe`, `/run_cycle`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role
from selfheal.cycle import CycleDeps, CycleResult, run_cycle
from selfheal.observe import observe
from selfheal.observe.summary import ObservationSummary, summarize
from selfheal.records import utcnow
from selfheal.signals import AsOf, as_utc

router = APIRouter(tags=["cycle"])


class RunCycleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: AsOf | None = Field(None, description="End of the window; default now")
    window_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    use_llm: bool = False


@router.get("/observe")
def get_observe(
    as_of: AsOf | None = Query(None, description="End of the window (ISO 8601); default now"),
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
    deps = CycleDeps(store=svc.store, settings=svc.settings, notifier=svc.notifier)
    return await run_in_threadpool(
        run_cycle, deps, req.as_of, req.window_minutes, req.use_llm, who.name, who.key_id
    )
