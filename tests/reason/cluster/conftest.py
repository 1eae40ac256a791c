"""Fixtures for ticket-theme tests: a migrated store (SQLite, and PostgreSQL when a server answers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from selfheal.store import Store

PG_URL = os.environ.get("SELFHEAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def theme_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store, on SQLite and on PostgreSQL (in a fresh schema; skipped without a server)."""
    if request.param == "sqlite":
        store = Store.open(f"sqlite:///{tmp_path / 'selfheal.db'}")
        yield store
        store.dispose()
        return
    try:
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    store = Store.open(url.render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'selfheal.db'}")
    yield store
    store.dispose()
