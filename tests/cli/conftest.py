"""A live API for the command tests: real uvicorn over a SQLite file, open mode (no key needed)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from selfheal.api.app import create_app
from selfheal.client import SelfhealClient
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real uvicorn server on a random port over a SQLite file; yields (base URL, database URL)."""
    db_url = f"sqlite:///{tmp_path / 'api.db'}"
    settings = Settings(database_url=db_url, auth_mode=AuthMode.open)
    store = Store.open(db_url)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    with SelfhealClient(url) as client:
        client.wait_until_ready(timeout=10, interval=0.05)
    yield url, db_url
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


@pytest.fixture
def dead_url() -> str:
    """An address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


CLOSED_ADMIN_KEY = "adm-cli-tests"


@pytest.fixture
def closed_api(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real uvicorn server in closed mode; yields (base URL, its admin key)."""
    db_url = f"sqlite:///{tmp_path / 'closed.db'}"
    settings = Settings(
        database_url=db_url, auth_mode=AuthMode.closed, admin_key=CLOSED_ADMIN_KEY, dense_embeddings=False
    )
    store = Store.open(db_url)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    with SelfhealClient(url) as client:
        client.wait_until_ready(timeout=10, interval=0.05)
    yield url, CLOSED_ADMIN_KEY
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()
