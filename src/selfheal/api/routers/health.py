from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from selfheal import __version__
from selfheal.api.deps import Services, services

router = APIRouter(tags=["health"])


class DatabaseHealth(BaseModel):
    ok: bool
    backend: str
    url: str
    """The database URL with its password hidden."""


class Health(BaseModel):
    status: str
    """`ok`, or `degraded` when the database does not answer."""
    version: str
    database: DatabaseHealth
    auth_mode: str


@router.get("/health")
def health(svc: Services = Depends(services)) -> Health:
    """Liveness, database reachability and version. Needs no key."""
    ok = svc.store.ping()
    url = make_url(svc.settings.resolved_database_url())
    return Health(
        status="ok" if ok else "degraded",
        version=__version__,
        database=DatabaseHealth(
            ok=ok, backend=url.get_backend_name(), url=url.render_as_string(hide_password=True)
        ),
        auth_mode=svc.settings.auth_mode.value,
    )
