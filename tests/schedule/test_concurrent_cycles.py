"""Concurrent cycles for the same `as_of` (several workers, or several requests to one) open one incident per
cause, and each automatic action is stored and executed once: on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cyclekit import FAULT_AS_OF, all_at_once, load_webhook_fault
from sqlalchemy import text

from selfheal.cycle import CycleDeps, CycleResult, run_cycle
from selfheal.settings import Settings
from selfheal.store import Store
from selfheal.store.engine import make_engine

CYCLES = 6


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, dense_embeddings=False)


def test_concurrent_cycles_open_one_incident_and_run_each_action_once(store: Store, tmp_path: Path) -> None:
    load_webhook_fault(store)
    settings = _settings(tmp_path)
    url = store.engine.url.render_as_string(hide_password=False)
    # one Store (engine, connection pool) per "worker", as separate processes would have
    workers = [Store(make_engine(url)) for _ in range(CYCLES)]
    try:
        results = all_at_once(
            CYCLES, lambda i: run_cycle(CycleDeps(store=workers[i], settings=settings), as_of=FAULT_AS_OF)
        )
    finally:
        for w in workers:
            w.dispose()
    errors = [r for r in results if not isinstance(r, CycleResult)]
    assert not errors, errors
    cycles = [r for r in results if isinstance(r, CycleResult)]
    assert {c.outcome.incident_id for c in cycles} != {None}
    assert sum(c.outcome.incident_created for c in cycles) == 1
    assert len({c.outcome.incident_id for c in cycles}) == 1

    with store.read() as conn:
        incidents = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
        keys = Counter(conn.execute(text("SELECT key FROM actions")).scalars())
        executions = Counter(
            conn.execute(
                text("SELECT target_id FROM audit_log WHERE action IN ('action.succeeded', 'action.failed')")
            ).scalars()
        )
        effects = conn.execute(text("SELECT count(*) FROM simulator_effects")).scalar()
    assert incidents == 1
    assert keys and set(keys.values()) == {1}, keys
    auto = [a for c in cycles for a in c.outcome.actions if a.auto_executed]
    assert auto, "the scenario should auto-execute at least one low-risk action"
    assert len(auto) == len({a.action_id for a in auto})
    assert set(executions.values()) == {1}
    assert effects == len(auto)
