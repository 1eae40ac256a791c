"""Who the caller is: the UI uses it to disable what the caller's role may not do."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role

router = APIRouter(tags=["auth"])


class WhoAmI(BaseModel):
    name: str
    role: Role
    key_id: str | None
    auth_mode: str


@router.get("/whoami")
def whoami(svc: Services = Depends(services), who: Principal = Depends(require(Role.viewer))) -> WhoAmI:
    """The caller's name and role (in open demo mode: an anonymous admin)."""
    return WhoAmI(name=who.name, role=who.role, key_id=who.key_id, auth_mode=svc.settings.auth_mode.value)
