"""Notifications from real cycles over a simulated webhook fault, on SQLite and PostgreSQL: the incident's
opening, escalation, actions waiting (with the cost of waiting) and resolution reach a real Slack-like and
PagerDuty-like receiver; and a hanging receiver never holds a cycle up."""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from notifykit import HANG, Receiver, routes_settings
from sqlalchemy import update

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.notify.deliver import Deliverer, drain
from selfheal.notify.worker import Notifier
from selfheal.store import Store, notify_repo
from selfheal.store.tables import IncidentRow, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schedule"))
from cyclekit import T0, load_webhook_fault


def at(minutes: int):  # type: ignore[no-untyped-def]
    return T0 + timedelta(minutes=minutes)


def test_incident_lifecycle_is_notified_once_per_change(store: Store) -> None:
    load_webhook_fault(store)
    with Receiver() as rx:
        settings = routes_settings(rx)
        deps = CycleDeps(store=store, settings=settings)
        opened = run_cycle(deps, at(125))
        incident = opened.outcome.incident_id
        assert incident is not None and opened.outcome.incident_created
        assert [(n.event, n.receivers) for n in opened.notices] == [("opened", ("ops-slack", "oncall"))]
        assert len(opened.outcome.notifications) == 2
        # An earlier, milder assessment: the next cycle's critical one is an escalation.
        with store.transaction() as conn:
            t = table(IncidentRow)
            conn.execute(update(t).where(t.c.id == incident).values(severity="medium"))
        seen = run_cycle(deps, at(135))  # the fault (90-150 min) still on: not recovering
        events = {n.event.value: n for n in seen.notices}
        assert set(events) == {"escalated", "waiting"}
        assert events["escalated"].previous_severity == "medium"
        waiting = events["waiting"].cost_of_waiting
        assert waiting is not None and waiting.lost_revenue_per_hour > 0 and waiting.actions_waiting
        again = run_cycle(deps, at(145))  # still waiting on the same actions: not notified again
        assert [n.event.value for n in again.notices] == ["waiting"]
        assert again.outcome.notifications == ()
        for minutes in (200, 240, 260):
            last = run_cycle(deps, at(minutes))
        assert [n.event.value for n in last.notices] == ["resolved"]

        clock_sleeps: list[float] = []
        report = drain(Deliverer(store, settings), clock_sleeps.append)
    assert len(report.delivered) == 8 and report.failed == []
    pd = [r["json"] for r in rx.posts("/v2/enqueue")]
    assert [e["event_action"] for e in pd] == ["trigger", "trigger", "trigger", "resolve"]
    assert {e["dedup_key"] for e in pd} == {incident}
    assert {e["routing_key"] for e in pd} == {"R0UT1NGKEY"}
    opened_severity = opened.assessment.severity.value if opened.assessment else ""
    assert pd[0]["payload"]["severity"] == {"critical": "critical", "high": "error"}[opened_severity]
    slack = [r["json"] for r in rx.posts("/services/")]
    headers = [m["blocks"][0]["text"]["text"] for m in slack]
    assert [h.split("]")[1].split(":")[0].strip() for h in headers] == [
        "Incident opened",
        "Incident escalated",
        "Actions waiting for approval",
        "Incident resolved",
    ]
    waiting_text = slack[2]["blocks"][1]["text"]["text"]
    assert "Cost of waiting" in waiting_text and "per hour" in waiting_text
    assert f"assessment?incident={incident}" in slack[0]["text"]


def test_a_hanging_receiver_does_not_hold_the_cycle(store: Store) -> None:
    load_webhook_fault(store)
    with Receiver([HANG, HANG]) as rx:
        settings = routes_settings(
            rx, notify_timeout_seconds=30.0, notify_poll_seconds=0.2, notify_backoff_seconds=0.1
        )
        notifier = Notifier(store, settings)
        notifier.start()
        try:
            result = run_cycle(CycleDeps(store=store, settings=settings, notifier=notifier), at(150))
            with store.read() as conn:
                at_return, _ = notify_repo.list_notifications(conn)
            # Had the cycle waited for delivery, the hung calls would have ended (timeout) first.
            assert len(result.outcome.notifications) == 2
            assert {r.status for r in at_return} <= {"pending", "sending"}
            assert all(r.last_error is None and r.delivered_at is None for r in at_return)
            assert rx.arrived.wait(30), "the notifier never called the receiver"
            rx.release()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with store.read() as conn:
                    rows, _ = notify_repo.list_notifications(conn)
                if {r.status for r in rows} == {"delivered"}:
                    break
                threading.Event().wait(0.1)
        finally:
            notifier.stop()
    assert {r.status for r in rows} == {"delivered"}
    assert any(r.attempts >= 2 for r in rows)  # the hung call failed and was retried
