from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from selfheal.store import Store
from selfheal.store.engine import alembic_config, make_engine, upgrade
from selfheal.store.metadata import METADATA


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
        "history_hours",
        "alerts",
        "alembic_version",
    } <= tables
    with store.read() as conn:
        applied = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert applied == set(ScriptDirectory.from_config(alembic_config(store.engine)).get_heads())
    assert len(applied) == 1  # one line of migrations: a single head


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_history_hours_migrates_a_database_at_the_foundation(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """An existing database (at 0001) gains the stored-hours table on `upgrade heads`, keyed by kind and hour."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0001")
        assert "history_hours" not in inspect(engine).get_table_names()
        upgrade(engine)
        inspector = inspect(engine)
        assert "history_hours" in inspector.get_table_names()
        assert inspector.get_pk_constraint("history_hours")["constrained_columns"] == ["kind", "hour_ms"]
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.dispose()


def test_the_migrations_form_one_line_with_one_head(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        assert len(ScriptDirectory.from_config(alembic_config(engine)).get_heads()) == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_models_and_the_migrations_agree(backend: str, request: pytest.FixtureRequest) -> None:
    """What `alembic check` asks: autogenerate finds no difference between the tables and the migrations."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            differences = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), METADATA
            )
        assert differences == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_duplicate_key_names_are_renamed_and_then_refused(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """A database at 0008 may hold keys sharing a name: upgrading keeps the oldest key's name, renames the
    others `<name>~<id>`, and the unique index then refuses any second key of a name."""
    from sqlalchemy.exc import IntegrityError

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0008")
        rows = [("key-old", "alice", 1), ("key-new", "alice", 2), ("key-bob", "bob", 3)]
        with engine.begin() as conn:
            for key_id, name, created in rows:
                conn.execute(
                    text(
                        "INSERT INTO api_keys (id, name, role, key_hash, created_ms) "
                        "VALUES (:id, :name, 'approver', :hash, :created)"
                    ),
                    {"id": key_id, "name": name, "hash": f"h-{key_id}", "created": created},
                )
        upgrade(engine)
        with engine.connect() as conn:
            names = {r[0]: r[1] for r in conn.execute(text("SELECT id, name FROM api_keys"))}
        assert names == {"key-old": "alice", "key-new": "alice~key-new", "key-bob": "bob"}
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (id, name, role, key_hash, created_ms) "
                    "VALUES ('key-x', 'bob', 'viewer', 'h-x', 4)"
                )
            )
    finally:
        engine.dispose()


_ROLLUP_INSERT = (
    "INSERT INTO log_rollups (minute_ms, merchant_id, migration_stage, source, endpoint, status_class, {code}"
    "count, latency_count, latency_sum, latency_max, "
    + ", ".join(f"h{i}" for i in range(20))
    + ") VALUES (:minute, 'm1', 'wave_1', 'api', 'POST /api/checkout', :klass, {code_value}"
    ":count, :count, :sum, :max, :h0, " + ", ".join("0" for _ in range(19)) + ")"
)


def _rollups_by_key(engine: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT minute_ms, status_class, count, latency_count, latency_sum, latency_max, h0 "
                    "FROM log_rollups ORDER BY minute_ms, status_class"
                )
            )
        ]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rollup_codes_migrate_up_keeping_rows_and_down_merging_codes(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """0016: rows stored before it keep their counts with the code unknown (""), the code joins the key (a 401
    and a 422 of one minute are two rows); downgrading merges them back into one row of the class."""
    from sqlalchemy.exc import IntegrityError

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0015_current_revenue")
        legacy = _ROLLUP_INSERT.format(code="", code_value="")
        with engine.begin() as conn:
            conn.execute(
                text(legacy), {"minute": 0, "klass": "4xx", "count": 5, "sum": 50.0, "max": 20.0, "h0": 5}
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT status_code, count FROM log_rollups")).all() == [("", 5)]
        coded = _ROLLUP_INSERT.format(code="status_code, ", code_value=":code, ")
        with engine.begin() as conn:
            for code, count, peak in (("401", 3, 90.0), ("422", 2, 40.0)):
                values = {"minute": 60_000, "klass": "4xx", "count": count, "sum": 10.0 * count, "max": peak}
                conn.execute(text(coded), {**values, "code": code, "h0": count})
        again = {"minute": 60_000, "klass": "4xx", "count": 1, "sum": 1.0, "max": 1.0, "h0": 1, "code": "401"}
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(coded), again)
        command.downgrade(alembic_config(engine), "0015_current_revenue")
        assert "status_code" not in {c["name"] for c in inspect(engine).get_columns("log_rollups")}
        assert _rollups_by_key(engine) == [
            (0, "4xx", 5, 5, 50.0, 20.0, 5),
            (60_000, "4xx", 5, 5, 50.0, 90.0, 5),
        ]
        upgrade(engine)  # and up again
        with engine.connect() as conn:
            assert conn.execute(text("SELECT DISTINCT status_code FROM log_rollups")).scalars().all() == [""]
    finally:
        engine.dispose()


_RAW_LOG_INSERT = (
    "INSERT INTO log_events (id, ts_ms, merchant_id, source, endpoint, status_code, event, correlation_id, "
    "migration_stage) VALUES (:id, :ts, 'm1', 'payment', 'POST /payments/capture', 200, :event, :cid, NULL)"
)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_pairing_events_migrate_up_empty_fill_when_raw_events_are_pruned_and_drop_on_downgrade(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """0017: the raw events stored before it stay raw (pairing reads them) until pruning copies their payments
    and orders with a correlation id (ids kept, nothing else); downgrading drops the table."""
    from selfheal.store.signals_repo import prune_raw_logs

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    raw = [
        ("p1", 1_000, "payment.succeeded", "c1"),
        ("o1", 2_000, "order.created", "c1"),
        ("p2", 3_000, "payment.succeeded", None),  # no correlation id: nothing to pair on
        ("x1", 4_000, "order.paid", "c1"),
    ]
    select_all = (
        "SELECT id, ts_ms, merchant_id, migration_stage, event, correlation_id FROM payment_order_events"
    )
    try:
        command.upgrade(alembic_config(engine), "0016_rollup_codes")
        with engine.begin() as conn:
            for event_id, ts, event, cid in raw:
                conn.execute(text(_RAW_LOG_INSERT), {"id": event_id, "ts": ts, "event": event, "cid": cid})
        upgrade(engine)
        with engine.begin() as conn:
            assert conn.execute(text(select_all)).all() == []
            assert prune_raw_logs(conn, 10_000) == 4
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text(f"{select_all} ORDER BY id"))] == [
                ("o1", 2_000, "m1", None, "order.created", "c1"),
                ("p1", 1_000, "m1", None, "payment.succeeded", "c1"),
            ]
        command.downgrade(alembic_config(engine), "0016_rollup_codes")
        assert "payment_order_events" not in inspect(engine).get_table_names()
        upgrade(engine)  # and up again, empty
        with engine.connect() as conn:
            assert conn.execute(text(select_all)).all() == []
    finally:
        engine.dispose()
