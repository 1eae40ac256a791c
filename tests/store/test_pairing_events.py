"""Payment/order pairing outlives raw log retention: pruning keeps each pruned payment and order with a
correlation id as a pairing event (`payment_order_events`, same id as the raw event), in its transaction, and
pairing reads both tables, on SQLite and PostgreSQL. An order that arrives after its payment was pruned still
pairs with it; a batch re-sent after pruning, and pruned again, adds nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.ingest import store_batch
from selfheal.observe import observe
from selfheal.reason.detect.pairing import pair_payments
from selfheal.reason.model import SoftFailureGap
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.signals import LogEvent
from selfheal.store import Store, audit_repo, window_repo
from selfheal.store.signals_repo import prune_raw_logs

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
AS_OF = T0 + timedelta(minutes=40)


def _event(kind: str, correlation: str, at: datetime, merchant: str = "m1") -> LogEvent:
    webhook = kind == "order.created"
    return LogEvent(
        id=f"{kind}:{correlation}",
        ts=at,
        merchant_id=merchant,
        source="webhook" if webhook else "payment",
        endpoint="POST /webhooks/order-created" if webhook else "POST /payments/capture",
        status_code=200,
        event=kind,
        correlation_id=correlation,
        migration_stage="wave_1",
    )


def _gaps(store: Store, settings: Settings) -> tuple[SoftFailureGap, ...]:
    obs = observe(store, AS_OF, 60, settings)
    grace = timedelta(minutes=settings.soft_failure_grace_minutes)
    return pair_payments(obs.payment_events, obs.window_start, obs.as_of, grace)


def _pairing_rows(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(text("SELECT count(*) FROM payment_order_events")).scalar_one())


def _payments() -> list[LogEvent]:
    """Three payments in the window's first minutes; the first two get their order at once."""
    at = T0 - timedelta(minutes=15)
    events = [_event("payment.succeeded", f"c{i}", at + timedelta(seconds=i)) for i in range(3)]
    return events + [_event("order.created", f"c{i}", at + timedelta(seconds=30 + i)) for i in range(2)]


def test_an_order_after_the_pruning_horizon_pairs_with_a_payment_pruned_before_it(
    store: Store, settings: Settings
) -> None:
    store_batch(store, "logs", _payments())
    horizon = T0
    with store.transaction() as conn:
        assert prune_raw_logs(conn, dt_to_ms(horizon)) == 5
    late = _event("order.created", "c2", horizon + timedelta(minutes=5))  # raw, after the horizon
    store_batch(store, "logs", [late])
    (gap,) = _gaps(store, settings)
    assert (gap.merchant_id, gap.migration_stage, gap.payments, gap.missing_orders) == ("m1", "wave_1", 3, 0)


def test_pairing_is_the_same_before_and_after_pruning_and_a_resent_batch_adds_nothing(
    store: Store, settings: Settings
) -> None:
    events = _payments()
    store_batch(store, "logs", events)
    before = _gaps(store, settings)
    assert [(g.payments, g.missing_orders, g.example_correlation_ids) for g in before] == [(3, 1, ("c2",))]
    with store.transaction() as conn:
        prune_raw_logs(conn, dt_to_ms(AS_OF))
    assert _gaps(store, settings) == before
    assert _pairing_rows(store) == len(events)
    again = store_batch(store, "logs", events)  # raw events gone: ingest stores them anew
    assert again.stored == len(events)
    assert _gaps(store, settings) == before
    with store.read() as conn:  # in both tables: each event read once
        assert len(window_repo.payment_events(conn, 0, dt_to_ms(AS_OF))) == len(events)
    with store.transaction() as conn:
        assert prune_raw_logs(conn, dt_to_ms(AS_OF)) == len(events)
    assert _pairing_rows(store) == len(events)
    assert _gaps(store, settings) == before


def test_only_payments_and_orders_with_a_correlation_id_are_kept_for_pairing(store: Store) -> None:
    plain = _event("payment.succeeded", "x", T0).model_copy(update={"id": "no-cid", "correlation_id": None})
    other = _event("order.paid", "y", T0)
    request = LogEvent(
        id="r", ts=T0, merchant_id="m1", source="api", endpoint="GET /api/cart", status_code=200
    )
    store_batch(store, "logs", [plain, other, request, _event("order.created", "z", T0)])
    assert _pairing_rows(store) == 0  # nothing pruned yet
    with store.transaction() as conn:
        assert prune_raw_logs(conn, dt_to_ms(AS_OF)) == 4
    with store.read() as conn:
        rows = conn.execute(text("SELECT id, event, correlation_id FROM payment_order_events")).all()
    assert [tuple(r) for r in rows] == [("order.created:z", "order.created", "z")]


def test_pairing_events_are_kept_for_their_own_retention_and_the_cycle_prunes_them(
    store: Store, settings: Settings
) -> None:
    """Pairing events outlive the raw events, but not forever: a cycle deletes those older than
    `pairing_retention_days` (counted back like raw retention) and keeps the younger ones."""
    now = datetime.now(UTC).replace(microsecond=0)
    old = [_event("payment.succeeded", "old", now - timedelta(days=40))]
    young = [_event("payment.succeeded", "young", now - timedelta(days=20))]
    store_batch(store, "logs", old + young)
    with store.transaction() as conn:
        assert prune_raw_logs(conn, dt_to_ms(now - timedelta(days=14))) == 2
    assert _pairing_rows(store) == 2
    kept = settings.model_copy(update={"pairing_retention_days": 30})
    result = run_cycle(CycleDeps(store=store, settings=kept), now, 60)
    with store.read() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT correlation_id FROM payment_order_events")).all()]
    assert ids == ["young"]
    with store.read() as conn:
        (entry,) = audit_repo.for_targets(conn, [result.cycle_id])
    assert entry.after is not None and entry.after["pairing_events_pruned"] == 1


def test_pairing_retention_shorter_than_raw_retention_is_refused() -> None:
    with pytest.raises(ValidationError, match="pairing_retention_days"):
        Settings(raw_log_retention_days=30, pairing_retention_days=7)
