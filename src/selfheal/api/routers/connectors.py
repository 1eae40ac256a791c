"""Connectors in: Shopify and Stripe webhooks, Alertmanager notifications, the stored alerts.

The commerce webhooks carry no API key: the sender's signature is the authentication (a bad one is 401 and
stores nothing). The Alertmanager receiver takes an API key like any route, or the bearer token / basic
credentials set for Alertmanager's `http_config` (docs/connectors.md).
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from selfheal.api.body import read_limited
from selfheal.api.deps import Services, principal, require, services
from selfheal.auth import Principal, Role, allows, same_key
from selfheal.connect.merchants import SettingsMerchants
from selfheal.connect.receive import (
    AlertsReceipt,
    WebhookReceipt,
    receive_alerts,
    receive_shopify,
    receive_stripe,
)
from selfheal.errors import Forbidden
from selfheal.settings import Settings, secret_value
from selfheal.store.alerts_repo import StoredAlert, list_alerts

router = APIRouter(prefix="/connectors", tags=["connectors"])

_JSON_BODY = {
    "requestBody": {
        "required": True,
        "description": "The provider's JSON payload, exactly as sent (the signature covers the raw bytes).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post("/shopify/webhooks", openapi_extra=_JSON_BODY)
async def shopify_webhook(request: Request, svc: Services = Depends(services)) -> WebhookReceipt:
    """A Shopify order webhook (`orders/create`, `orders/paid`), verified with `X-Shopify-Hmac-Sha256`.
    Other topics are acknowledged and ignored; a repeat of a stored order event answers `duplicate: true`."""
    body = await read_limited(request, svc.settings.connector_max_body_bytes)
    return await run_in_threadpool(
        receive_shopify,
        svc.store,
        svc.settings,
        SettingsMerchants.from_settings(svc.settings),
        body,
        dict(request.headers),
    )


@router.post("/stripe/webhooks", openapi_extra=_JSON_BODY)
async def stripe_webhook(request: Request, svc: Services = Depends(services)) -> WebhookReceipt:
    """A Stripe event (`payment_intent.succeeded`, `payment_intent.payment_failed`, `charge.failed`), verified
    with `Stripe-Signature` and its timestamp tolerance. Other types are acknowledged and ignored."""
    body = await read_limited(request, svc.settings.connector_max_body_bytes)
    return await run_in_threadpool(
        receive_stripe,
        svc.store,
        svc.settings,
        SettingsMerchants.from_settings(svc.settings),
        body,
        request.headers.get("stripe-signature"),
    )


def _alertmanager_credentials(settings: Settings, authorization: str) -> bool:
    """Whether `Authorization` carries the token or basic credentials configured for Alertmanager."""
    scheme, _, value = authorization.partition(" ")
    token = secret_value(settings.alertmanager_bearer_token)
    if scheme.lower() == "bearer" and token and same_key(value.strip(), token):
        return True
    password = secret_value(settings.alertmanager_basic_password)
    if scheme.lower() == "basic" and settings.alertmanager_basic_user and password:
        try:
            user, _, given = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return same_key(user, settings.alertmanager_basic_user) and same_key(given, password)
    return False


def alertmanager_caller(request: Request, svc: Services = Depends(services)) -> str:
    """The caller's name: `alertmanager` for the configured credentials, else an operator's API key."""
    if _alertmanager_credentials(svc.settings, request.headers.get("authorization", "")):
        return "alertmanager"
    who: Principal = principal(request, svc, None)
    if not allows(who.role, Role.operator):
        raise Forbidden(
            f"role {who.role.value!r} may not do this; it needs 'operator'",
            {"role": who.role.value, "required": "operator"},
        )
    return who.name


@router.post("/alertmanager", openapi_extra=_JSON_BODY)
async def alertmanager_webhook(
    request: Request, svc: Services = Depends(services), caller: str = Depends(alertmanager_caller)
) -> AlertsReceipt:
    """An Alertmanager notification (webhook payload version 4). Each alert occurrence (fingerprint +
    `startsAt`) is stored once; a `resolved` notice resolves it; the whole payload lands or nothing does."""
    body = await read_limited(request, svc.settings.connector_max_body_bytes)
    return await run_in_threadpool(receive_alerts, svc.store, svc.settings, body, caller)


@router.get("/alerts")
async def get_alerts(
    status: Literal["firing", "resolved"] | None = Query(None),
    merchant_id: str | None = Query(None, max_length=512),
    limit: int = Query(100, ge=1, le=1000),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[StoredAlert]:
    """Stored alerts, latest start first."""

    def read() -> list[StoredAlert]:
        with svc.store.read() as conn:
            return list_alerts(conn, status, merchant_id, limit)

    return await run_in_threadpool(read)
