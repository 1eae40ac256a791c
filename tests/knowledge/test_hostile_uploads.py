"""Hostile uploads (issue #17): bounded cost (streamed limit, file count, a CPU budget for PDF text), precise
refusals (AES-encrypted PDF, paths leaving their folder), and every knowledge change in the audit trail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from tests.knowledge.conftest import store_url
from tests.knowledge.pdfgen import aes_encrypted_pdf, make_pdf

from selfheal.api.app import create_app
from selfheal.errors import InvalidInput
from selfheal.knowledge.budget import run_with_budget
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store, audit_repo

MD = b"# Deploy\n\nRoll back the release when checkout errors rise.\n"


@pytest.fixture
def client(tmp_path, store: Store) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path,
        database_url=store_url(store),
        auth_mode=AuthMode.open,
        dense_embeddings=False,
        kb_max_file_bytes=4096,
        max_body_bytes=64 * 1024,
    )
    with TestClient(create_app(settings, store)) as c:
        yield c


def _files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


def test_an_aes_encrypted_pdf_is_422_encrypted(client: TestClient) -> None:
    r = client.post("/runbooks/upload", files=_files(("locked.pdf", aes_encrypted_pdf(make_pdf([["x"]])))))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["reason"] == "encrypted"


def test_markdown_mentioning_the_pdf_magic_is_markdown(client: TestClient) -> None:
    text = b"# PDFs\n\nA file starting with %PDF-1.7 is a PDF; this runbook only mentions it.\n"
    r = client.post("/runbooks/upload", files=_files(("pdfs.md", text)))
    assert r.status_code == 200, r.text
    assert r.json()["documents"][0]["kind"] == "markdown"


def test_a_chunked_upload_stops_at_its_limit(client: TestClient) -> None:
    """Driven at the ASGI level (the test client would buffer the body first): a chunked body with no
    Content-Length, 4 MiB against a 64 KiB limit, is read only until the limit, then answered 413."""
    pulled: list[int] = []
    sent: list[dict[str, Any]] = []
    head = b"--b\r\nContent-Disposition: form-data; name=files; filename=a.md\r\n\r\n"

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        more = len(pulled) < 4000
        return {"type": "http.request", "body": head if len(pulled) == 1 else b"x" * 1024, "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/runbooks/upload",
        "raw_path": b"/runbooks/upload",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"multipart/form-data; boundary=b"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    anyio.run(client.app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert len(pulled) < 200  # stopped near the limit; nothing more was read or spooled


def test_one_request_holds_at_most_a_hundred_files(client: TestClient) -> None:
    many = [(f"r{i}.md", b"# r\n\nstep\n") for i in range(101)]
    r = client.post("/runbooks/upload", files=_files(*many))
    assert 400 <= r.status_code < 500 and r.status_code != 200


def test_names_keep_their_folder_and_may_not_leave_it(client: TestClient) -> None:
    r = client.post("/runbooks/upload", files=_files(("ops/deploy.md", MD), ("payments/deploy.md", MD)))
    assert r.status_code == 200, r.text
    assert sorted(d["name"] for d in r.json()["documents"]) == ["ops/deploy.md", "payments/deploy.md"]
    r = client.post("/runbooks/upload", files=_files(("../../etc/passwd.md", MD)))
    assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "path_traversal"


def test_every_knowledge_change_is_audited(client: TestClient, store: Store) -> None:
    first = client.post("/runbooks/upload", files=_files(("deploy.md", MD))).json()["documents"][0]
    client.post("/runbooks/upload", files=_files(("deploy.md", MD + b"\nAlso page the on-call.\n")))
    client.post("/runbooks/upload", files=_files(("other.md", MD)))
    assert client.delete(f"/runbooks/documents/{first['id']}").status_code == 200
    assert client.post("/runbooks/clear").status_code == 200
    with store.read() as conn:
        actions = [e.action for e in audit_repo.iter_all(conn)]
    for action in ("runbook.upload", "runbook.replace", "runbook.delete", "runbook.clear"):
        assert action in actions, actions


def _spin(_: bytes) -> int:
    total = 0
    while True:
        total += 1


def test_a_parse_past_its_cpu_budget_is_stopped_and_refused() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidInput) as caught:
        run_with_budget(_spin, b"", 1, "PDF")
    assert caught.value.details["reason"] == "too_costly"
    assert time.monotonic() - started < 10


def test_embedding_past_its_budget_stops_and_stores_nothing(
    store: Store, embedder: Any, tmp_path: Any
) -> None:
    from selfheal.knowledge.base import KnowledgeBase

    settings = Settings(data_dir=tmp_path, kb_embed_budget_seconds=0.5, kb_chunk_chars=200)
    kb = KnowledgeBase(store, settings, embedder=embedder)
    big = "\n\n".join(
        f"## Step {i}\n\nRestart worker {i} and check the checkout error rate." for i in range(3000)
    )
    started = time.monotonic()
    with pytest.raises(InvalidInput) as caught:
        kb.add_files([("big.md", big.encode())])
    assert caught.value.details["reason"] == "too_costly"
    assert 0 < caught.value.details["embedded"] < caught.value.details["chunks"]
    assert time.monotonic() - started < 60
    assert kb.documents() == []
