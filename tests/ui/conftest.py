"""One live API per test session (closed mode: every request carries a key), over simulated data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.ui.live import LiveApi, seed_database, start_api


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seed_database(tmp_path_factory.mktemp("ui-db") / "selfheal.db")


@pytest.fixture(scope="session")
def live_api(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    api = start_api(database_url, Path(tmp_path_factory.mktemp("ui-data")))
    yield api
    api.stop()
