"""The audit trail: list records, verify the hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from selfheal import audit
from selfheal.api.deps import Services, require, services
from selfheal.api.pagination import Page, page_params, paginate
from selfheal.auth import Principal, Role
from selfheal.records import dt_to_ms, ms_to_dt
from selfheal.store import audit_repo
from selfheal.store.rows import AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditRecord(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class VerifyReport(BaseModel):
    ok: bool
    records: int
    first_bad_seq: int | None
    reason: str | None
    head_seq: int | None
    head_hash: str | None


def audit_view(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        seq=entry.seq,
        at=ms_to_dt(entry.ts_ms),
        actor=entry.actor,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        before=entry.before,
        after=entry.after,
        hash=entry.hash,
    )


@router.get("")
def list_audit(
    request: Request,
    response: Response,
    actor: str | None = Query(None, max_length=256),
    action: str | None = Query(None, max_length=128, description="Prefix, e.g. `action.` or `key.create`"),
    target_type: str | None = Query(None, max_length=64),
    target_id: str | None = Query(None, max_length=256),
    since: datetime | None = Query(None, description="ISO 8601, inclusive"),
    until: datetime | None = Query(None, description="ISO 8601, exclusive"),
    page: Page = Depends(page_params(100, 1000)),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[AuditRecord]:
    """Audit records, newest first. Paginated: `X-Total-Count`, and `X-Next-Cursor` / `Link: rel="next"`."""
    filters = {
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "since_ms": dt_to_ms(since) if since else None,
        "until_ms": dt_to_ms(until) if until else None,
    }
    with svc.store.read() as conn:
        rows = audit_repo.query(conn, **filters, limit=page.limit, offset=page.offset)  # type: ignore[arg-type]
        total = audit_repo.count(conn, **filters)  # type: ignore[arg-type]
    paginate(request, response, page, len(rows), total)
    return [audit_view(r) for r in rows]


@router.get("/verify")
def verify_audit(
    svc: Services = Depends(services), _: Principal = Depends(require(Role.viewer))
) -> VerifyReport:
    """Walk the hash chain; `ok` is false with the first bad record when anything was edited or deleted."""
    with svc.store.read() as conn:
        result = audit.verify(conn)
    return VerifyReport(
        ok=result.ok,
        records=result.records,
        first_bad_seq=result.first_bad_seq,
        reason=result.reason,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
    )
