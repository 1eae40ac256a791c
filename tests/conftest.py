"""Shared fixtures: a migrated SQLite store, a migrated PostgreSQL store in its own schema, and API clients.

PostgreSQL tests use SELFHEAL_TEST_POSTGRES_URL (default: the server on 127.0.0.1:5432, database test). When no
server answers they are skipped with the reason printed; CI sets SELFHEAL_REQUIRE_POSTGRES=1 to fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from selfheal.settings import AuthMode, Settings
from selfheal.store import Store
from selfheal.store.engine import make_engine, upgrade

PG_URL = os.environ.get("SELFHEAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: no server here
        return f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} not reachable: {exc}"


_PG_REASON = _pg_available()


def pg_schema_url() -> Iterator[str]:
    """A fresh schema on the test server; yields a URL whose search_path points at it; drops it after."""
    if _PG_REASON:
        if os.environ.get("SELFHEAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(_PG_REASON)
        pytest.skip(_PG_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'selfheal.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'selfheal.db'}"
        s = Store.open(url)
        yield s
        s.dispose()
    else:
        gen = pg_schema_url()
        url = next(gen)
        engine = make_engine(url)
        upgrade(engine)
        s = Store(engine)
        try:
            yield s
        finally:
            s.dispose()
            gen.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, auth_mode=AuthMode.open)
