"""Fixtures of the fuzz suite: the API in open mode over a real migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from selfheal.api.app import create_app
from selfheal.settings import Settings
from selfheal.store import Store

FUZZ_ADMIN_KEY = "fuzz-admin-key"
FUZZ_EXAMPLES = int(os.environ.get("SELFHEAL_FUZZ_EXAMPLES", "8"))
"""Schemathesis examples per operation (bounded: the whole fuzz part stays well under two minutes)."""


@pytest.fixture
def fuzz_client(store: Store, settings: Settings) -> Iterator[TestClient]:
    small = settings.model_copy(update={"max_batch_items": 50, "max_body_bytes": 256 * 1024})
    with TestClient(create_app(small, store), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api_schema(store: Store, settings: Settings) -> Any:
    """The app's own OpenAPI document, loaded by Schemathesis over ASGI (no server, the real app and database)."""
    small = settings.model_copy(
        update={"max_batch_items": 50, "max_body_bytes": 256 * 1024, "admin_key": SecretStr(FUZZ_ADMIN_KEY)}
    )
    app = create_app(small, store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(max_examples=FUZZ_EXAMPLES)
    return schema
