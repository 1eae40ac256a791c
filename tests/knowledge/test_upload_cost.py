"""An upload's work is bounded: a PDF's text is read under a CPU budget per page and per document (a real
hostile PDF is refused, 422 `too_costly`), and the work stops when the client disconnects (a real client
against a real server)."""

from __future__ import annotations

import logging
import multiprocessing
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from tests.knowledge.pdfgen import costly_pdf

from selfheal.api.app import create_app
from selfheal.errors import InvalidInput
from selfheal.knowledge.loaders import PdfBudget, load_document
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store, audit_repo

OPERATORS = 50_000
"""Text-showing operators of 200 characters on the hostile page: about 12 CPU seconds of text extraction on
an idle core (under pypdf's own token limit, which a flood of tiny operators would trip), 50 KB compressed."""


@pytest.fixture(scope="module")
def hostile_pdf() -> bytes:
    return costly_pdf(OPERATORS)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_a_costly_page_is_refused_at_the_page_budget(hostile_pdf: bytes) -> None:
    before = _children_cpu()
    with pytest.raises(InvalidInput) as caught:
        load_document("ops.pdf", hostile_pdf, 10**7, PdfBudget(total_seconds=30, page_seconds=1))
    details = caught.value.details
    assert details["reason"] == "too_costly", caught.value.message
    assert details["budget"] == "page" and details["page"] == 1 and details["file"] == "ops.pdf"
    # The reading child stopped at its page budget (plus opening the file), far short of a full read.
    assert _children_cpu() - before < 1 + 3


def test_the_document_budget_bounds_all_pages_together(hostile_pdf: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_document("ops.pdf", hostile_pdf, 10**7, PdfBudget(total_seconds=1, page_seconds=60))
    assert caught.value.details["reason"] == "too_costly"
    assert caught.value.details["budget"] == "document"


def test_the_api_refuses_the_hostile_pdf_with_422_too_costly(
    hostile_pdf: bytes, store: Store, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=store.engine.url.render_as_string(hide_password=False),
        auth_mode=AuthMode.open,
        dense_embeddings=False,
        kb_pdf_budget_seconds=2,
        kb_pdf_page_budget_seconds=1,
    )
    with TestClient(create_app(settings, store)) as client:
        r = client.post("/runbooks/upload", files=[("files", ("ops.pdf", hostile_pdf, "application/pdf"))])
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["details"]["reason"] == "too_costly" and error["details"]["file"] == "ops.pdf"
        assert "CPU seconds" in error["message"]
        assert client.get("/runbooks/documents").json() == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    """A real uvicorn server whose PDF budget is large (a minute): only a disconnect can stop the upload."""
    db_url = f"sqlite:///{tmp_path / 'api.db'}"
    settings = Settings(
        data_dir=tmp_path,
        database_url=db_url,
        auth_mode=AuthMode.open,
        dense_embeddings=False,
        kb_pdf_budget_seconds=60,
        kb_pdf_page_budget_seconds=60,
    )
    store = Store.open(db_url)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/live", timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url, store
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


def test_the_upload_stops_when_its_client_disconnects(
    live: tuple[str, Store], hostile_pdf: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    url, store = live
    caplog.set_level(logging.INFO, logger="selfheal.api.routers.runbooks")
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=httpx.Timeout(10, read=1.5)) as client:
        # The body is sent whole; the answer would take the PDF's reading (tens of CPU seconds): the client
        # gives up after 1.5 s and closes the connection.
        client.post(f"{url}/runbooks/upload", files=[("files", ("ops.pdf", hostile_pdf, "application/pdf"))])
    gave_up = time.monotonic()
    stopped = [r for r in caplog.records if "client disconnected" in r.getMessage()]
    while not stopped and time.monotonic() - gave_up < 30:
        time.sleep(0.1)
        stopped = [r for r in caplog.records if "client disconnected" in r.getMessage()]
    # The worker left its loop (it logs after `Cancelled` reached the request) ...
    assert stopped, "the upload went on after its client disconnected"
    # ... its PDF-reading child was killed, not left to burn its minute ...
    assert multiprocessing.active_children() == []
    # ... and nothing was stored or audited.
    with store.read() as conn:
        assert [e.action for e in audit_repo.iter_all(conn) if e.action.startswith("runbook.")] == []
    assert httpx.get(f"{url}/runbooks/documents", timeout=5).json() == []
