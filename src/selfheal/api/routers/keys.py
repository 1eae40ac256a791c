"""API keys (admin only). The secret is in the creation answer and nowhere else."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role
from selfheal.keys import KeyInfo, NewKey, create_key, list_keys, revoke_key

router = APIRouter(prefix="/keys", tags=["keys"])


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256, description="Who or what uses the key")
    role: Role


@router.post("", status_code=201)
def post_key(
    req: CreateKeyRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.admin))
) -> NewKey:
    """Create a key; the answer holds the secret, shown once."""
    return create_key(svc.store, req.name, req.role, who.name)


@router.get("")
def get_keys(svc: Services = Depends(services), _: Principal = Depends(require(Role.admin))) -> list[KeyInfo]:
    return list_keys(svc.store)


@router.delete("/{key_id}")
def delete_key(
    key_id: str, svc: Services = Depends(services), who: Principal = Depends(require(Role.admin))
) -> KeyInfo:
    """Revoke a key; requests with it get 401 from now on."""
    return revoke_key(svc.store, key_id, who.name)
