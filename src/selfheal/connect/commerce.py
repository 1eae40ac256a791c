"""Shopify order webhooks and Stripe payment events as log events, so payments pair with orders.

Shopify (`X-Shopify-Topic`):
- `orders/create` -> `order.created` (source `webhook`, endpoint `shopify orders/create`), at the order's
  `created_at`;
- `orders/paid` -> `order.paid` (endpoint `shopify orders/paid`), at `X-Shopify-Triggered-At` (else the
  order's `processed_at`).
Stripe (the event's `type`):
- `payment_intent.succeeded` -> `payment.succeeded` (source `payment`, endpoint `stripe payment_intent`, 200);
- `payment_intent.payment_failed` and `charge.failed` -> `payment.failed` (402 for a card error or a declined
  charge, 502 for anything else: the provider failed, not the card), at the event's `created`.

The correlation id joins the two sides and is configurable (`SELFHEAL_SHOPIFY_CORRELATION_FIELD`,
`SELFHEAL_STRIPE_CORRELATION_FIELD`): by default the PaymentIntent id, which a shop that takes payments with
Stripe and creates Shopify orders carries on the order as the note attribute `payment_intent_id`.

Idempotency: each event's log id is derived from what it reports, not only from the delivery, so a replay, a
retry with a new delivery id or a second subscription is a duplicate:
- a Shopify order event: `shopify:{shop}:{topic}:{order id}`;
- a succeeded PaymentIntent: `stripe:{payment intent id}:succeeded` (a PaymentIntent succeeds once);
- a failed payment: `stripe:{charge id}:failed` when the failed charge is known (Stripe sends both
  `charge.failed` and `payment_intent.payment_failed` for one failed attempt: one failure, stored once), else
  `stripe:{event id}`.

Pure: parses bytes and headers into `signals.LogEvent`; the API stores them through ingest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from selfheal.connect.merchants import SHOPIFY, STRIPE, MerchantResolver, resolve
from selfheal.errors import InvalidInput
from selfheal.settings import Settings
from selfheal.signals import LogEvent

SHOPIFY_TOPICS = {"orders/create": "order.created", "orders/paid": "order.paid"}
STRIPE_TYPES = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "charge.failed": "payment.failed",
}
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])
"""Stripe amounts are in the currency's smallest unit (docs.stripe.com/currencies#zero-decimal)."""


@dataclass(frozen=True)
class CommerceEvent:
    """One received provider event: what it was and the log event it becomes (None: a kind we ignore)."""

    provider: str
    kind: str
    event_id: str | None
    log: LogEvent | None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body is not JSON", {"field": "body", "reason": str(exc)}) from exc
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object", {"field": "body", "reason": "not an object"})
    return data


def _time(value: Any, field: str) -> datetime:
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise InvalidInput(
        f"{field} must be an ISO 8601 date-time", {"field": field, "reason": "not a date-time"}
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str | int):
        text = str(value)
        return text or None
    return None


def lookup(obj: dict[str, Any], path: str) -> str | None:
    """A field of a provider object by path: `name`, `metadata.KEY`, `note_attributes.NAME` (Shopify's list
    of `{name, value}` pairs), nested objects with dots."""
    head, _, rest = path.partition(".")
    value = obj.get(head)
    if not rest:
        return _text(value)
    if isinstance(value, list):  # note_attributes: [{"name": ..., "value": ...}]
        for item in value:
            if isinstance(item, dict) and item.get("name") == rest:
                return _text(item.get("value"))
        return None
    if isinstance(value, dict):
        return lookup(value, rest)
    return None


def _money(value: Any) -> float | None:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return None
    return amount if amount == amount and abs(amount) != float("inf") else None


def _event(fields: dict[str, Any], where: str) -> LogEvent:
    try:
        return LogEvent.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"{where}: {field}: {first['msg']}", {"field": field, "reason": first["msg"]}
        ) from exc


# --- Shopify -----------------------------------------------------------------------------------------


def shopify_event(
    body: bytes,
    headers: dict[str, str],
    settings: Settings,
    merchants: MerchantResolver,
) -> CommerceEvent:
    """The log event of a verified Shopify order webhook (headers lower-cased)."""
    topic = headers.get("x-shopify-topic", "").strip()
    shop = headers.get("x-shopify-shop-domain", "").strip()
    event_id = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
    if not topic:
        raise InvalidInput("missing X-Shopify-Topic", {"header": "X-Shopify-Topic", "reason": "missing"})
    order = _json_object(body)
    event = SHOPIFY_TOPICS.get(topic)
    if event is None:
        return CommerceEvent(SHOPIFY, topic, event_id, None)
    if not shop:
        raise InvalidInput(
            "missing X-Shopify-Shop-Domain", {"header": "X-Shopify-Shop-Domain", "reason": "missing"}
        )
    order_id = _text(order.get("id"))
    if order_id is None:
        raise InvalidInput("order has no id", {"field": "id", "reason": "missing"})
    if topic == "orders/create":
        ts = _time(order.get("created_at"), "created_at")
    elif headers.get("x-shopify-triggered-at"):
        ts = _time(headers["x-shopify-triggered-at"], "X-Shopify-Triggered-At")
    else:
        ts = _time(order.get("processed_at") or order.get("updated_at"), "processed_at")
    joined = lookup(order, settings.shopify_correlation_field)
    extra = {
        "provider": SHOPIFY,
        "shop_domain": shop,
        "order_id": order_id,
        "order_name": _text(order.get("name")),
        "amount": _money(order.get("total_price")),
        "currency": _text(order.get("currency")),
        "financial_status": _text(order.get("financial_status")),
        "provider_event_id": event_id,
        "correlation_from": settings.shopify_correlation_field if joined else "order",
    }
    log = _event(
        {
            "id": f"shopify:{shop}:{topic}:{order_id}",
            "ts": ts,
            "merchant_id": resolve(merchants, SHOPIFY, shop),
            "source": "webhook",
            "endpoint": f"shopify {topic}",
            "status_code": 200,
            "event": event,
            "correlation_id": joined or f"shopify:{shop}:{order_id}",
            "message": f"order {extra['order_name'] or order_id}",
            **{k: v for k, v in extra.items() if v is not None},
        },
        "order",
    )
    return CommerceEvent(SHOPIFY, topic, event_id, log)


# --- Stripe ------------------------------------------------------------------------------------------


def stripe_amount(minor: Any, currency: str | None) -> float | None:
    """A Stripe amount (smallest currency unit) in currency units."""
    if not isinstance(minor, int) or isinstance(minor, bool):
        return None
    code = (currency or "").lower()
    if code in ZERO_DECIMAL:
        return float(minor)
    return minor / (1000 if code in THREE_DECIMAL else 100)


def _stripe_merchant(event: dict[str, Any], settings: Settings, merchants: MerchantResolver) -> str:
    account = _text(event.get("account"))
    if account:
        return resolve(merchants, STRIPE, account)
    return settings.stripe_default_merchant or STRIPE


@dataclass(frozen=True)
class _Payment:
    """What a PaymentIntent or a Charge says about one payment attempt."""

    intent: str | None
    charge: str | None
    minor: Any
    failure_type: str | None
    failure_code: str | None
    failure_message: str | None
    endpoint: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _from_intent(obj: dict[str, Any], name: str) -> _Payment:
    error = _dict(obj.get("last_payment_error"))
    return _Payment(
        intent=str(obj["id"]),
        charge=_text(error.get("charge")) or _text(obj.get("latest_charge")),
        minor=obj.get("amount_received") if name == "payment.succeeded" else obj.get("amount"),
        failure_type=_text(error.get("type")),
        failure_code=_text(error.get("decline_code")) or _text(error.get("code")),
        failure_message=_text(error.get("message")),
        endpoint="stripe payment_intent",
    )


DECLINED_OUTCOMES = (None, "issuer_declined", "blocked", "invalid")
"""A failed charge's `outcome.type` that means the card or the risk check declined it (else the provider
failed: `outcome.type` is then e.g. `manual_review` or absent with a processing error)."""


def _from_charge(obj: dict[str, Any]) -> _Payment:
    outcome = _text(_dict(obj.get("outcome")).get("type"))
    return _Payment(
        intent=_text(obj.get("payment_intent")),
        charge=str(obj["id"]),
        minor=obj.get("amount"),
        failure_type="card_error" if outcome in DECLINED_OUTCOMES else outcome,
        failure_code=_text(obj.get("failure_code")),
        failure_message=_text(obj.get("failure_message")),
        endpoint="stripe charge",
    )


def stripe_event(body: bytes, settings: Settings, merchants: MerchantResolver) -> CommerceEvent:
    """The log event of a verified Stripe event."""
    event = _json_object(body)
    event_id = _text(event.get("id"))
    kind = _text(event.get("type"))
    if event_id is None:
        raise InvalidInput("event has no id", {"field": "id", "reason": "missing"})
    if kind is None:
        raise InvalidInput("event has no type", {"field": "type", "reason": "missing"})
    name = STRIPE_TYPES.get(kind)
    if name is None:
        return CommerceEvent(STRIPE, kind, event_id, None)
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool) or not 0 < created < 4_102_444_800:
        raise InvalidInput("created must be epoch seconds", {"field": "created", "reason": "not a time"})
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not _text(obj.get("id")):
        raise InvalidInput(
            "event has no data.object with an id", {"field": "data.object", "reason": "missing"}
        )
    currency = _text(obj.get("currency"))
    pay = _from_intent(obj, name) if kind.startswith("payment_intent.") else _from_charge(obj)
    intent, charge, minor = pay.intent, pay.charge, pay.minor
    failure_type, failure_code, failure_message = pay.failure_type, pay.failure_code, pay.failure_message
    endpoint = pay.endpoint
    if name == "payment.succeeded":
        log_id, status = f"stripe:{intent}:succeeded", 200
    else:
        log_id = f"stripe:{charge}:failed" if charge else f"stripe:{event_id}"
        status = 402 if failure_type in (None, "card_error") else 502
    field = settings.stripe_correlation_field
    joined = intent if field == "payment_intent" else lookup(obj, field)
    extra = {
        "provider": STRIPE,
        "provider_event_id": event_id,
        "provider_event_type": kind,
        "account": _text(event.get("account")),
        "payment_intent": intent,
        "charge": charge,
        "amount": stripe_amount(minor, currency),
        "currency": currency.upper() if currency else None,
        "failure_code": failure_code,
        "livemode": event.get("livemode") if isinstance(event.get("livemode"), bool) else None,
        "correlation_from": field if joined else "charge",
    }
    log = _event(
        {
            "id": log_id,
            "ts": datetime.fromtimestamp(created, tz=UTC),
            "merchant_id": _stripe_merchant(event, settings, merchants),
            "source": "payment",
            "endpoint": endpoint,
            "status_code": status,
            "event": name,
            "correlation_id": joined or intent or charge,
            "message": failure_message[:50_000] if failure_message else None,
            **{k: v for k, v in extra.items() if v is not None},
        },
        "event",
    )
    return CommerceEvent(STRIPE, kind, event_id, log)
