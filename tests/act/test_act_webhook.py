"""The webhook executor against a real local HTTP server: signature, retries with backoff, timeout,
host allow-list, no redirects."""

from __future__ import annotations

import json
import time

import pytest
from actkit import Receiver, Seeder, proposal

from selfheal.act.executors import WebhookExecutor, host_allowed, verify_signature
from selfheal.act.workflow import Workflow
from selfheal.errors import Conflict
from selfheal.settings import Settings
from selfheal.store import Store

SECRET = "s3cret-for-tests"


def hook_settings(url: str, **over: object) -> Settings:
    values: dict[str, object] = {
        "act_executor": "webhook",
        "act_webhook_url": url,
        "act_webhook_secret": SECRET,
        "act_webhook_allowed_hosts": ["127.0.0.1"],
        "act_webhook_timeout_seconds": 2.0,
        "act_webhook_retries": 3,
        "act_webhook_backoff_seconds": 0.05,
    }
    values.update(over)
    return Settings(**values)  # type: ignore[arg-type]


def approved(store: Store, settings: Settings, seed: Seeder) -> str:
    (aid,) = seed(store, settings, proposal(params={"merchants": ["m-1"]}), actor="cycle")
    Workflow(store, settings).approve(aid, "alice")
    return aid


def test_posts_signed_json_once(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver() as rx:
        settings = hook_settings(rx.url)
        aid = approved(sqlite_store, settings, seed)
        done = Workflow(sqlite_store, settings).execute(aid, "alice")
    assert done.status == "succeeded"
    assert done.executor == "webhook"
    assert len(rx.requests) == 1
    req = rx.requests[0]
    body = req["body"]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == aid
    assert headers["webhook-id"] == aid
    assert verify_signature(SECRET, headers, body)
    assert not verify_signature("wrong", headers, body)
    assert not verify_signature(SECRET, headers, body + b" ")
    assert "x-selfheal-signature" not in headers
    payload = json.loads(body)
    assert payload["action_id"] == aid
    assert payload["key"] == "replay_failed_webhooks"
    assert payload["params"] == {"merchants": ["m-1"]}
    assert payload["category"] == "webhook_delivery"
    assert payload["attempt"] == 1


def test_retries_with_backoff_then_succeeds(sqlite_store: Store, seed: Seeder) -> None:
    plan = [(503, 0.0, {}), (500, 0.0, {})]
    with Receiver(plan) as rx:
        settings = hook_settings(rx.url, act_webhook_backoff_seconds=0.1)
        aid = approved(sqlite_store, settings, seed)
        started = time.monotonic()
        done = Workflow(sqlite_store, settings).execute(aid, "alice")
        elapsed = time.monotonic() - started
    assert done.status == "succeeded"
    assert len(rx.requests) == 3
    assert done.result is not None
    assert [c.get("status") for c in done.result["detail"]["calls"]] == [503, 500, 200]
    assert elapsed >= 0.1 + 0.2  # backoff 0.1 then 0.2 seconds
    # The same signed body on every retry.
    assert len({r["body"] for r in rx.requests}) == 1


def test_gives_up_after_retries(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver([(503, 0.0, {})] * 10) as rx:
        settings = hook_settings(rx.url, act_webhook_retries=2)
        aid = approved(sqlite_store, settings, seed)
        done = Workflow(sqlite_store, settings).execute(aid, "alice")
    assert done.status == "failed"
    assert len(rx.requests) == 3
    assert done.error == "HTTP 503"


def test_client_error_is_not_retried(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver([(400, 0.0, {})]) as rx:
        settings = hook_settings(rx.url)
        aid = approved(sqlite_store, settings, seed)
        done = Workflow(sqlite_store, settings).execute(aid, "alice")
    assert done.status == "failed"
    assert len(rx.requests) == 1


def test_timeout_counts_as_a_failed_call(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver([(200, 1.0, {}), (200, 1.0, {})]) as rx:
        settings = hook_settings(rx.url, act_webhook_timeout_seconds=0.2, act_webhook_retries=1)
        aid = approved(sqlite_store, settings, seed)
        done = Workflow(sqlite_store, settings).execute(aid, "alice")
    assert done.status == "failed"
    assert done.result is not None
    calls = done.result["detail"]["calls"]
    assert len(calls) == 2
    assert all("Timeout" in c["error"] for c in calls)


def test_disallowed_host_is_refused_before_anything_happens(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver() as rx:
        # Same server, but addressed by a host name that is not on the list.
        url = rx.url.replace("127.0.0.1", "localhost")
        settings = hook_settings(url, act_webhook_allowed_hosts=["127.0.0.1"])
        aid = approved(sqlite_store, settings, seed)
        wf = Workflow(sqlite_store, settings)
        with pytest.raises(Conflict, match="'localhost' is not in the allow-list"):
            wf.execute(aid, "alice")
        # Nothing sent, nothing claimed: the action is still approved.
        assert rx.requests == []
        assert wf.get(aid).status == "approved"
        assert wf.get(aid).attempts == 0


def test_empty_allow_list_refuses_everything(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver() as rx:
        settings = hook_settings(rx.url, act_webhook_allowed_hosts=[])
        aid = approved(sqlite_store, settings, seed)
        with pytest.raises(Conflict, match="allow-list"):
            Workflow(sqlite_store, settings).execute(aid, "alice")
        assert rx.requests == []


def test_unsigned_calls_are_refused(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver() as rx:
        settings = hook_settings(rx.url, act_webhook_secret=None)
        aid = approved(sqlite_store, settings, seed)
        with pytest.raises(Conflict, match="unsigned"):
            Workflow(sqlite_store, settings).execute(aid, "alice")
        assert rx.requests == []


def test_redirects_are_not_followed(sqlite_store: Store, seed: Seeder) -> None:
    with Receiver() as elsewhere, Receiver([(307, 0.0, {"Location": "__"})]) as rx:
        rx.plan[0][2]["Location"] = elsewhere.url
        settings = hook_settings(rx.url)
        aid = approved(sqlite_store, settings, seed)
        done = Workflow(sqlite_store, settings).execute(aid, "alice")
    assert done.status == "failed"
    assert len(rx.requests) == 1
    assert elsewhere.requests == []


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("https://hooks.example.com/x", ["hooks.example.com"], True),
        ("https://HOOKS.example.com./x", ["hooks.example.com"], True),
        ("https://a.hooks.example.com/x", ["*.hooks.example.com"], True),
        ("https://hooks.example.com/x", ["*.hooks.example.com"], False),
        ("https://evilhooks.example.com/x", ["*.hooks.example.com"], False),
        ("https://hooks.example.com.evil.net/x", ["hooks.example.com"], False),
        ("https://hooks.example.com@evil.net/x", ["hooks.example.com"], False),
        ("ftp://hooks.example.com/x", ["hooks.example.com"], False),
        ("file:///etc/passwd", ["hooks.example.com"], False),
        ("not a url", ["hooks.example.com"], False),
        ("https://hooks.example.com/x", [], False),
    ],
)
def test_host_allowed(url: str, allowed: list[str], ok: bool) -> None:
    assert host_allowed(url, allowed) is ok


def test_executor_alone_refuses_disallowed_host() -> None:
    from selfheal.act.executors import ExecutionRequest

    ex = WebhookExecutor("http://10.0.0.1/hook", SECRET, ["127.0.0.1"], retries=0)
    request = ExecutionRequest(
        action_id="a", attempt=1, key="k", title="t", risk="low", requested_by="x", executed_by="y"
    )
    with pytest.raises(Conflict, match=r"10\.0\.0\.1"):
        ex.execute(request)
