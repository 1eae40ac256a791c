"""The merchant directory: batch upsert (CSV or JSON), the listing, one merchant with its stage history, and
the merchants that send signals but are not in the directory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from selfheal.api.body import read_limited
from selfheal.api.deps import Services, require, services
from selfheal.api.pagination import Page, page_params, paginate
from selfheal.auth import Principal, Role
from selfheal.errors import NotFound, UnsupportedMediaType
from selfheal.ingest.merchants import MerchantImportResult, import_merchants, parse_merchants
from selfheal.ingest.parse import media_type
from selfheal.records import dt_to_ms, ms_to_dt, utcnow
from selfheal.signals import AsOf, MerchantEntry, as_utc
from selfheal.store import directory_repo
from selfheal.store.directory_repo import MerchantRecord

router = APIRouter(tags=["merchants"])

_FORMATS = {"application/json": "json", "text/csv": "csv"}


class MerchantView(BaseModel):
    id: str
    name: str
    stage: str
    """The stage of the latest move."""
    moved_at: datetime | None
    """When the merchant entered `stage` (None: from the beginning, no date was given)."""
    plan: str | None
    currency: str | None
    labels: dict[str, str]
    created_at: datetime
    updated_at: datetime


class StageMoveView(BaseModel):
    stage: str
    moved_at: datetime | None
    """None: the merchant's first known stage, from the beginning."""
    recorded_at: datetime


class MerchantDetail(MerchantView):
    stage_history: list[StageMoveView]
    """Every move, oldest first."""


class UnknownMerchant(BaseModel):
    merchant_id: str
    tickets: int
    log_events: int
    metric_points: int


def _moment(ms: int) -> datetime | None:
    return None if ms == directory_repo.BEGINNING_MS else ms_to_dt(ms)


def _view(r: MerchantRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "stage": r.stage,
        "moved_at": _moment(r.moved_ms),
        "plan": r.plan,
        "currency": r.currency,
        "labels": r.labels,
        "created_at": ms_to_dt(r.created_ms),
        "updated_at": ms_to_dt(r.updated_ms),
    }


def _import(svc: Services, body: bytes, fmt: str, actor: str) -> MerchantImportResult:
    entries = parse_merchants(body, fmt, svc.settings.max_batch_items)
    return import_merchants(svc.store, entries, actor=actor)


@router.post(
    "/merchants",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": 'A JSON array of merchants (or `{"merchants": [...]}`), or CSV with a header row '
            "(`id,name,stage,moved_at,plan,currency` and `label.KEY` columns). Upserts; all or nothing.",
            "content": {
                "application/json": {"schema": {"type": "array", "items": MerchantEntry.model_json_schema()}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_merchants(
    request: Request, svc: Services = Depends(services), who: Principal = Depends(require(Role.operator))
) -> MerchantImportResult:
    """Create or update merchants. A changed stage appends a stage-history row dated `moved_at` (or now);
    history is never overwritten. Any invalid merchant: 422 naming each index, field and reason, nothing stored."""
    declared = request.headers.get("content-type")
    kind = media_type(declared) if declared else "application/json"
    fmt = _FORMATS.get(kind)
    if fmt is None:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {kind!r}", {"field": "content-type", "supported": sorted(_FORMATS)}
        )
    body = await read_limited(request, svc.settings.max_body_bytes)
    return await run_in_threadpool(_import, svc, body, fmt, who.name)


@router.get("/merchants")
def list_merchants(
    request: Request,
    response: Response,
    stage: str | None = Query(None, max_length=512, description="Only merchants now in this stage"),
    page: Page = Depends(page_params(50, 500)),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[MerchantView]:
    """The directory, by merchant id. Paginated: `X-Total-Count`, and `X-Next-Cursor` / `Link: rel="next"`."""
    with svc.store.read() as conn:
        rows = directory_repo.list_merchants(conn, page.limit, page.offset, stage)
        total = directory_repo.count_merchants(conn, stage)
    paginate(request, response, page, len(rows), total)
    return [MerchantView(**_view(r)) for r in rows]


@router.get("/merchants/unknown")
def unknown_merchants(
    as_of: AsOf | None = Query(None, description="End of the window (ISO 8601); default now"),
    window_minutes: int = Query(24 * 60, ge=1, le=30 * 24 * 60),
    limit: int = Query(100, ge=1, le=1000),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[UnknownMerchant]:
    """Merchants with signals in `[as_of - window_minutes, as_of)` that the directory does not list, with how
    many signals of each kind they sent. Empty when no directory is loaded."""
    end = as_utc(as_of) if as_of else utcnow()
    start = end - timedelta(minutes=window_minutes)
    with svc.store.read() as conn:
        rows = directory_repo.unknown_merchants(conn, dt_to_ms(start), dt_to_ms(end), limit)
    return [UnknownMerchant(**r) for r in rows]


@router.get("/merchants/{merchant_id}")
def get_merchant(
    merchant_id: str = Path(min_length=1, max_length=512),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> MerchantDetail:
    """One merchant with its stage history; 404 when the directory does not list it."""
    with svc.store.read() as conn:
        record = directory_repo.get_merchant(conn, merchant_id)
        if record is None:
            raise NotFound(f"merchant {merchant_id!r} is not in the directory", {"field": "merchant_id"})
        history = directory_repo.stage_history(conn, merchant_id)
    return MerchantDetail(
        **_view(record),
        stage_history=[
            StageMoveView(stage=h.stage, moved_at=_moment(h.moved_ms), recorded_at=ms_to_dt(h.recorded_ms))
            for h in history
        ],
    )
