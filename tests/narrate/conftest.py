"""Fixtures for the narrative-layer tests (helpers live in narrate_fakes.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from narrate_fakes import FakeLLMServer, handler_for, make_assessment, make_findings

from selfheal.decide.model import Assessment
from selfheal.reason.model import Findings


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    fake = FakeLLMServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def assessment() -> Assessment:
    return make_assessment()


@pytest.fixture
def findings() -> Findings:
    return make_findings()
