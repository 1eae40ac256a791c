"""Concurrent deliveries of one event (a provider's retry racing its first try, two Alertmanager replicas) store
it once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
from payloads import alertmanager, payment_intent, shopify_order, stripe_event
from sqlalchemy import func, select

from selfheal.connect.merchants import SettingsMerchants
from selfheal.connect.receive import receive_alerts, receive_shopify, receive_stripe
from selfheal.connect.signatures import shopify_signature, stripe_signature
from selfheal.settings import Settings
from selfheal.store import Store
from selfheal.store.alert_tables import AlertRow
from selfheal.store.tables import LogEventRow, LogRollupRow

THREADS = 6


def _race(work: list) -> list:
    barrier = threading.Barrier(len(work))
    results: list = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_deliveries_store_one_event(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, shopify_webhook_secret="s1", stripe_webhook_secret="whsec_s2")
    merchants = SettingsMerchants.from_settings(settings)
    stripe_body = orjson.dumps(stripe_event("payment_intent.succeeded", payment_intent("pi_race")))
    shop_body = orjson.dumps(shopify_order(payment_intent="pi_race"))
    shop_headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Hmac-Sha256": shopify_signature("s1", shop_body),
    }

    def stripe() -> bool:
        sig = stripe_signature("whsec_s2", stripe_body, int(time.time()))
        return receive_stripe(store, settings, merchants, stripe_body, sig).stored

    def shopify() -> bool:
        return receive_shopify(store, settings, merchants, shop_body, shop_headers).stored

    results = _race([stripe, shopify] * (THREADS // 2))
    assert results.count(True) == 2  # one Stripe delivery and one Shopify delivery stored
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(LogEventRow)).scalar_one() == 2
        assert conn.execute(select(func.sum(LogRollupRow.count))).scalar_one() == 2


def test_concurrent_alert_notifications_store_one_occurrence(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    firing = orjson.dumps(alertmanager("firing", merchant_id="m-1"))
    results = _race([lambda: receive_alerts(store, settings, firing, "alertmanager")] * THREADS)
    assert sum(r.stored for r in results) == 1
    assert sum(r.duplicates for r in results) == THREADS - 1
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(AlertRow)).scalar_one() == 1
