"""The window read as columns: same rows on SQLite (plain fetch) and PostgreSQL (packed fetch, and its fallback
when a text field holds the separator), and column arithmetic equal to row-by-row arithmetic."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from selfheal.ingest import store_batch
from selfheal.observe import observe
from selfheal.observe.model import Observation
from selfheal.observe.window import (
    Labels,
    MetricColumns,
    MetricRow,
    RollupColumns,
    group_rows,
    group_sums,
    ordered_sum,
)
from selfheal.settings import Settings
from selfheal.signals import LogEvent, MetricPoint
from selfheal.store import Store, window_repo

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _points(merchant_ids: list[str]) -> list[MetricPoint]:
    out = []
    for minute in range(6):
        for i, merchant in enumerate(merchant_ids):
            out.append(
                MetricPoint(
                    ts=T0 + timedelta(minutes=minute),
                    merchant_id=merchant,
                    checkout_attempts=10 + i + minute,
                    orders=8 + i,
                    revenue=round(123.45 * (i + 1) + minute * 0.1, 2),
                    migration_stage="wave_1" if i % 2 else None,
                    sessions=40 + minute if i == 0 else None,
                    p95_latency_ms=250.5 if minute % 2 else None,
                    currency="EUR" if i == 1 else None,
                )
            )
    return out


def _logs(merchant_ids: list[str]) -> list[LogEvent]:
    return [
        LogEvent(
            id=f"e{minute}-{i}-{k}",
            ts=T0 + timedelta(minutes=minute, seconds=k),
            merchant_id=merchant,
            source="api",
            endpoint="POST /api/checkout",
            status_code=(500, 200, 403)[k % 3],
            latency_ms=50.0 * (k + 1),
            migration_stage="pilot" if i == 0 else None,
        )
        for minute in range(6)
        for i, merchant in enumerate(merchant_ids)
        for k in range(4)
    ]


def _expected_metric_rows(points: list[MetricPoint]) -> list[tuple[object, ...]]:
    return sorted(
        (
            p.ts,
            p.merchant_id,
            p.checkout_attempts,
            p.orders,
            p.revenue,
            p.sessions,
            p.p95_latency_ms,
            p.currency,
            p.interval_seconds,
        )
        for p in points
    )


def _observed(
    store: Store, merchant_ids: list[str]
) -> tuple[list[tuple[object, ...]], dict[tuple[str, str], int]]:
    points = _points(merchant_ids)
    assert store_batch(store, "metrics", points).stored == len(points)
    assert store_batch(store, "logs", _logs(merchant_ids)).stored == 6 * len(merchant_ids) * 4
    obs = observe(store, T0 + timedelta(minutes=10), 30, Settings())
    metric_rows = sorted(
        (
            m.ts,
            m.merchant_id,
            m.checkout_attempts,
            m.orders,
            m.revenue,
            m.sessions,
            m.p95_latency_ms,
            m.currency,
            m.interval_seconds,
        )
        for m in obs.metrics
    )
    assert metric_rows == _expected_metric_rows(points)
    assert {m.merchant_id: m.migration_stage for m in obs.metrics if m.merchant_id != merchant_ids[0]} == {
        merchant: "wave_1" if i % 2 else "" for i, merchant in enumerate(merchant_ids) if i
    }
    counts: dict[tuple[str, str], int] = {}
    for r in obs.rollups:
        key = (r.merchant_id, r.status_class)
        counts[key] = counts.get(key, 0) + r.count
        assert r.latency_count == sum(r.latency_hist) == r.count
        # its own stage, else the merchant's reported one (its metric points'), else none
        i = merchant_ids.index(r.merchant_id)
        assert r.migration_stage == ("pilot" if i == 0 else "wave_1" if i % 2 else "")
    return metric_rows, counts


def test_the_window_reads_the_same_rows_on_both_databases(store: Store) -> None:
    merchants = ["m-a", "m-b", "m-c"]
    _, counts = _observed(store, merchants)
    assert counts == {
        (m, klass): 6 * n for m in merchants for klass, n in (("5xx", 2), ("2xx", 1), ("4xx", 1))
    }


def test_a_separator_in_a_merchant_id_falls_back_to_the_plain_read(store: Store) -> None:
    odd = ["m\x1fodd", "m-b"]
    _observed(store, odd)
    with store.read() as conn:
        window = window_repo.rollups(conn, 0, 2**62)
    codes, values = window.text["merchant_id"]
    assert {values[c] for c in codes.tolist()} == set(odd)


def test_the_packed_postgres_read_equals_the_plain_read(store: Store) -> None:
    _observed(store, ["m-a", "m-b", "m-c", "m-d"])
    with store.read() as conn:
        if store.dialect != "postgresql":
            pytest.skip("the packed read is PostgreSQL's")
        for read, order in ((window_repo.rollups, "minute_ms"), (window_repo.metrics, "ts_ms")):
            packed = read(conn, 0, 2**62)
            plain = _plain(read, conn)
            assert len(packed) == len(plain) > 0
            for name in packed.numbers:
                assert np.array_equal(packed.numbers[name], plain.numbers[name], equal_nan=True), name
            for name, (codes, values) in packed.text.items():
                p_codes, p_values = plain.text[name]
                assert [values[c] for c in codes.tolist()] == [p_values[c] for c in p_codes.tolist()], name
            assert np.all(np.diff(packed.numbers[order]) >= 0)


def _plain(read: object, conn: object) -> window_repo.WindowColumns:
    packed = window_repo._read_packed
    window_repo._read_packed = lambda *a: None  # type: ignore[assignment]
    try:
        return read(conn, 0, 2**62)  # type: ignore[operator,no-any-return]
    finally:
        window_repo._read_packed = packed  # type: ignore[assignment]


def test_an_observation_with_columns_dumps_and_loads_as_rows(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the same on both databases")
    _observed(store, ["m-a", "m-b"])
    obs = observe(store, T0 + timedelta(minutes=10), 30, Settings())
    assert len(obs.rollups) and len(obs.metrics)
    again = Observation.model_validate_json(obs.model_dump_json())
    assert again.rollups == obs.rollups
    assert again.metrics == obs.metrics
    assert again == obs


def test_grouped_sums_add_in_row_order_like_a_python_loop() -> None:
    rng = random.Random(7)
    values = [rng.uniform(0, 1e6) * 10 ** rng.randint(-6, 3) for _ in range(5000)]
    keys = [rng.randrange(17) for _ in range(5000)]
    loop: dict[int, float] = {}
    total = 0.0
    for k, v in zip(keys, values, strict=True):
        loop[k] = loop.get(k, 0.0) + v
        total += v
    (sums,) = group_sums(np.array(keys), 17, np.array(values))
    assert all(sums[k] == loop[k] for k in loop)  # bit for bit, not approximately
    assert ordered_sum(np.array(values)) == total


def test_groups_are_numbered_in_order_of_first_appearance() -> None:
    a = Labels.encode(["x", "y", "x", "z", "y"])
    b = np.array([1, 1, 1, 0, 0])
    groups, first = group_rows(a, b)
    assert groups.tolist() == [0, 1, 0, 2, 3]
    assert first.tolist() == [0, 1, 3, 4]
    assert a.distinct() == ("x", "y", "z")
    assert a.take(np.array([3, 4, 3])).distinct() == ("z", "y")
    assert a.mask("y", "nope").tolist() == [False, True, False, False, True]


def test_columns_round_trip_typed_rows_and_are_read_only() -> None:
    rows = [
        MetricRow(
            ts=T0 + timedelta(minutes=i),
            merchant_id=f"m{i % 2}",
            migration_stage="pilot",
            interval_seconds=60,
            checkout_attempts=i,
            orders=i // 2,
            revenue=i * 1.5,
            sessions=None if i % 2 else i * 3,
            currency=None if i % 2 else "USD",
        )
        for i in range(5)
    ]
    columns = MetricColumns.from_rows(rows)
    assert list(columns) == rows
    assert columns == MetricColumns.from_rows(rows)
    assert columns.take(np.array([True, False, True, False, False])) == MetricColumns.from_rows(rows[0:3:2])
    assert columns.first_currency() == "USD"
    with pytest.raises(ValueError, match="read-only"):
        columns.orders[0] = 99
    assert len(RollupColumns.empty()) == 0


def test_a_copy_with_rows_for_the_window_holds_columns(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the same on both databases")
    _observed(store, ["m-a", "m-b"])
    obs = observe(store, T0 + timedelta(minutes=10), 30, Settings())
    rollups = tuple(obs.rollups)[:5]
    metrics = [m.model_dump() for m in obs.metrics][:3]
    copy = obs.model_copy(update={"rollups": rollups, "metrics": metrics})
    assert isinstance(copy.rollups, RollupColumns)
    assert isinstance(copy.metrics, MetricColumns)
    assert list(copy.rollups) == list(rollups)
    assert [m.model_dump() for m in copy.metrics] == metrics
    assert copy.rollups.merchant_id.mask("m-a").sum() == sum(r.merchant_id == "m-a" for r in rollups)
    assert obs.model_copy(update={"rollups": obs.rollups}).rollups is obs.rollups
    with pytest.raises(TypeError, match="rollups"):
        obs.model_copy(update={"rollups": 3})
