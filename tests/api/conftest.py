from __future__ import annotations

from collections.abc import Iterator

import pytest
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
