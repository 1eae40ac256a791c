"""Probes for orchestrators: `/health/live` (the process answers) and `/health/ready` (it can serve: the
database answers and its schema is at the code's migration head). Neither needs a key."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from selfheal.api.deps import Services, services
from selfheal.store.engine import migrations_behind

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    """`ready`, or `not_ready` (HTTP 503) with the reason."""
    database: bool
    migrations_pending: list[str]
    reason: str | None = None


@router.get("/health/live")
def live() -> Liveness:
    """The process is up and serving requests."""
    return Liveness(status="alive")


@router.get("/health/ready", responses={503: {"model": Readiness}})
def ready(response: Response, svc: Services = Depends(services)) -> Readiness:
    """Ready when the database answers and no migration is pending; otherwise 503 with the reason."""
    try:
        pending = migrations_behind(svc.store.engine)
    except Exception as exc:  # unreachable database, refused connection, bad credentials, ...
        response.status_code = 503
        return Readiness(status="not_ready", database=False, migrations_pending=[], reason=type(exc).__name__)
    if pending:
        reason = f"the database is behind the code's migrations: {', '.join(pending)}; `selfheal api` and `selfheal worker` apply them on start"
        response.status_code = 503
        return Readiness(status="not_ready", database=True, migrations_pending=pending, reason=reason)
    return Readiness(status="ready", database=True, migrations_pending=[])
