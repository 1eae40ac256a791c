"""The scheduler's period rule: as_of is the period boundary, each period runs once, missed periods are
skipped (the next cycle is for the latest due period)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from selfheal.cycle import CycleDeps
from selfheal.schedule import Scheduler
from selfheal.settings import Settings
from selfheal.store import Store

NOW = datetime(2026, 3, 2, 10, 7, 40, tzinfo=UTC)


def test_each_period_runs_once_and_missed_periods_are_skipped(sqlite_url: str, tmp_path: Path) -> None:
    store = Store.open(sqlite_url)
    settings = Settings(data_dir=tmp_path, dense_embeddings=False, cycle_every=300, cycle_lag_seconds=30)
    now = [NOW]
    scheduler = Scheduler(CycleDeps(store=store, settings=settings), clock=lambda: now[0])
    try:
        first = scheduler.tick()
        assert first is not None and first.as_of == datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
        assert scheduler.tick() is None  # the same period: stored, not run again
        now[0] = NOW + timedelta(minutes=16)  # 10:23:40: periods ending 10:10, 10:15 missed; 10:20 due
        third = scheduler.tick()
        assert third is not None and third.as_of == datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
        assert scheduler.state.skipped_periods == 2
        assert scheduler.state.cycles == 2 and scheduler.state.leader
        # a fresh scheduler (another process after a restart) does not repeat the stored period either
        again = Scheduler(CycleDeps(store=store, settings=settings), clock=lambda: now[0])
        assert again.tick() is None
        # the lag: at 10:25:10 the period ending 10:25 is not due yet
        now[0] = datetime(2026, 3, 2, 10, 25, 10, tzinfo=UTC)
        assert scheduler.due(now[0]) == datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
    finally:
        store.dispose()
