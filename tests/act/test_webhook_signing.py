"""Standard Webhooks signatures: the stock `standardwebhooks` library verifies ours and ours verifies its,
timestamps outside the tolerance are refused, several signatures (key rotation) are accepted, and the
webhook executor's real HTTP calls carry verifiable headers."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
from actkit import Receiver, Seeder, proposal

from selfheal.act.executors import verify_signature
from selfheal.act.executors.signing import secret_key, sign, signed_headers
from selfheal.act.workflow import Workflow
from selfheal.errors import Conflict
from selfheal.settings import Settings
from selfheal.store import Store

KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SECRET = "whsec_" + KEY
BODY = b'{"action_id":"act_1","key":"replay_failed_webhooks"}'


def test_the_stock_library_verifies_our_signature() -> None:
    now = int(time.time())
    headers = signed_headers([SECRET], "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, BODY)
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == {
        "action_id": "act_1",
        "key": "replay_failed_webhooks",
    }
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook("whsec_" + base64.b64encode(b"another key").decode()).verify(BODY, headers)


def test_we_verify_the_stock_library_signature() -> None:
    stamp = datetime.now(UTC).replace(microsecond=0)
    signature = standardwebhooks.Webhook(SECRET).sign("msg_1", stamp, BODY.decode())
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(stamp.timestamp())),
        "Webhook-Signature": signature,
    }
    assert verify_signature(SECRET, headers, BODY)
    assert not verify_signature(SECRET, headers, BODY + b"x")
    assert not verify_signature(SECRET, {**headers, "Webhook-Id": "msg_2"}, BODY)


def test_a_plain_secret_is_its_own_bytes_for_the_stock_library_too() -> None:
    plain = "s3cret-for-tests"
    headers = signed_headers([plain], "msg_1", int(time.time()), BODY)
    standardwebhooks.Webhook(plain.encode()).verify(BODY, headers)
    assert secret_key(plain) == plain.encode()


def test_stale_and_future_timestamps_are_refused() -> None:
    now = 1_800_000_000
    for offset, ok in ((0, True), (-300, True), (300, True), (-301, False), (301, False), (-3600, False)):
        headers = signed_headers([SECRET], "msg_1", now + offset, BODY)
        assert verify_signature(SECRET, headers, BODY, now=now) is ok, offset
    headers = signed_headers([SECRET], "msg_1", now - 600, BODY)
    assert verify_signature(SECRET, headers, BODY, now=now, tolerance_seconds=900)
    # The stock library refuses the same stale call.
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(
            BODY, signed_headers([SECRET], "m", int(time.time()) - 301, BODY)
        )


def test_rotation_several_signatures_any_one_matches() -> None:
    old, new = SECRET, "whsec_" + base64.b64encode(b"the next key, rotated in").decode()
    now = int(time.time())
    headers = signed_headers([old, new], "msg_1", now, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify_signature(old, headers, BODY)
    assert verify_signature(new, headers, BODY)
    standardwebhooks.Webhook(new).verify(BODY, headers)
    assert not verify_signature("whsec_" + base64.b64encode(b"unrelated").decode(), headers, BODY)


def test_malformed_headers_are_refused_not_raised() -> None:
    now = int(time.time())
    good = signed_headers([SECRET], "msg_1", now, BODY)
    assert not verify_signature(SECRET, {}, BODY)
    assert not verify_signature(SECRET, {**good, "webhook-timestamp": "soon"}, BODY)
    assert not verify_signature(SECRET, {**good, "webhook-signature": "v2,abc"}, BODY)
    assert not verify_signature(SECRET, {**good, "webhook-signature": "garbage"}, BODY)
    assert sign(SECRET, "msg_1", now, BODY) == good["webhook-signature"]


def test_executor_calls_verify_with_the_stock_library(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver() as rx:
        settings = Settings(
            act_executor="webhook",
            act_webhook_url=rx.url,
            act_webhook_secret=SECRET,  # type: ignore[arg-type]
            act_webhook_allowed_hosts=["127.0.0.1"],
        )
        (aid,) = seed(sqlite_store, settings, proposal(), actor="cycle")
        Workflow(sqlite_store, settings).approve(aid, "alice")
        done = Workflow(sqlite_store, settings).execute(aid, "alice")
    assert done.status == "succeeded"
    req = rx.requests[0]
    payload = standardwebhooks.Webhook(SECRET).verify(req["body"], dict(req["headers"]))
    assert payload["action_id"] == aid
    assert {k.lower(): v for k, v in req["headers"].items()}["webhook-id"] == aid


def test_an_unusable_secret_is_refused_before_sending(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver() as rx:
        settings = Settings(
            act_executor="webhook",
            act_webhook_url=rx.url,
            act_webhook_secret="whsec_not base64!",  # type: ignore[arg-type]
            act_webhook_allowed_hosts=["127.0.0.1"],
        )
        (aid,) = seed(sqlite_store, settings, proposal(), actor="cycle")
        Workflow(sqlite_store, settings).approve(aid, "alice")
        with pytest.raises(Conflict):
            Workflow(sqlite_store, settings).execute(aid, "alice")
    assert rx.requests == []
