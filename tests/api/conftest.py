"""Fixtures for the API tests: an open-mode client over `store` (SQLite and PostgreSQL), and a closed-mode
app over a real SQLite file with a key for every role (`api`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apikit import ADMIN_KEY, Api, make_keys
from fastapi.testclient import TestClient

from selfheal.api.app import create_app
from selfheal.settings import Settings
from selfheal.store import Store


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    """The API over a real migrated database (SQLite and PostgreSQL), open mode."""
    app = create_app(settings, store)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path, admin_key=ADMIN_KEY)
    store = Store.open(settings.resolved_database_url())
    keys = make_keys(store)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        yield Api(client=client, store=store, keys=keys)
    store.dispose()
