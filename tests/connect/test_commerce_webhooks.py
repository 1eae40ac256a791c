"""Shopify and Stripe webhooks against their documented wire formats, on SQLite and PostgreSQL: the signature
checked exactly as documented, each event stored once as a log event, payments paired with orders."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from payloads import (
    CARD_DECLINED,
    FAILED_CHARGE_ID,
    SHOP,
    STRIPE_FAILED_CHARGE,
    payment_intent,
    shopify_order,
    stripe_event,
)
from sqlalchemy import func, select

from selfheal.api.app import create_app
from selfheal.observe import observe
from selfheal.reason.detect.pairing import pair_payments
from selfheal.records import ms_to_dt
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store
from selfheal.store.tables import AuditRow, LogEventRow, LogRollupRow

SHOPIFY_SECRET = "hush-shopify-client-secret"
STRIPE_SECRET = "whsec_test_5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        auth_mode=AuthMode.closed,
        admin_key="admin-key-for-tests-only",
        shopify_webhook_secret=SHOPIFY_SECRET,
        shopify_merchants={SHOP: "m-001"},
        stripe_webhook_secret=STRIPE_SECRET,
        stripe_merchants={"acct_1032D82eZvKYlo2C": "m-001"},
        connector_max_body_bytes=64 * 1024,
    )


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        yield c


def shopify_headers(
    body: bytes, topic: str = "orders/create", secret: str = SHOPIFY_SECRET
) -> dict[str, str]:
    # base64(HMAC-SHA256(client secret, raw body)), computed here independently of the product's code
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2024-07",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2022-01-01T00:00:05.000Z",
    }


def stripe_headers(body: bytes, t: int | None = None, secret: str = STRIPE_SECRET) -> dict[str, str]:
    # v1 = hex HMAC-SHA256(endpoint secret, "{t}.{raw body}"), computed here independently
    t = int(time.time()) if t is None else t
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={sig},v0=ignored"}


def post_shopify(client: TestClient, order: dict[str, Any], topic: str = "orders/create") -> Any:
    body = orjson.dumps(order)
    return client.post("/connectors/shopify/webhooks", content=body, headers=shopify_headers(body, topic))


def post_stripe(client: TestClient, event: dict[str, Any]) -> Any:
    body = orjson.dumps(event)
    return client.post("/connectors/stripe/webhooks", content=body, headers=stripe_headers(body))


def counts(store: Store) -> tuple[int, int, int]:
    """(log events, rollup rows, audit records)."""
    with store.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(LogEventRow)).scalar_one(),
            conn.execute(select(func.count()).select_from(LogRollupRow)).scalar_one(),
            conn.execute(select(func.count()).select_from(AuditRow)).scalar_one(),
        )


def log_rows(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(LogEventRow.__table__).order_by(LogEventRow.id))
        ]


# --- Shopify ------------------------------------------------------------------------------------------


def test_shopify_order_created_becomes_one_order_event(client: TestClient, store: Store) -> None:
    res = post_shopify(client, shopify_order(payment_intent="pi_3MtwBwLkdIwHu7ix28a3tqPa"))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["stored"] is True and body["duplicate"] is False and body["ignored"] is False
    assert body["event_id"] == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    (row,) = log_rows(store)
    assert row["event"] == "order.created"
    assert row["merchant_id"] == "m-001"  # mapped from the shop domain
    assert row["correlation_id"] == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert row["source"] == "webhook" and row["endpoint"] == "shopify orders/create"
    assert ms_to_dt(row["ts_ms"]).isoformat() == "2022-01-01T00:00:00+00:00"  # 19:00 at -05:00
    assert row["extra"]["amount"] == 398.0 and row["extra"]["currency"] == "USD"
    assert row["extra"]["order_name"] == "#9999"


def test_shopify_replay_is_a_duplicate_not_a_second_order(client: TestClient, store: Store) -> None:
    order = shopify_order(payment_intent="pi_1")
    assert post_shopify(client, order).json()["stored"] is True
    before = counts(store)
    again = post_shopify(client, order)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["stored"] is False
    assert counts(store)[:2] == before[:2]  # no second event, no second rollup count
    with store.read() as conn:
        rollup = conn.execute(select(func.sum(LogRollupRow.count))).scalar_one()
    assert rollup == 1


def test_shopify_orders_paid_is_its_own_event(client: TestClient, store: Store) -> None:
    assert post_shopify(client, shopify_order(payment_intent="pi_1")).json()["stored"]
    paid = post_shopify(client, shopify_order(payment_intent="pi_1"), topic="orders/paid")
    assert paid.json()["stored"] is True and paid.json()["event"] == "order.paid"
    rows = {r["event"]: r for r in log_rows(store)}
    assert set(rows) == {"order.created", "order.paid"}
    assert ms_to_dt(rows["order.paid"]["ts_ms"]).isoformat() == "2022-01-01T00:00:05+00:00"  # Triggered-At


def test_shopify_bad_signature_is_401_and_stores_nothing(client: TestClient, store: Store) -> None:
    body = orjson.dumps(shopify_order())
    headers = shopify_headers(body, secret="not-the-secret")
    res = client.post("/connectors/shopify/webhooks", content=body, headers=headers)
    assert res.status_code == 401
    assert res.json()["error"]["details"]["reason"] == "mismatch"
    tampered = body.replace(b"398.00", b"1.00")
    res = client.post("/connectors/shopify/webhooks", content=tampered, headers=shopify_headers(body))
    assert res.status_code == 401
    missing = {k: v for k, v in shopify_headers(body).items() if k != "X-Shopify-Hmac-Sha256"}
    assert client.post("/connectors/shopify/webhooks", content=body, headers=missing).status_code == 401
    assert counts(store) == (0, 0, 0)


def test_shopify_malformed_body_is_422_and_stores_nothing(client: TestClient, store: Store) -> None:
    for body, field in ((b"{not json", "body"), (b"[1, 2]", "body"), (orjson.dumps({"name": "#1"}), "id")):
        res = client.post("/connectors/shopify/webhooks", content=body, headers=shopify_headers(body))
        assert res.status_code == 422, res.text
        assert res.json()["error"]["details"]["field"] == field
    order = shopify_order()
    order["created_at"] = "yesterday"
    res = post_shopify(client, order)
    assert res.status_code == 422 and res.json()["error"]["details"]["field"] == "created_at"
    assert counts(store) == (0, 0, 0)


def test_shopify_other_topics_are_acknowledged_and_ignored(client: TestClient, store: Store) -> None:
    res = post_shopify(client, shopify_order(), topic="orders/updated")
    assert res.status_code == 200 and res.json()["ignored"] is True
    assert counts(store) == (0, 0, 0)


def test_oversized_body_is_413(client: TestClient, store: Store) -> None:
    order = shopify_order()
    order["note"] = "x" * (70 * 1024)
    assert post_shopify(client, order).status_code == 413
    assert counts(store) == (0, 0, 0)


def test_unconfigured_connector_answers_404(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auth_mode=AuthMode.open)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        body = orjson.dumps(shopify_order())
        res = c.post("/connectors/shopify/webhooks", content=body, headers=shopify_headers(body))
        assert res.status_code == 404 and res.json()["error"]["code"] == "not_configured"
        res = c.post("/connectors/stripe/webhooks", content=body, headers=stripe_headers(body))
        assert res.status_code == 404
    assert counts(store) == (0, 0, 0)


# --- Stripe -------------------------------------------------------------------------------------------


def test_stripe_payment_succeeded_becomes_one_payment_event(client: TestClient, store: Store) -> None:
    event = stripe_event("payment_intent.succeeded", payment_intent(), account="acct_1032D82eZvKYlo2C")
    res = post_stripe(client, event)
    assert res.status_code == 200, res.text
    assert res.json()["stored"] is True and res.json()["event_id"] == "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    (row,) = log_rows(store)
    assert row["event"] == "payment.succeeded" and row["status_code"] == 200
    assert row["merchant_id"] == "m-001"  # the Connect account, mapped
    assert row["correlation_id"] == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert row["source"] == "payment"
    assert row["extra"]["amount"] == 20.0 and row["extra"]["currency"] == "USD"
    assert ms_to_dt(row["ts_ms"]).timestamp() == 1686089970


def test_stripe_replay_is_a_duplicate_not_a_second_payment(client: TestClient, store: Store) -> None:
    event = stripe_event("payment_intent.succeeded", payment_intent())
    assert post_stripe(client, event).json()["stored"] is True
    again = post_stripe(client, event)  # the same event, freshly signed: Stripe's retry
    assert again.status_code == 200 and again.json()["duplicate"] is True
    other_delivery = stripe_event("payment_intent.succeeded", payment_intent(), event_id="evt_other")
    assert post_stripe(client, other_delivery).json()["duplicate"] is True  # the same PaymentIntent
    assert counts(store)[0] == 1
    assert log_rows(store)[0]["merchant_id"] == "stripe"  # no account, no default merchant


def test_one_failed_attempt_is_one_failure(client: TestClient, store: Store) -> None:
    """Stripe sends `charge.failed` and `payment_intent.payment_failed` for one declined attempt."""
    intent = payment_intent(
        "pi_3MmlLrLkdIwHu7ix0kSAv5bE", status="requires_payment_method", last_payment_error=CARD_DECLINED
    )
    first = post_stripe(client, stripe_event("charge.failed", STRIPE_FAILED_CHARGE, event_id="evt_charge"))
    second = post_stripe(client, stripe_event("payment_intent.payment_failed", intent, event_id="evt_pi"))
    assert first.json()["stored"] is True and second.json()["duplicate"] is True
    (row,) = log_rows(store)
    assert row["id"] == f"stripe:{FAILED_CHARGE_ID}:failed"
    assert row["event"] == "payment.failed" and row["status_code"] == 402
    assert row["correlation_id"] == "pi_3MmlLrLkdIwHu7ix0kSAv5bE"
    assert row["message"] == "Your card was declined."
    assert row["extra"]["failure_code"] == "card_declined"
    assert row["extra"]["amount"] == 10.99


def test_stripe_bad_signature_or_stale_timestamp_is_401_and_stores_nothing(
    client: TestClient, store: Store
) -> None:
    body = orjson.dumps(stripe_event("payment_intent.succeeded", payment_intent()))
    url = "/connectors/stripe/webhooks"
    assert (
        client.post(url, content=body, headers=stripe_headers(body, secret="whsec_wrong")).status_code == 401
    )
    stale = client.post(url, content=body, headers=stripe_headers(body, t=int(time.time()) - 301))
    assert stale.status_code == 401
    assert stale.json()["error"]["details"]["reason"] == "timestamp outside tolerance"
    future = client.post(url, content=body, headers=stripe_headers(body, t=int(time.time()) + 400))
    assert future.status_code == 401
    tampered = body.replace(b"2000", b"9999")
    assert client.post(url, content=tampered, headers=stripe_headers(body)).status_code == 401
    for header in ("", "t=abc,v1=00", "v1=00", f"t={int(time.time())}"):
        res = client.post(url, content=body, headers={"Stripe-Signature": header})
        assert res.status_code == 401, header
    assert client.post(url, content=body).status_code == 401
    assert counts(store) == (0, 0, 0)
    # within the tolerance, the same body is accepted
    ok = client.post(url, content=body, headers=stripe_headers(body, t=int(time.time()) - 200))
    assert ok.status_code == 200 and ok.json()["stored"] is True


def test_stripe_malformed_event_is_422_and_stores_nothing(client: TestClient, store: Store) -> None:
    cases: list[tuple[Any, str]] = [
        ({"type": "payment_intent.succeeded"}, "id"),
        ({"id": "evt_1", "type": "payment_intent.succeeded", "created": "today", "data": {}}, "created"),
        (
            {"id": "evt_1", "type": "payment_intent.succeeded", "created": 1686089970, "data": {}},
            "data.object",
        ),
    ]
    for event, field in cases:
        res = post_stripe(client, event)
        assert res.status_code == 422, res.text
        assert res.json()["error"]["details"]["field"] == field
    assert counts(store) == (0, 0, 0)


def test_stripe_other_event_types_are_ignored(client: TestClient, store: Store) -> None:
    res = post_stripe(client, stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert res.status_code == 200 and res.json()["ignored"] is True
    assert counts(store) == (0, 0, 0)


# --- the payment-without-order check on shop data -----------------------------------------------------


def test_payments_pair_with_shopify_orders(client: TestClient, store: Store, settings: Settings) -> None:
    """Two Stripe payments; only one gets its Shopify order: the pairing finds exactly the other one."""
    created = 1686089970
    for pi, evt in (("pi_paired", "evt_a"), ("pi_orphan", "evt_b")):
        event = stripe_event(
            "payment_intent.succeeded",
            payment_intent(pi),
            event_id=evt,
            account="acct_1032D82eZvKYlo2C",
            created=created,
        )
        assert post_stripe(client, event).json()["stored"] is True
    order = shopify_order(payment_intent="pi_paired")
    order["created_at"] = "2023-06-06T22:20:30Z"  # 60 s after the payment
    assert post_shopify(client, order).json()["stored"] is True

    as_of = ms_to_dt(created * 1000) + timedelta(minutes=30)
    obs = observe(store, as_of, 60, settings)
    assert {(e.event, e.correlation_id) for e in obs.payment_events} == {
        ("payment.succeeded", "pi_paired"),
        ("payment.succeeded", "pi_orphan"),
        ("order.created", "pi_paired"),
    }
    (gap,) = pair_payments(obs.payment_events, obs.window_start, obs.as_of, timedelta(minutes=5))
    assert gap.merchant_id == "m-001"
    assert gap.payments == 2 and gap.missing_orders == 1
    assert gap.example_correlation_ids == ("pi_orphan",)
