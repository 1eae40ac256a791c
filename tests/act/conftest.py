"""Fixtures for the act tests: real SQLite files and, when the server answers, a fresh PostgreSQL schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from actkit import PG_URL, Seeder, make_incident
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from selfheal.act import store_actions
from selfheal.decide.model import ProposedAction
from selfheal.settings import Settings
from selfheal.store import Store


@pytest.fixture
def seed() -> Seeder:
    """`seed(store, settings, *proposals, actor="cycle")`: an incident with these actions; their ids."""

    def _seed(
        store: Store, settings: Settings, *proposals: ProposedAction, actor: str = "cycle"
    ) -> list[str]:
        incident_id = make_incident(store)
        with store.transaction() as conn:
            outcomes = store_actions(conn, incident_id, tuple(proposals), actor, settings)
        return [o.action_id for o in outcomes]

    return _seed


@pytest.fixture
def sqlite_store(tmp_path: Any) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'act.db'}")
    yield store
    store.dispose()


def _pg_schema_url() -> tuple[str, str]:
    schema = f"act_{uuid.uuid4().hex[:10]}"
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


@pytest.fixture
def pg_store() -> Iterator[Store]:
    """A migrated store in a fresh schema of the test PostgreSQL database, dropped afterwards."""
    admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        pytest.skip(
            f"no PostgreSQL server answers at {PG_URL} ({type(exc).__name__}); set SELFHEAL_TEST_POSTGRES_URL"
        )
    schema, url = _pg_schema_url()
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store.open(url)
    try:
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest) -> Store:
    """Each test using it runs on SQLite and on PostgreSQL."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    store: Store = request.getfixturevalue(name)
    return store
