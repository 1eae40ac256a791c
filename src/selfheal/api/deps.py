"""Request-scoped dependencies: the app's services and the calling principal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from selfheal.auth import Principal, Role, allows, hash_key, same_key
from selfheal.errors import Forbidden, Unauthorized
from selfheal.notify.worker import Notifier
from selfheal.settings import AuthMode, Settings, secret_value
from selfheal.store import Store, keys_repo


@dataclass
class Services:
    """Everything a router needs, built once by the app factory."""

    settings: Settings
    store: Store
    notifier: Notifier | None = None
    """Background notification delivery (when routes are configured); cycles kick it after committing."""


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key (`selfheal keys create`; the first admin key with `--database`).",
)
BEARER = HTTPBearer(
    auto_error=False, scheme_name="Bearer", description="The same API key as `Authorization: Bearer <key>`."
)
"""The security schemes the OpenAPI document declares (the Authorize button of /docs); `principal` reads the
key from either header itself, so declaring them changes nothing in who is admitted."""


def principal(
    request: Request,
    svc: Services = Depends(services),
    _declared: str | None = Security(API_KEY_HEADER),
    _bearer: HTTPAuthorizationCredentials | None = Security(BEARER),
) -> Principal:
    """The caller, from the `X-API-Key` header (or `Authorization: Bearer`). Open mode: an anonymous admin."""
    key = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key:
        if svc.settings.auth_mode == AuthMode.open:
            return Principal(name="demo", role=Role.admin)
        raise Unauthorized("an API key is required (header X-API-Key)", {"header": "X-API-Key"})
    admin_key = secret_value(svc.settings.admin_key)
    if admin_key and same_key(key, admin_key):
        return Principal(name="admin", role=Role.admin)
    with svc.store.read() as conn:
        row = keys_repo.find_active(conn, hash_key(key))
    if row is None:
        raise Unauthorized("unknown or revoked API key", {"header": "X-API-Key"})
    return Principal(name=row.name, role=Role(row.role), key_id=row.id)


def require(role: Role) -> Callable[..., Principal]:
    """A dependency that admits callers with at least `role`."""

    def check(who: Principal = Depends(principal)) -> Principal:
        if not allows(who.role, role):
            raise Forbidden(
                f"role {who.role.value!r} may not do this; it needs {role.value!r}",
                {"role": who.role.value, "required": role.value},
            )
        return who

    return check
