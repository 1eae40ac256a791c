"""Receiving connector payloads: verify, map, store. Called by the API's connector routes."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from selfheal import audit
from selfheal.connect.alerts import alert_writes, parse_payload
from selfheal.connect.commerce import CommerceEvent, shopify_event, stripe_event
from selfheal.connect.merchants import MerchantResolver
from selfheal.connect.signatures import verify_shopify, verify_stripe
from selfheal.errors import NotConfigured
from selfheal.ingest import store_batch
from selfheal.records import Record, dt_to_ms, utcnow
from selfheal.settings import Settings, secret_value
from selfheal.store import Store
from selfheal.store.alerts_repo import store_alerts
from selfheal.store.retry import run_with_retry


class WebhookReceipt(Record):
    """What a commerce webhook became."""

    provider: str
    kind: str
    """The Shopify topic or the Stripe event type."""
    event_id: str | None
    """The provider's event id (`X-Shopify-Event-Id` / `X-Shopify-Webhook-Id`, Stripe's `evt_...`)."""
    ignored: bool
    """A topic or event type selfheal does not map: acknowledged, nothing stored."""
    stored: bool
    duplicate: bool
    """The event (or the same payment/order fact) was stored before: nothing stored again."""
    log_id: str | None
    merchant_id: str | None
    event: str | None
    correlation_id: str | None


class AlertsReceipt(Record):
    received: int
    stored: int
    resolved: int
    duplicates: int


def _store_commerce(store: Store, received: CommerceEvent, actor: str) -> WebhookReceipt:
    log = received.log
    if log is None:
        return WebhookReceipt(
            provider=received.provider,
            kind=received.kind,
            event_id=received.event_id,
            ignored=True,
            stored=False,
            duplicate=False,
            log_id=None,
            merchant_id=None,
            event=None,
            correlation_id=None,
        )
    result = store_batch(store, "logs", [log], actor=actor)
    return WebhookReceipt(
        provider=received.provider,
        kind=received.kind,
        event_id=received.event_id,
        ignored=False,
        stored=result.stored == 1,
        duplicate=result.duplicates == 1,
        log_id=log.id,
        merchant_id=log.merchant_id,
        event=log.event,
        correlation_id=log.correlation_id,
    )


def receive_shopify(
    store: Store,
    settings: Settings,
    merchants: MerchantResolver,
    body: bytes,
    headers: Mapping[str, str],
) -> WebhookReceipt:
    """Verify a Shopify webhook (401 on a bad signature, nothing stored) and store its log event."""
    secret = secret_value(settings.shopify_webhook_secret)
    if not secret:
        raise NotConfigured("the Shopify connector has no secret (SELFHEAL_SHOPIFY_WEBHOOK_SECRET)")
    lowered = {k.lower(): v for k, v in headers.items()}
    verify_shopify(secret, body, lowered.get("x-shopify-hmac-sha256"))
    received = shopify_event(body, lowered, settings, merchants)
    return _store_commerce(store, received, "connector:shopify")


def receive_stripe(
    store: Store,
    settings: Settings,
    merchants: MerchantResolver,
    body: bytes,
    signature: str | None,
    clock: Callable[[], float] = time.time,
) -> WebhookReceipt:
    """Verify a Stripe event (401 on a bad signature or a stale timestamp, nothing stored) and store it."""
    secret = secret_value(settings.stripe_webhook_secret)
    if not secret:
        raise NotConfigured("the Stripe connector has no secret (SELFHEAL_STRIPE_WEBHOOK_SECRET)")
    verify_stripe(secret, body, signature, clock(), settings.stripe_tolerance_seconds)
    received = stripe_event(body, settings, merchants)
    return _store_commerce(store, received, "connector:stripe")


def receive_alerts(store: Store, settings: Settings, body: bytes, actor: str) -> AlertsReceipt:
    """Store an Alertmanager notification in one transaction (a bad payload stores nothing)."""
    writes = alert_writes(parse_payload(body), settings)

    def attempt() -> AlertsReceipt:
        with store.transaction() as conn:
            result = store_alerts(conn, writes, dt_to_ms(utcnow()))
            audit.record(
                conn,
                actor=actor,
                action="connector.alertmanager",
                target_type="alerts",
                after={
                    "received": result.received,
                    "stored": result.stored,
                    "resolved": result.resolved,
                    "duplicates": result.duplicates,
                },
            )
        return AlertsReceipt(
            received=result.received,
            stored=result.stored,
            resolved=result.resolved,
            duplicates=result.duplicates,
        )

    return run_with_retry(attempt, attempts=6)
