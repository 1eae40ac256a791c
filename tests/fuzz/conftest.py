"""Fixtures of the fuzz suite: the API in open mode over a real migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from selfheal.api.app import create_app
from selfheal.settings import Settings
from selfheal.store import Store


@pytest.fixture
def fuzz_client(store: Store, settings: Settings) -> Iterator[TestClient]:
    small = settings.model_copy(update={"max_batch_items": 50, "max_body_bytes": 256 * 1024})
    with TestClient(create_app(small, store), raise_server_exceptions=False) as client:
        yield client
