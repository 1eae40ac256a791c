"""The notification outbox: what was sent to Slack and PagerDuty, what is waiting for a retry, what failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from selfheal.api.deps import Services, require, services
from selfheal.api.pagination import Page, page_params, paginate
from selfheal.auth import Principal, Role
from selfheal.store import notify_repo
from selfheal.store.notify_repo import NotificationRecord

router = APIRouter(prefix="/notifications", tags=["notifications"])


class Notification(BaseModel):
    id: str
    receiver: str
    kind: str
    event: str
    incident_id: str
    status: str
    """`pending` (due at next_attempt_at), `sending`, `delivered` or `failed` (given up)."""
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    """The HTTP status of the last call (None: no answer, e.g. a timeout)."""
    last_error: str | None
    payload: dict[str, Any] | None = None
    """The message body (without secrets); only on `GET /notifications/{id}`."""


class NotificationPage(BaseModel):
    total: int
    items: list[Notification]


def view(row: NotificationRecord, with_payload: bool = False) -> Notification:
    return Notification(
        **row.model_dump(exclude={"payload", "notice_key"}),
        payload=row.payload if with_payload else None,
    )


@router.get("")
def list_notifications(
    request: Request,
    response: Response,
    status: Literal["pending", "sending", "delivered", "failed"] | None = Query(None),
    incident_id: str | None = Query(None, max_length=64),
    receiver: str | None = Query(None, max_length=64),
    page: Page = Depends(page_params(100, 1000)),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> NotificationPage:
    """Notifications, newest first, with their delivery state (attempts, last HTTP status, last error).
    Paginated: `total` in the body and `X-Total-Count`, and `X-Next-Cursor` / `Link: rel="next"`."""
    with svc.store.read() as conn:
        rows, total = notify_repo.list_notifications(
            conn,
            status=status,
            incident_id=incident_id,
            receiver=receiver,
            limit=page.limit,
            offset=page.offset,
        )
    paginate(request, response, page, len(rows), total)
    return NotificationPage(total=total, items=[view(r) for r in rows])


@router.get("/{notification_id}")
def get_notification(
    notification_id: str = Path(max_length=64),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> Notification:
    """One notification with the body it is sent with."""
    with svc.store.read() as conn:
        return view(notify_repo.get_notification(conn, notification_id), with_payload=True)
