"""Storing signals: idempotent by id, rollups count each event once, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.ingest import store_batch
from selfheal.observe import observe
from selfheal.observe.summary import quantile_from_hist, summarize
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.signals import LogEvent, MetricPoint, Ticket
from selfheal.store import Store, window_repo

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _log(i: int, **kw: object) -> LogEvent:
    base: dict[str, object] = {
        "id": f"e{i}",
        "ts": T0 + timedelta(seconds=i),
        "merchant_id": "m1",
        "source": "webhook",
        "endpoint": "POST /webhooks/order-created",
        "status_code": 200,
        "latency_ms": 100.0 + i,
        "migration_stage": "wave_1",
    }
    base.update(kw)
    return LogEvent(**base)  # type: ignore[arg-type]


def test_log_batches_are_idempotent_and_rollups_count_once(store: Store) -> None:
    events = [_log(i) for i in range(50)] + [_log(100 + i, status_code=403) for i in range(10)]
    first = store_batch(store, "logs", events)
    again = store_batch(store, "logs", events[:30])
    assert (first.stored, first.duplicates) == (60, 0)
    assert (again.stored, again.duplicates) == (0, 30)
    with store.read() as conn:
        window = window_repo.rollups(conn, 0, 2**62)
    codes, classes = window.text["status_class"]
    rollups = [
        {"status_class": classes[c], "count": n, "latency_count": k, "latency_max": mx}
        for c, n, k, mx in zip(
            codes.tolist(),
            window.numbers["count"].tolist(),
            window.numbers["latency_count"].tolist(),
            window.numbers["latency_max"].tolist(),
            strict=True,
        )
    ]
    by_class = {}
    for r in rollups:
        by_class[r["status_class"]] = by_class.get(r["status_class"], 0) + r["count"]
    assert by_class == {"2xx": 50, "4xx": 10}
    assert sum(r["latency_count"] for r in rollups) == 60
    assert max(r["latency_max"] for r in rollups) == 100.0 + 109


def test_events_without_ids_are_deduplicated_by_content(store: Store) -> None:
    e = LogEvent(ts=T0, merchant_id="m1", source="api", endpoint="GET /x", status_code=200)
    assert store_batch(store, "logs", [e, e]).stored == 1
    assert store_batch(store, "logs", [e]).stored == 0


def test_observation_reads_the_window_only(store: Store) -> None:
    tickets = [
        Ticket(
            id=f"t{i}",
            created_at=T0 + timedelta(minutes=i * 20),
            merchant_id="m1",
            subject="s",
            body="b",
            migration_stage="pilot",
        )
        for i in range(6)
    ]
    metrics = [
        MetricPoint(
            ts=T0 + timedelta(minutes=i),
            merchant_id="m1",
            checkout_attempts=10,
            orders=7,
            revenue=700.0,
            migration_stage="pilot",
        )
        for i in range(120)
    ]
    store_batch(store, "tickets", tickets)
    store_batch(store, "metrics", metrics)
    store_batch(store, "metrics", metrics[:5])  # duplicates
    obs = observe(store, T0 + timedelta(minutes=120), 60, Settings())
    assert obs.counts.metric_points == 60
    assert obs.counts.tickets == 3  # created at 60, 80, 100 minutes
    assert {b.merchant_id: b.orders for b in obs.baselines} == {"m1": 7 * 60}
    summary = summarize(obs)
    assert summary.kpis.checkout_attempts == 600
    assert summary.kpis.checkout_success_rate == 0.7
    assert summary.kpis.average_order_value == 100.0


def test_latency_quantile_from_histogram() -> None:
    hist = [0] * 20
    hist[6] = 100  # all in (75, 100] ms
    assert 75 <= (quantile_from_hist(hist, 0.5, 100) or 0) <= 100
    assert quantile_from_hist([0] * 20, 0.5, 0) is None


def test_window_tickets_come_back_as_the_contract_ticket(store: Store) -> None:
    """One ticket mapping: what was ingested is what the window reads, as a `signals.Ticket`."""
    sent = Ticket(
        id="t-round",
        created_at=T0,
        merchant_id="m1",
        subject="Checkout broken",
        body="403 on order webhook",
        migration_stage="wave_1",
        channel="email",
        priority="high",
        tags=["webhook", "urgent"],
    )
    store_batch(store, "tickets", [sent])
    with store.read() as conn:
        (read,) = window_repo.tickets(conn, 0, 2**62)
        assert window_repo.tickets(conn, 0, dt_to_ms(T0)) == []
    assert isinstance(read, Ticket)
    assert read == sent


def test_rollups_keep_the_status_codes_a_cause_can_be_about(store: Store) -> None:
    """Round trip ingest -> rollups -> observation: 401 and 422 of one minute stay apart (an auth cause counts
    the one, not the other); a code outside `ROLLUP_STATUS_CODES` (418) folds into its class, successes are
    one row per class; counts, latencies and the class totals are unchanged."""
    codes = [401, 401, 403, 422, 418, 200, 201, 200]
    store_batch(store, "logs", [_log(i, status_code=c, source="api") for i, c in enumerate(codes)])
    obs = observe(store, T0 + timedelta(minutes=5), 60, Settings())
    r = obs.rollups
    by_code = dict(zip(r.status_code.decoded(), r.count.tolist(), strict=True))
    assert by_code == {"401": 2, "403": 1, "422": 1, "4xx": 1, "2xx": 3}
    assert {row.status_code: row.status_class for row in r} == {
        "401": "4xx",
        "403": "4xx",
        "422": "4xx",
        "4xx": "4xx",
        "2xx": "2xx",
    }
    assert int(r.latency_count.sum()) == len(codes)
    # A second batch in the same minute adds to the rows of its codes.
    store_batch(store, "logs", [_log(9, id="late", status_code=401, source="api")])
    again = observe(store, T0 + timedelta(minutes=5), 60, Settings()).rollups
    assert dict(zip(again.status_code.decoded(), again.count.tolist(), strict=True))["401"] == 3
    assert len(again) == len(r)
