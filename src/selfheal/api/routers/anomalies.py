"""GET /anomalies: the anomalies of a window, as the reason stage finds them (no incident stored;
the only write is the settled history hours the load aggregated, see `observe.history`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role
from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import Anomaly
from selfheal.records import utcnow
from selfheal.signals import AsOf, as_utc

router = APIRouter(tags=["anomalies"])


def _anomalies(svc: Services, as_of: datetime, window_minutes: int) -> tuple[Anomaly, ...]:
    obs = observe(svc.store, as_of, window_minutes, svc.settings)
    return reason(obs, ReasonContext(settings=svc.settings)).anomalies


@router.get("/anomalies")
async def list_anomalies(
    as_of: AsOf | None = Query(None, description="End of the window (ISO 8601); default now"),
    window_minutes: int = Query(60, ge=1, le=7 * 24 * 60),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[Anomaly]:
    """Anomalies in `[as_of - window_minutes, as_of)`, most severe first, each with its series, method,
    score, observed vs expected values and affected dimensions."""
    moment = as_utc(as_of) if as_of else utcnow()
    return list(await run_in_threadpool(_anomalies, svc, moment, window_minutes))
