"""The incremental window (`observe.window_cache`): what a process holds between cycles plus the minutes it
re-reads equals a full read of the window bit for bit, after late rows another worker ingested into an old
minute, an upsert that adds into an existing rollup row, raw-retention pruning, and as the window moves; it
re-reads only the minutes that changed; and whole cycles give the same results with the cache as without."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.ingest import store_batch
from selfheal.observe import observe
from selfheal.observe.fingerprints import RecentFingerprints, recent_span
from selfheal.observe.history import SETTLED_MS, HistoryCache, load_history, load_merchant_baselines
from selfheal.observe.window_cache import WindowCache
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.signals import LogEvent, MetricPoint
from selfheal.simulate import FaultSpec, SimConfig, simulate
from selfheal.store import Store, signals_repo, window_repo
from selfheal.store.engine import make_engine
from selfheal.store.window_repo import WindowColumns

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MERCHANTS = [f"m{i}" for i in range(6)]


def _logs(minute: int, merchants: list[str], tag: str, seconds: int = 0) -> list[LogEvent]:
    return [
        LogEvent(
            id=f"{tag}-{minute}-{merchant}-{k}",
            ts=T0 + timedelta(minutes=minute, seconds=seconds + k),
            merchant_id=merchant,
            source=("api", "worker")[k % 2],
            endpoint=("POST /api/checkout", "POST /webhooks/payment")[(i + k) % 2],
            status_code=(200, 500, 403, 201)[(i + k + minute) % 4],
            latency_ms=None if k == 3 else 40.0 * (k + 1) + i,
            migration_stage=("pilot", None, "wave_1")[i % 3],
        )
        for i, merchant in enumerate(merchants)
        for k in range(4)
    ]


def _points(minute: int, merchants: list[str], second: int = 0) -> list[MetricPoint]:
    return [
        MetricPoint(
            ts=T0 + timedelta(minutes=minute, seconds=second),
            merchant_id=merchant,
            checkout_attempts=20 + i + minute,
            orders=15 + i,
            revenue=round(99.95 * (i + 1) + minute * 0.3, 2),
            migration_stage=("wave_1", None)[i % 2],
            sessions=60 + minute if i % 3 == 0 else None,
            p95_latency_ms=300.25 if (minute + i) % 2 else None,
            currency=("EUR", None, "USD")[i % 3],
        )
        for i, merchant in enumerate(merchants)
    ]


def _fill(store: Store, minutes: range) -> None:
    for minute in minutes:
        store_batch(store, "metrics", _points(minute, MERCHANTS))
        store_batch(store, "logs", _logs(minute, MERCHANTS, "a"))


@pytest.fixture
def worker_b(store: Store) -> Iterator[Store]:
    """A second worker: another engine (its own pool and caches) on the same database."""
    other = Store(make_engine(store.engine.url.render_as_string(hide_password=False)))
    yield other
    other.dispose()


def _same(a: WindowColumns, b: WindowColumns) -> None:
    """Equal bit for bit: the same codes and values per text field, the same arrays (and dtypes) per number."""
    assert a.text.keys() == b.text.keys() and a.numbers.keys() == b.numbers.keys()
    for name, (codes, values) in a.text.items():
        assert values == b.text[name][1], name
        assert codes.dtype == b.text[name][0].dtype and np.array_equal(codes, b.text[name][0]), name
    for name, array in a.numbers.items():
        other = b.numbers[name]
        assert array.dtype == other.dtype and array.shape == other.shape, name
        assert array.tobytes() == other.tobytes(), name


def _check(store: Store, cache: WindowCache, start: datetime, end: datetime) -> tuple[int, int]:
    """Cache and full read agree on both tables; the minutes each cache re-read for this window."""
    lo, hi = dt_to_ms(start), dt_to_ms(end)
    before = cache.rollups.minutes_read, cache.metrics.minutes_read
    with store.read() as conn:
        _same(cache.rollups.columns(conn, lo, hi), window_repo.rollups(conn, lo, hi))
        _same(cache.metrics.columns(conn, lo, hi), window_repo.metrics(conn, lo, hi))
    return cache.rollups.minutes_read - before[0], cache.metrics.minutes_read - before[1]


def test_the_cache_follows_late_rows_upserts_and_pruning_from_another_worker(
    store: Store, worker_b: Store
) -> None:
    _fill(store, range(12))
    cache = WindowCache()
    start, end = T0, T0 + timedelta(minutes=10)
    assert _check(store, cache, start, end) == (10, 10), "a cold cache reads every minute"
    assert _check(store, cache, start, end) == (0, 0), "nothing changed: nothing re-read"
    assert len(cache.rollups.held()) == 10

    # Worker B ingests late rows into an old minute: a merchant not seen before, a new rollup key.
    store_batch(worker_b, "logs", _logs(2, ["late"], "late"))
    store_batch(worker_b, "metrics", _points(4, ["late"], second=17))
    assert _check(store, cache, start, end) == (1, 1)

    # An event whose rollup row exists already: the upsert adds into the row (no new row).
    with store.read() as conn:
        rows_before = len(window_repo.rollups(conn, dt_to_ms(T0), dt_to_ms(end)))
    store_batch(
        worker_b, "logs", [e for e in _logs(3, MERCHANTS, "again", seconds=30) if e.merchant_id == "m1"]
    )
    with store.read() as conn:
        assert len(window_repo.rollups(conn, dt_to_ms(T0), dt_to_ms(end))) == rows_before
    assert _check(store, cache, start, end) == (1, 0)

    # Raw retention deletes log events; the rollups the window reads stay, and so does the cache.
    with worker_b.transaction() as conn:
        assert signals_repo.prune_raw_logs(conn, dt_to_ms(T0 + timedelta(minutes=8))) > 0
    assert _check(store, cache, start, end) == (0, 0)

    # Worker B's own cache agrees too, and follows worker A's writes.
    cache_b = WindowCache()
    assert _check(worker_b, cache_b, start, end) == (10, 10)
    store_batch(
        store, "logs", [e for e in _logs(7, MERCHANTS, "late-a", seconds=45) if e.merchant_id == "m2"]
    )
    assert _check(worker_b, cache_b, start, end) == (1, 0)
    assert _check(store, cache, start, end) == (1, 0)


def test_the_window_moves_keeping_only_its_minutes_and_partial_minutes_are_read_every_time(
    store: Store,
) -> None:
    _fill(store, range(20))
    store_batch(store, "metrics", _points(14, ["odd"], second=45))  # a point inside a partial minute
    cache = WindowCache()
    assert _check(store, cache, T0, T0 + timedelta(minutes=10)) == (10, 10)
    assert _check(store, cache, T0 + timedelta(minutes=5), T0 + timedelta(minutes=15)) == (5, 5)
    assert cache.rollups.held()[0] == dt_to_ms(T0 + timedelta(minutes=5)) and len(cache.rollups.held()) == 10
    # A window that starts and ends inside a minute: its whole minutes come from the cache.
    start, end = T0 + timedelta(minutes=5, seconds=30), T0 + timedelta(minutes=14, seconds=50)
    assert _check(store, cache, start, end) == (0, 0)
    assert len(cache.metrics.held()) == 8
    # A window inside one minute holds nothing and reads it whole.
    assert _check(
        store, cache, T0 + timedelta(minutes=3, seconds=5), T0 + timedelta(minutes=3, seconds=50)
    ) == (
        0,
        0,
    )
    # An empty window.
    assert _check(store, cache, T0 + timedelta(hours=5), T0 + timedelta(hours=6)) == (60, 60)


def test_observe_gives_the_same_observation_with_the_cache_as_without(store: Store, worker_b: Store) -> None:
    _fill(store, range(30))
    on, off = Settings(), Settings(window_cache=False)
    for k, step in enumerate((0, 5, 10)):
        as_of = T0 + timedelta(minutes=20 + step, seconds=20 * k)
        if k:
            store_batch(worker_b, "logs", _logs(8 + step, ["late"], f"late{k}"))
        assert observe(store, as_of, 15, on) == observe(store, as_of, 15, off)


def _cycle_results(store: Store, settings: Settings) -> list[dict[str, Any]]:
    """Cycles every five minutes over a simulated fault, the signals arriving as the cycles run: most of each
    minute before the next cycle, a fifth of them one cycle late (into minutes the cache holds)."""
    start = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    onset = start + timedelta(hours=3)
    config = SimConfig(
        seed=3,
        merchants=12,
        start=start,
        minutes=4 * 60,
        logs_from=onset - timedelta(hours=1),
        faults=(FaultSpec(name="webhook_403", start=onset, duration_minutes=30, stages=("wave_1",)),),
    )
    sim = simulate(config)
    first = onset - timedelta(minutes=10)
    signals: list[tuple[str, list[Any]]] = [("metrics", list(sim.metrics)), ("logs", list(sim.logs))]
    for kind, items in signals:
        early = [s for s in items if s.ts < first]
        for i in range(0, len(early), 5000):
            store_batch(store, kind, early[i : i + 5000])
    deps = CycleDeps(store=store, settings=settings)
    out = []
    loaded = first
    held_back: dict[str, list[Any]] = {kind: [] for kind, _ in signals}
    for k in range(12):
        as_of = first + timedelta(minutes=5 * k, seconds=(0, 30)[k % 2])
        for kind, items in signals:
            due = [s for s in items if loaded <= s.ts < as_of]
            store_batch(store, kind, [s for j, s in enumerate(due) if j % 5] + held_back[kind])
            held_back[kind] = [s for j, s in enumerate(due) if not j % 5]  # they arrive a cycle late
        loaded = as_of
        result = run_cycle(deps, as_of=as_of, window_minutes=60)
        out.append(result.model_dump(mode="json", exclude={"cycle_id": True, "stage_ms": True}))
    return _numbered_ids(out)


def _numbered_ids(results: list[dict[str, Any]]) -> list[Any]:
    """The results with their random ids (incidents, actions, audit events, notices) numbered in order of
    first appearance, and every mapping sorted by key."""
    text = json.dumps(results)
    names: dict[str, str] = {}
    text = re.sub(
        r"\b[a-z]+-[0-9a-f]{12}\b|(?<=[a-z]:)[0-9a-f]{16}\b",
        lambda m: names.setdefault(m[0], f"id{len(names)}"),
        text,
    )
    return list(json.loads(json.dumps(json.loads(text), sort_keys=True)))


def test_cycles_give_the_same_results_with_the_cache_as_without(tmp_path: Path) -> None:
    with_cache = Store.open(f"sqlite:///{tmp_path / 'on.db'}")
    without = Store.open(f"sqlite:///{tmp_path / 'off.db'}")
    try:
        base = Settings(data_dir=tmp_path, dense_embeddings=False)
        a = _cycle_results(with_cache, base)
        b = _cycle_results(without, base.model_copy(update={"window_cache": False}))
    finally:
        with_cache.dispose()
        without.dispose()
    assert any(r["assessment"] for r in a), "the fault opens an incident"
    assert a == b


# --- the unsettled history hours (`observe.history` with `observe.fingerprints`) ---------------------------


def _history(store: Store, cache: HistoryCache, as_of: datetime, recent: bool) -> tuple[Any, Any]:
    """The detection history and the merchant baselines of a 60-minute window ending at `as_of`, with the
    cycle's fingerprints (`recent`) or without (a full re-aggregation of the unsettled hours)."""
    end = dt_to_ms(as_of)
    start = end - 60 * 60_000
    with store.read() as conn:
        prints = RecentFingerprints.read(conn, *recent_span(start, end, SETTLED_MS)) if recent else None
        history = load_history(conn, cache, start, end, 1, prints)
        baselines = load_merchant_baselines(conn, cache, start - 24 * 3_600_000, start, end, prints)
        conn.commit()
    return history, baselines


def _aggregated(cache: HistoryCache) -> dict[str, int]:
    hours = (cache.endpoints, cache.merchants, cache.minutes, cache.merchant_stages)
    return {h.kind: h.hours_aggregated for h in hours} | {
        "tail minutes": cache.tail_minutes.minutes_read,
        "window minutes": cache.window_stages.minutes_read,
    }


def _check_history(store: Store, cache: HistoryCache, as_of: datetime) -> dict[str, int]:
    """The cached history equals a full re-aggregation (a fresh cache, no fingerprints); what was re-read."""
    before = _aggregated(cache)
    got = _history(store, cache, as_of, recent=True)
    assert got == _history(store, HistoryCache(), as_of, recent=False)
    return {k: v - before[k] for k, v in _aggregated(cache).items() if v != before[k]}


def test_the_unsettled_hours_follow_late_rows_upserts_and_pruning_from_another_worker(
    store: Store, worker_b: Store
) -> None:
    _fill(store, range(0, 200, 3))  # every third minute: keeps the test quick
    cache = HistoryCache()
    # Window [2:10, 3:10): settled before 1:10, so the hour 1:00-2:00 is unsettled; the tail 2:00-2:10.
    as_of = T0 + timedelta(hours=3, minutes=10)
    assert _check_history(store, cache, as_of)["tail minutes"] == 10, "a cold cache aggregates everything"
    assert _check_history(store, cache, as_of) == {}, "nothing changed: nothing aggregated again"

    # Worker B ingests late rows into the unsettled hour: logs (a new merchant), then a metric point.
    store_batch(worker_b, "logs", _logs(80, ["late"], "late"))
    assert _check_history(store, cache, as_of) == {"endpoints": 1, "minutes": 1}
    store_batch(worker_b, "metrics", _points(95, ["late"], second=17))
    assert _check_history(store, cache, as_of) == {"merchants": 1, "minutes": 1, "merchant_stages": 1}

    # Upserts that add into existing rollup rows (no new row): in the unsettled hour, then in the tail.
    again = [e for e in _logs(81, MERCHANTS, "again", seconds=30) if e.merchant_id == "m1"]
    store_batch(worker_b, "logs", again)
    assert _check_history(store, cache, as_of) == {"endpoints": 1, "minutes": 1}
    tail = [e for e in _logs(126, MERCHANTS, "tail", seconds=30) if e.merchant_id == "m2"]
    store_batch(worker_b, "logs", tail)
    assert _check_history(store, cache, as_of) == {"tail minutes": 1}

    # A late point in the window reporting another stage: the merchant's latest stage moves.
    late_stage = [p.model_copy(update={"migration_stage": "wave_9"}) for p in _points(189, ["m0"], second=40)]
    store_batch(worker_b, "metrics", late_stage)
    assert _check_history(store, cache, as_of) == {"window minutes": 1}
    assert _history(store, cache, as_of, recent=True)[1][1]["m0"] == "wave_9"

    # Raw retention deletes log events; the rollups stay, and so do the kept aggregates.
    with worker_b.transaction() as conn:
        assert signals_repo.prune_raw_logs(conn, dt_to_ms(T0 + timedelta(hours=3))) > 0
    assert _check_history(store, cache, as_of) == {}

    # The window moves: the unsettled hour is kept, the tail's new minutes are read; then the hours move.
    assert _check_history(store, cache, as_of + timedelta(minutes=5)) == {
        "tail minutes": 5,
        "window minutes": 5,
    }
    moved = _check_history(store, cache, as_of + timedelta(minutes=60))
    assert moved["endpoints"] == moved["merchant_stages"] == 2, "1:00-2:00 settles (stored), 2:00-3:00 is new"
