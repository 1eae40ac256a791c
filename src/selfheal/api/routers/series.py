"""Per-minute series of a window for charts: KPIs against baseline, and error rates of an endpoint."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role
from selfheal.decide.impact import ImpactNotes, merchant_rates
from selfheal.errors import InvalidInput
from selfheal.observe import observe
from selfheal.observe.model import Observation
from selfheal.observe.series import ErrorSeries, KpiSeries, MerchantRate, error_series, kpi_series
from selfheal.records import utcnow
from selfheal.signals import AsOf, as_utc

router = APIRouter(prefix="/series", tags=["series"])


def _moment(as_of: datetime | None) -> datetime:
    return as_utc(as_of) if as_of else utcnow()


@router.get("/kpis")
async def get_kpi_series(
    as_of: AsOf | None = Query(None, description="End of the window (ISO 8601); default now"),
    window_minutes: int = Query(60, ge=1, le=7 * 24 * 60),
    stage: str | None = Query(None, max_length=64, description="Only this migration stage"),
    merchant: list[str] = Query(
        [], max_length=500, description="Only these merchants (repeat the parameter); default all"
    ),
    since: AsOf | None = Query(
        None,
        description="Accumulate the loss from this moment (e.g. an incident's onset); default the window start",
    ),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> KpiSeries:
    """Orders, attempts and revenue per minute with expected orders (baseline success rate x attempts) and
    their 90 % band, and the lost orders and revenue accumulating from `since` with their 90 % interval
    (`loss_so_far` is the total at the last minute)."""
    moment = _moment(as_of)
    if since is not None and as_utc(since) > moment:
        raise InvalidInput(
            "`since` is after the end of the window", {"field": "since", "reason": "after as_of"}
        )
    if any(not m or len(m) > 64 for m in merchant):
        raise InvalidInput(
            "a merchant id must have 1 to 64 characters", {"field": "merchant", "reason": "length"}
        )
    obs = await run_in_threadpool(observe, svc.store, moment, window_minutes, svc.settings)
    rates = _merchant_rates(obs, stage, merchant) if stage is not None or merchant else None
    return kpi_series(
        obs, stage, svc.settings.currency, merchant, as_utc(since) if since is not None else None, rates
    )


def _merchant_rates(obs: Observation, stage: str | None, merchants: list[str]) -> dict[str, MerchantRate]:
    """Each selected merchant's baseline conversion and order value exactly as the risk report values its
    loss, so an incident's chart and its card agree."""
    known = (
        set(obs.merchant_stages)
        | {b.merchant_id for b in obs.baselines}
        | set(obs.metrics.merchant_id.distinct())
    )
    stage_of = {**{b.merchant_id: b.migration_stage for b in obs.baselines}, **obs.merchant_stages}
    chosen = {
        m for m in known if (stage is None or stage_of.get(m) == stage) and (not merchants or m in merchants)
    }
    rates = merchant_rates(obs.baselines, chosen, obs.merchant_stages, ImpactNotes([], []))
    return {m: MerchantRate(r.conversion, r.conversion_n, r.aov) for m, r in rates.items()}


@router.get("/errors")
async def get_error_series(
    as_of: AsOf | None = Query(None, description="End of the window (ISO 8601); default now"),
    window_minutes: int = Query(60, ge=1, le=7 * 24 * 60),
    source: str | None = Query(None, max_length=64),
    endpoint: str | None = Query(None, max_length=256, description="e.g. `POST /webhooks/order-created`"),
    status_class: str | None = Query(None, pattern="^[1-5]xx$", description="4xx or 5xx; default both"),
    stage: str | None = Query(None, max_length=64),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> ErrorSeries:
    """Requests, errors and error rate per minute for the logs matching the filters."""
    obs = await run_in_threadpool(observe, svc.store, _moment(as_of), window_minutes, svc.settings)
    return error_series(obs, source, endpoint, status_class, stage)
