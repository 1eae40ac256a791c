"""Merchant baselines and latest stages from cached hours equal the direct week-long queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from selfheal.observe.history import HistoryCache, load_merchant_baselines
from selfheal.records import dt_to_ms
from selfheal.simulate import SimConfig, load_into, simulate
from selfheal.store import Store, window_repo

START = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path: Path = tmp_path_factory.mktemp("baselines")
    store = Store.open(f"sqlite:///{path / 'b.db'}")
    load_into(store, simulate(SimConfig(seed=2, merchants=12, start=START, minutes=30 * 60)))
    return store


@pytest.mark.parametrize(
    ("as_of_minutes", "baseline_hours"),
    [(29 * 60 + 17, 24), (29 * 60 + 17, 20), (26 * 60, 7), (90, 24), (29 * 60 + 59, 2)],
)
def test_cached_baselines_equal_the_direct_queries(
    store: Store, as_of_minutes: int, baseline_hours: int
) -> None:
    cache = HistoryCache()
    for shift in (0, 5, 65):  # consecutive cycles reuse the cached hours
        end = dt_to_ms(START + timedelta(minutes=as_of_minutes + shift))
        start = end - 60 * 60_000
        baseline_start = start - baseline_hours * 3_600_000
        with store.read() as conn:
            rows, stages = load_merchant_baselines(conn, cache, baseline_start, start, end)
            direct = window_repo.merchant_baselines(conn, baseline_start, start)
            direct_stages = window_repo.latest_stages(conn, baseline_start, end)
        assert stages == direct_stages
        assert [r["merchant_id"] for r in rows] == [r["merchant_id"] for r in direct]
        for got, want in zip(rows, direct, strict=True):
            for key in ("migration_stage", "seconds", "checkout_attempts", "orders", "currency"):
                assert got[key] == want[key], (key, got, want)
            assert got["revenue"] == pytest.approx(want["revenue"])
