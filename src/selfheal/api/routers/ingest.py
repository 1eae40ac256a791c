from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from selfheal.api.body import read_limited
from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role
from selfheal.ingest import IngestResult, ingest_body
from selfheal.signals import SIGNAL_MODELS

router = APIRouter(prefix="/ingest", tags=["ingest"])


def _body_doc(kind: str) -> dict[str, Any]:
    schema = SIGNAL_MODELS[kind].model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "description": "A JSON array, NDJSON (one object per line) or CSV with a header row. "
            "The batch is atomic (any invalid item: 422, nothing stored) and idempotent by id.",
            "content": {
                "application/json": {"schema": {"type": "array", "items": schema}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }


async def _ingest(kind: str, request: Request, svc: Services, who: Principal) -> IngestResult:
    body = await read_limited(request, svc.settings.max_body_bytes)
    return await run_in_threadpool(
        ingest_body,
        svc.store,
        kind,
        body,
        request.headers.get("content-type"),
        who.name,
        svc.settings.max_batch_items,
    )


@router.post("/tickets", openapi_extra=_body_doc("tickets"), response_model_exclude_none=True)
async def ingest_tickets(
    request: Request, svc: Services = Depends(services), who: Principal = Depends(require(Role.operator))
) -> IngestResult:
    """Store support tickets."""
    return await _ingest("tickets", request, svc, who)


@router.post("/logs", openapi_extra=_body_doc("logs"), response_model_exclude_none=True)
async def ingest_logs(
    request: Request, svc: Services = Depends(services), who: Principal = Depends(require(Role.operator))
) -> IngestResult:
    """Store API/webhook/payment/frontend events; they are rolled up per minute on arrival."""
    return await _ingest("logs", request, svc, who)


@router.post("/metrics", openapi_extra=_body_doc("metrics"), response_model_exclude_none=True)
async def ingest_metrics(
    request: Request, svc: Services = Depends(services), who: Principal = Depends(require(Role.operator))
) -> IngestResult:
    """Store per-merchant KPI points."""
    return await _ingest("metrics", request, svc, who)
