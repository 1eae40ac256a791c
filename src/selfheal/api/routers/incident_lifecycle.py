"""An incident's lifecycle: status, scope, cost of waiting for approvals, action outcomes and timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from selfheal.act.incidents import lifecycle_view
from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role

router = APIRouter(tags=["incidents"])


@router.get("/incidents/{incident_id}/lifecycle")
def incident_lifecycle(
    incident_id: str = Path(min_length=1, max_length=64),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> dict[str, Any]:
    """404 when the incident does not exist."""
    with svc.store.read() as conn:
        return lifecycle_view(conn, incident_id)
