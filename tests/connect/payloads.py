"""Provider payloads recorded from the providers' public documentation (trimmed to the fields that matter here,
values as documented). Where a test needs a value the documented example leaves empty (a note attribute, an
account), the change is named next to it."""

from __future__ import annotations

import copy
from typing import Any

# Shopify: the `orders/create` example payload of the webhook topic reference,
# https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics-orders/create
# (`orders/paid` sends the same Order resource). Headers as in
# https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook
SHOPIFY_ORDER: dict[str, Any] = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "app_id": None,
    "browser_ip": None,
    "buyer_accepts_marketing": True,
    "cancel_reason": "customer",
    "cancelled_at": "2021-12-31T19:00:00-05:00",
    "cart_token": None,
    "checkout_id": None,
    "checkout_token": None,
    "confirmed": False,
    "contact_email": "jon@example.com",
    "created_at": "2021-12-31T19:00:00-05:00",
    "currency": "USD",
    "current_subtotal_price": "398.00",
    "current_total_price": "398.00",
    "email": "jon@example.com",
    "financial_status": "voided",
    "fulfillment_status": "pending",
    "landing_site": None,
    "name": "#9999",
    "note": None,
    "note_attributes": [],
    "number": 234,
    "order_number": 1234,
    "payment_gateway_names": ["visa", "bogus"],
    "presentment_currency": "USD",
    "processed_at": "2021-12-31T19:00:00-05:00",
    "subtotal_price": "388.00",
    "tags": "tag1, tag2",
    "test": True,
    "token": "123456abcd",
    "total_price": "398.00",
    "updated_at": "2021-12-31T19:00:00-05:00",
    "line_items": [
        {
            "id": 866550311766439020,
            "name": "IPod Nano - 8GB",
            "price": "199.00",
            "product_id": 632910392,
            "quantity": 1,
            "sku": "IPOD2008BLACK",
            "title": "IPod Nano - 8GB",
        }
    ],
}
SHOP = "example.myshopify.com"


def shopify_order(payment_intent: str | None = None, order_id: int | None = None) -> dict[str, Any]:
    """The documented order; with `payment_intent`, the note attribute a Stripe-paying storefront sets
    (the documented example has no note attributes)."""
    order = copy.deepcopy(SHOPIFY_ORDER)
    if payment_intent:
        order["note_attributes"] = [{"name": "payment_intent_id", "value": payment_intent}]
    if order_id is not None:
        order["id"] = order_id
    return order


# Stripe: an Event (https://docs.stripe.com/api/events/object) whose data.object is the PaymentIntent of
# https://docs.stripe.com/api/payment_intents/object (status set to `succeeded`, `amount_received` to the
# amount, as a succeeded intent has them).
STRIPE_PAYMENT_INTENT: dict[str, Any] = {
    "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
    "object": "payment_intent",
    "amount": 2000,
    "amount_capturable": 0,
    "amount_details": {"tip": {}},
    "amount_received": 2000,
    "application": None,
    "automatic_payment_methods": {"enabled": True},
    "canceled_at": None,
    "capture_method": "automatic",
    "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
    "confirmation_method": "automatic",
    "created": 1680800504,
    "currency": "usd",
    "customer": None,
    "description": None,
    "last_payment_error": None,
    "latest_charge": "ch_3MtwBwLkdIwHu7ix28a3tqPb",
    "livemode": False,
    "metadata": {},
    "payment_method": "pm_1MtwBwLkdIwHu7ixjxxVbAbk",
    "payment_method_types": ["card"],
    "status": "succeeded",
}


def stripe_event(
    kind: str,
    obj: dict[str, Any],
    event_id: str = "evt_1NG8Du2eZvKYlo2CUI79vXWy",
    account: str | None = None,
    created: int = 1686089970,
) -> dict[str, Any]:
    """The documented Event envelope around `obj` (`account` is set on Connect events only)."""
    event: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "api_version": "2019-02-19",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }
    if account:
        event["account"] = account
    return event


def payment_intent(pi_id: str = STRIPE_PAYMENT_INTENT["id"], **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(STRIPE_PAYMENT_INTENT)
    obj["id"] = pi_id
    obj.update(changes)
    return obj


# A failed attempt: the PaymentIntent's `last_payment_error` (https://docs.stripe.com/api/payment_intents/object
# #payment_intent_object-last_payment_error) and the Charge of https://docs.stripe.com/api/charges/object with
# the documented failure fields set as for a declined card (https://docs.stripe.com/declines/codes).
FAILED_CHARGE_ID = "ch_3MmlLrLkdIwHu7ix0snN0B15"
CARD_DECLINED = {
    "type": "card_error",
    "code": "card_declined",
    "decline_code": "generic_decline",
    "message": "Your card was declined.",
    "charge": FAILED_CHARGE_ID,
    "doc_url": "https://stripe.com/docs/error-codes/card-declined",
}
STRIPE_FAILED_CHARGE: dict[str, Any] = {
    "id": FAILED_CHARGE_ID,
    "object": "charge",
    "amount": 1099,
    "amount_captured": 0,
    "amount_refunded": 0,
    "balance_transaction": None,
    "captured": False,
    "created": 1679090539,
    "currency": "usd",
    "failure_code": "card_declined",
    "failure_message": "Your card was declined.",
    "livemode": False,
    "metadata": {},
    "outcome": {
        "network_status": "declined_by_network",
        "reason": "generic_decline",
        "risk_level": "normal",
        "risk_score": 32,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    },
    "paid": False,
    "payment_intent": "pi_3MmlLrLkdIwHu7ix0kSAv5bE",
    "payment_method": "card_1MmlLrLkdIwHu7ixPNdyrkKl",
    "status": "failed",
}


# Alertmanager: the webhook payload (version 4) of https://prometheus.io/docs/alerting/latest/configuration/
# #webhook_config; the alert is Alertmanager's sample ProbeFailure alert with the merchant and stage labels a
# selfheal rule adds.
def alertmanager(status: str, ends_at: str = "0001-01-01T00:00:00Z", **labels: str) -> dict[str, Any]:
    alert_labels = {
        "alertname": "ProbeFailure",
        "instance": "https://server.example.org",
        "job": "http_checks",
        "monitor": "master",
        "severity": "critical",
        **labels,
    }
    return {
        "receiver": "selfheal",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": alert_labels,
                "annotations": {
                    "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
                    "summary": "BlackBox Probe Failure: https://server.example.org",
                },
                "startsAt": "2023-02-06T13:08:45.828Z",
                "endsAt": ends_at,
                "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
                "fingerprint": "1a30ba71cca2921f",
            }
        ],
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": alert_labels,
        "commonAnnotations": {
            "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
            "summary": "BlackBox Probe Failure: https://server.example.org",
        },
        "externalURL": "http://prometheus.example.org:9093",
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
        "truncatedAlerts": 0,
    }
