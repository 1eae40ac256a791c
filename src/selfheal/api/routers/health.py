from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from selfheal import __version__
from selfheal.api.deps import Services, principal, services
from selfheal.errors import Unauthorized

router = APIRouter(tags=["health"])


class DatabaseHealth(BaseModel):
    ok: bool
    backend: str
    url: str | None = None
    """The database URL with its password hidden; only for a caller with a valid API key (host, user and
    path tell an outsider where to look)."""


class Health(BaseModel):
    status: str
    """`ok`, or `degraded` when the database does not answer."""
    version: str
    database: DatabaseHealth
    auth_mode: str


@router.get("/health")
def health(request: Request, svc: Services = Depends(services)) -> Health:
    """Liveness, database reachability and version. Needs no key; the database URL (password hidden) is
    shown only to a caller sending a valid key."""
    ok = svc.store.ping()
    url = make_url(svc.settings.resolved_database_url())
    return Health(
        status="ok" if ok else "degraded",
        version=__version__,
        database=DatabaseHealth(
            ok=ok,
            backend=url.get_backend_name(),
            url=url.render_as_string(hide_password=True) if _has_valid_key(request, svc) else None,
        ),
        auth_mode=svc.settings.auth_mode.value,
    )


def _has_valid_key(request: Request, svc: Services) -> bool:
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        return False
    try:
        principal(request, svc, None)
    except Unauthorized:
        return False
    return True
