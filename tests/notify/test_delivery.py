"""The delivery worker against a real local HTTP receiver, on SQLite and PostgreSQL: Slack and PagerDuty
bodies as sent, retries with Retry-After (seconds and HTTP date) and jittered backoff on a stepped clock,
giving up (attempts, age, 4xx), audit entries, a repeated notice queued once, and two concurrent workers
that send each message exactly once."""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

from notifykit import Receiver, SteppedClock, notice, routes_settings

from selfheal.decide.plan_model import NoticeEvent
from selfheal.notify.deliver import Deliverer, backoff_seconds, drain, retry_after_seconds
from selfheal.notify.outbox import queue_notices
from selfheal.settings import Settings
from selfheal.store import Store, audit_repo, notify_repo


def queue(store: Store, settings: Settings, *notices: Any, incident: str = "inc-1") -> tuple[str, ...]:
    with store.transaction() as conn:
        return queue_notices(conn, tuple(notices), incident, settings)


def rows(store: Store, **filters: Any) -> list[notify_repo.NotificationRecord]:
    with store.read() as conn:
        return notify_repo.list_notifications(conn, **filters)[0]


def audits(store: Store, prefix: str = "notification.") -> list[Any]:
    with store.read() as conn:
        return list(reversed(audit_repo.query(conn, action=prefix, limit=1000)))


def test_slack_and_pagerduty_delivered_as_documented(store: Store) -> None:
    with Receiver() as rx:
        settings = routes_settings(rx)
        ids = queue(store, settings, notice())
        assert len(ids) == 2
        report = Deliverer(store, settings).deliver_due()
    assert sorted(report.delivered) == sorted(ids)
    (slack,) = rx.posts("/services/")
    assert slack["headers"]["Content-Type"] == "application/json"
    assert slack["json"]["blocks"][0]["type"] == "header"
    assert "inc-1" in slack["json"]["text"]
    (pd,) = rx.posts("/v2/enqueue")
    assert pd["json"]["routing_key"] == "R0UT1NGKEY"
    assert pd["json"]["event_action"] == "trigger"
    assert pd["json"]["dedup_key"] == "inc-1"
    assert pd["json"]["payload"]["severity"] == "critical"
    stored = rows(store)
    assert {r.status for r in stored} == {"delivered"}
    assert {r.last_status for r in stored} == {200, 202}
    assert all(r.attempts == 1 and r.delivered_at is not None for r in stored)
    assert "R0UT1NGKEY" not in str([r.payload for r in stored])  # the key is not stored
    assert [a.action for a in audits(store)] == ["notification.delivered"] * 2


def test_a_repeated_notice_is_queued_once_per_receiver(store: Store) -> None:
    with Receiver() as rx:
        settings = routes_settings(rx)
        first = queue(store, settings, notice(NoticeEvent.waiting, key="waiting:abc"))
        again = queue(store, settings, notice(NoticeEvent.waiting, key="waiting:abc"))
        other = queue(store, settings, notice(NoticeEvent.waiting, key="waiting:def"))
    assert len(first) == 2 and again == () and len(other) == 2
    assert len(rows(store)) == 4


def test_retry_after_seconds_and_http_date_then_backoff_then_delivered(store: Store) -> None:
    with Receiver() as rx:
        settings = routes_settings(rx, notify_max_attempts=6, notify_backoff_seconds=4.0)
        settings = settings.model_copy(update={"notify_routes": settings.notify_routes[:1]})
        (row_id,) = queue(store, settings, notice())
        clock = SteppedClock(time.time() + 1)
        date_in_90s = email.utils.formatdate(clock.now + 120 + 90, usegmt=True)
        rx.script += [
            (429, {"Retry-After": "120"}),
            (503, {"Retry-After": date_in_90s}),
            (500, {}),
            (502, {}),
        ]
        deliverer = Deliverer(store, settings, clock=clock, draw=lambda: 0.5)
        report = drain(deliverer, clock.sleep)
    assert report.delivered == [row_id]
    assert len(rx.posts("/services/")) == 5
    # Retry-After as seconds, then as an HTTP date (whole seconds), then full jitter 0.5 * 4 * 2^(n-1).
    assert clock.slept[0] == 120
    assert 88 <= clock.slept[1] <= 91
    assert clock.slept[2:] == [0.5 * 4 * 4, 0.5 * 4 * 8]
    (row,) = rows(store)
    assert row.status == "delivered" and row.attempts == 5 and row.last_error is None
    actions = [a.action for a in audits(store)]
    assert actions == ["notification.attempt_failed"] * 4 + ["notification.delivered"]
    first = audits(store)[0].after
    assert first["http_status"] == 429 and first["receiver"] == "ops-slack" and first["attempt"] == 1


def test_gives_up_after_the_attempts_and_says_why(store: Store) -> None:
    with Receiver([(500, {})] * 10) as rx:
        settings = routes_settings(rx, notify_max_attempts=3)
        settings = settings.model_copy(update={"notify_routes": settings.notify_routes[1:]})
        queue(store, settings, notice())
        clock = SteppedClock(time.time() + 1)
        report = drain(Deliverer(store, settings, clock=clock, draw=lambda: 1.0), clock.sleep)
    assert len(report.failed) == 1 and report.delivered == []
    assert len(rx.posts("/v2/enqueue")) == 3
    (row,) = rows(store, status="failed")
    assert row.attempts == 3 and row.last_status == 500 and row.last_error.startswith("HTTP 500")
    assert [a.action for a in audits(store)][-1] == "notification.failed"


def test_gives_up_when_retry_after_reaches_past_the_age_limit(store: Store) -> None:
    with Receiver([(429, {"Retry-After": "7200"})]) as rx:
        settings = routes_settings(rx, notify_max_age_minutes=60)
        settings = settings.model_copy(update={"notify_routes": settings.notify_routes[:1]})
        queue(store, settings, notice())
        report = Deliverer(store, settings, clock=SteppedClock(time.time() + 1)).deliver_due()
    assert len(report.failed) == 1
    assert rows(store)[0].last_status == 429


def test_a_client_error_fails_at_once_and_a_removed_receiver_too(store: Store) -> None:
    with Receiver([(404, {})]) as rx:
        settings = routes_settings(rx)
        queue(store, settings, notice())
        clock = SteppedClock(time.time() + 1)
        only_pd = settings.model_copy(update={"notify_routes": settings.notify_routes[1:]})
        report = Deliverer(store, only_pd, clock=clock).deliver_due()
    assert len(report.failed) == 2
    by_receiver = {r.receiver: r for r in rows(store)}
    assert by_receiver["oncall"].last_status == 404
    assert "no longer configured" in (by_receiver["ops-slack"].last_error or "")
    assert len(rx.requests) == 1


def test_a_hanging_receiver_times_out_and_is_retried(store: Store) -> None:
    with Receiver(["hang"]) as rx:
        settings = routes_settings(rx, notify_timeout_seconds=0.3)
        settings = settings.model_copy(update={"notify_routes": settings.notify_routes[:1]})
        queue(store, settings, notice())
        report = Deliverer(store, settings, clock=SteppedClock(time.time() + 1)).deliver_due()
        rx.release()
    assert len(report.retrying) == 1
    (row,) = rows(store)
    assert row.status == "pending" and row.last_status is None
    assert "Timeout" in (row.last_error or "")


def test_two_workers_send_each_message_exactly_once(store: Store) -> None:
    with Receiver() as rx:
        settings = routes_settings(rx)
        for i in range(15):
            queue(store, settings, notice(), incident=f"inc-{i:03d}")
        barrier = threading.Barrier(2)
        reports = []

        def work() -> None:
            deliverer = Deliverer(store, settings)
            barrier.wait()
            reports.append(deliverer.deliver_due())

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    sent = [(r["path"].split("/")[1], r["json"].get("dedup_key") or r["json"]["text"]) for r in rx.requests]
    assert len(sent) == 30
    assert len(set(sent)) == 30
    assert sorted(reports[0].delivered + reports[1].delivered) == sorted(r.id for r in rows(store))
    assert not set(reports[0].delivered) & set(reports[1].delivered)
    assert {r.status for r in rows(store)} == {"delivered"}
    assert {r.attempts for r in rows(store)} == {1}


def test_retry_after_and_backoff_helpers() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds(email.utils.formatdate(now + 45, usegmt=True), now) == 45
    assert retry_after_seconds(email.utils.formatdate(now - 45, usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
    assert backoff_seconds(1, 2.0, 0.999) < 2.0
    assert backoff_seconds(3, 2.0, 0.5) == 4.0
    assert backoff_seconds(30, 2.0, 1.0) == 300.0
