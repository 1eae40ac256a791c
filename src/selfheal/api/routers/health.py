from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.engine import make_url

from selfheal import __version__
from selfheal.api.deps import Services, services

router = APIRouter(tags=["health"])


@router.get("/health")
def health(svc: Services = Depends(services)) -> dict[str, Any]:
    """Liveness, database reachability and version. Needs no key."""
    ok = svc.store.ping()
    url = make_url(svc.settings.resolved_database_url())
    return {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "database": {
            "ok": ok,
            "backend": url.get_backend_name(),
            "url": url.render_as_string(hide_password=True),
        },
        "auth_mode": svc.settings.auth_mode.value,
    }
