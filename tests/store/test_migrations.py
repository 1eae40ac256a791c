from __future__ import annotations

from sqlalchemy import inspect

from selfheal.store import Store
from selfheal.store.engine import upgrade


def test_migrations_create_every_table_and_are_idempotent(store: Store) -> None:
    upgrade(store.engine)  # a second run is a no-op
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "tickets",
        "log_events",
        "log_rollups",
        "metric_points",
        "incidents",
        "cycle_runs",
        "api_keys",
        "audit_log",
        "alembic_version",
    } <= tables


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.dispose()
