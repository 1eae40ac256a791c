"""Stored settled history hours: a cold load reads them and equals a fresh aggregation; late data invalidates.

On SQLite and PostgreSQL. "Cold" is a new `HistoryCache` (what a new process starts with).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text

from selfheal.ingest import store_batch
from selfheal.observe import observe
from selfheal.observe.history import SETTLED_MS, HistoryCache, load_history, load_merchant_baselines
from selfheal.observe.history_model import DetectionHistory
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.signals import LogEvent, MetricPoint
from selfheal.simulate import SimConfig, load_into, simulate
from selfheal.store import Store
from selfheal.store.history_hours_repo import METRIC_KINDS, ROLLUP_KINDS, store_hours
from selfheal.store.history_repo import HOUR_MS
from selfheal.store.history_tables import HistoryHourRow
from selfheal.store.tables import LogRollupRow, MetricPointRow, table

START = datetime(2024, 5, 1, tzinfo=UTC)
AS_OF = START + timedelta(hours=9, minutes=17)
KINDS = ("endpoints", "merchants", "minutes", "merchant_stages")
HOURS = table(HistoryHourRow)


def _fill(store: Store) -> None:
    load_into(store, simulate(SimConfig(seed=4, merchants=4, start=START, minutes=10 * 60)))


def _load(store: Store, cache: HistoryCache, as_of: datetime = AS_OF) -> DetectionHistory:
    end = dt_to_ms(as_of)
    start = end - 60 * 60_000
    with store.read() as conn:
        load_merchant_baselines(conn, cache, start - 24 * HOUR_MS, start, end)  # stores merchant_stages
        history = load_history(conn, cache, start, end, history_days=1)
        conn.commit()
    return history


def _stored(store: Store) -> dict[str, set[int]]:
    with store.read() as conn:
        rows = conn.execute(select(HOURS.c.kind, HOURS.c.hour_ms)).all()
    out: dict[str, set[int]] = {k: set() for k in KINDS}
    for kind, hour in rows:
        out[kind].add(int(hour))
    return out


def _fresh(store: Store, as_of: datetime = AS_OF) -> DetectionHistory:
    """A load that aggregates everything from raw rows (nothing stored, nothing in memory)."""
    with store.transaction() as conn:
        conn.execute(delete(HOURS))
    return _load(store, HistoryCache(), as_of)


def _settled_hours(as_of: datetime) -> set[int]:
    end = dt_to_ms(as_of) - 60 * 60_000
    end -= end % HOUR_MS
    return {h for h in range(end - 24 * HOUR_MS, end, HOUR_MS) if h + HOUR_MS <= dt_to_ms(as_of) - SETTLED_MS}


def test_observe_stores_exactly_the_settled_hours(store: Store, settings: Settings) -> None:
    _fill(store)
    observe(store, AS_OF, 60, settings.model_copy(update={"detect_history_days": 1}))
    stored = _stored(store)
    settled = _settled_hours(AS_OF)
    last_settled = dt_to_ms(AS_OF) - SETTLED_MS
    for kind in ("endpoints", "merchants", "minutes"):
        assert stored[kind] == settled, kind
        assert max(stored[kind]) + HOUR_MS <= last_settled
    # The hour just before the window is complete but not settled: aggregated, not stored.
    unsettled = max(settled) + HOUR_MS
    history_end = dt_to_ms(AS_OF - timedelta(minutes=60 + 17))
    assert unsettled + HOUR_MS > last_settled and unsettled + HOUR_MS == history_end
    assert stored["merchant_stages"] and max(stored["merchant_stages"]) + HOUR_MS <= last_settled


def test_a_cold_load_reads_the_stored_hours_and_equals_a_fresh_aggregation(store: Store) -> None:
    _fill(store)
    first = _load(store, HistoryCache())
    assert first.merchants and first.endpoints and first.minutes
    # Remove the raw rows of the stored hours: a cold load must still see them, so it read the stored hours.
    last_stored = max(_stored(store)["endpoints"]) + HOUR_MS
    with store.transaction() as conn:
        rollups, metrics = table(LogRollupRow), table(MetricPointRow)
        conn.execute(delete(rollups).where(rollups.c.minute_ms < last_stored))
        conn.execute(delete(metrics).where(metrics.c.ts_ms < last_stored))
    cold = _load(store, HistoryCache())
    assert cold == first
    # ... and without the stored hours the same load differs (the raw rows are gone).
    assert _fresh(store) != first


def test_stored_and_fresh_loads_are_identical_across_later_cycles(store: Store) -> None:
    _fill(store)
    _load(store, HistoryCache())
    later = AS_OF + timedelta(minutes=40)  # one more hour becomes settled: stored by this cycle
    cold = _load(store, HistoryCache(), later)
    assert max(_stored(store)["merchants"]) == max(_settled_hours(later))
    assert cold == _fresh(store, later)


def test_late_data_deletes_the_stored_hour_and_the_next_load_counts_it(store: Store) -> None:
    _fill(store)
    before = _load(store, HistoryCache())
    stored = _stored(store)
    late_hour = dt_to_ms(START) + 3 * HOUR_MS
    assert all(late_hour in stored[k] for k in KINDS)
    merchant = before.merchants[0].merchant_id
    late_ts = START + timedelta(hours=3, minutes=10, seconds=30)  # between the simulator's per-minute points
    point = MetricPoint(
        merchant_id=merchant,
        ts=late_ts,
        checkout_attempts=7,
        orders=5,
        revenue=123.0,
        migration_stage="pilot",
    )
    assert store_batch(store, "metrics", [point]).stored == 1
    after_metrics = _stored(store)
    for kind in KINDS:
        want = stored[kind] - {late_hour} if kind in METRIC_KINDS else stored[kind]
        assert after_metrics[kind] == want, kind
    event = LogEvent(
        id="late-1",
        ts=late_ts,
        merchant_id=merchant,
        source="api",
        endpoint="POST /api/late",
        status_code=503,
        latency_ms=42.0,
    )
    assert store_batch(store, "logs", [event]).stored == 1
    after_logs = _stored(store)
    for kind in ROLLUP_KINDS:
        assert after_logs[kind] == stored[kind] - {late_hour}, kind

    cold = _load(store, HistoryCache())
    orders = {m.merchant_id: m.orders for m in cold.merchants}
    assert orders[merchant] == next(m.orders for m in before.merchants if m.merchant_id == merchant) + 5
    late = [e for e in cold.endpoints if e.endpoint == "POST /api/late"]
    assert [(e.requests, e.errors_5xx) for e in late] == [(1, 1)]
    minute = next(m for m in cold.minutes if m.minute == late_ts.replace(second=0))
    assert minute.errors >= 1
    # The re-aggregated hour is stored again, and everything equals a fresh aggregation.
    assert all(late_hour in hours for hours in _stored(store).values())
    assert cold == _fresh(store)


def test_storing_hours_already_stored_is_ignored(store: Store) -> None:
    _fill(store)
    first = _load(store, HistoryCache())

    def count() -> int:
        with store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(HOURS)).scalar_one())

    stored = count()
    # Another process that aggregated the same hours stores them too: ignored, not an error.
    hours = sorted(_stored(store)["merchants"])[:3]
    with store.transaction() as conn:
        store_hours(conn, "merchants", {h: [] for h in hours}, now_ms=0)
    assert count() == stored
    # A second cold process reads what the first stored and stores nothing new.
    assert _load(store, HistoryCache()) == first
    assert count() == stored


@pytest.mark.postgres
def test_on_postgresql_late_data_waits_for_a_cycle_storing_hours_then_deletes_them(pg_url: str) -> None:
    """The race the advisory lock closes: an ingest that commits after the cycle's aggregation read."""
    store = Store.open(pg_url)
    try:
        _fill(store)
        end = dt_to_ms(AS_OF)
        late_hour = dt_to_ms(START) + 3 * HOUR_MS
        point = MetricPoint(
            merchant_id="late",
            ts=START + timedelta(hours=3, minutes=1),
            checkout_attempts=1,
            orders=1,
            revenue=1.0,
        )
        done: list[int] = []
        ingest = threading.Thread(target=lambda: done.append(store_batch(store, "metrics", [point]).stored))
        with store.engine.connect() as cycle:
            # The cycle aggregates and stores the settled hours, and has not committed yet.
            load_history(cycle, HistoryCache(), end - 60 * 60_000, end, history_days=1)
            ingest.start()
            waiting = 0
            for _ in range(200):
                with store.read() as conn:
                    waiting = conn.execute(
                        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    ).scalar_one()
                if waiting:
                    break
                time.sleep(0.05)
            waited = bool(waiting) and not done
            cycle.commit()
        ingest.join(timeout=30)
        assert waited  # the ingest waited for the cycle's commit
        assert done == [1]
        stored = _stored(store)
        assert late_hour not in stored["merchants"] and late_hour in stored["endpoints"]
        merchants = {m.merchant_id for m in _load(store, HistoryCache()).merchants}
        assert "late" in merchants
    finally:
        store.dispose()
