"""The /runbooks endpoints (alias /rag) through FastAPI's TestClient (real HTTP semantics) on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.knowledge.conftest import store_url
from tests.knowledge.pdfgen import encrypt_pdf, make_pdf

from selfheal.api.app import create_app
from selfheal.auth import Role, hash_key, new_key
from selfheal.knowledge.base import document_id
from selfheal.records import dt_to_ms, utcnow
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store, keys_repo

ADMIN = "admin-test-key"
WEBHOOK = b"# Webhook 403\n\n## Meaning\n\n`POST /webhooks/order-created` fails with 403: signing secret mismatch.\n"
AUTH = b"# API auth\n\n## Meaning\n\n`POST /api/checkout` returns 401 after a key rotation.\n"


@pytest.fixture
def env(tmp_path: Path, store: Store) -> Iterator[tuple[TestClient, dict[Role, dict[str, str]], Store]]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=store_url(store),
        auth_mode=AuthMode.closed,
        admin_key=ADMIN,
        dense_embeddings=False,
        kb_max_file_bytes=4096,
    )
    headers: dict[Role, dict[str, str]] = {Role.admin: {"X-API-Key": ADMIN}}
    with store.transaction() as conn:
        for role in (Role.viewer, Role.operator):
            key = new_key()
            keys_repo.insert_key(conn, role.value, role.value, hash_key(key), dt_to_ms(utcnow()))
            headers[role] = {"X-API-Key": key}
    with TestClient(create_app(settings, store)) as client:
        yield client, headers, store


def _files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


def test_upload_stats_search_list_delete_clear(
    env: tuple[TestClient, dict[Role, dict[str, str]], Store],
) -> None:
    client, h, store = env
    pdf = make_pdf([["Payment provider errors"], ["POST /payments/authorize returns 503: fail over"]])
    r = client.post(
        "/runbooks/upload",
        files=_files(("webhook.md", WEBHOOK), ("auth.md", AUTH), ("psp.pdf", pdf)),
        headers=h[Role.operator],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [d["kind"] for d in body["documents"]] == ["markdown", "markdown", "pdf"]
    assert body["chunks"] >= 3

    stats = client.get("/runbooks/stats", headers=h[Role.viewer]).json()
    assert stats["documents"] == 3
    assert client.get("/rag/stats", headers=h[Role.viewer]).json() == stats  # the deprecated name
    assert stats["chunks"] == body["chunks"]
    assert stats["index_kind"] == "lexical: BM25F"
    assert stats["embedding_model"] is None
    assert stats["vector_index"] == "none"
    assert stats["pgvector_used"] is False
    assert stats["database"] == store.dialect
    if store.dialect == "sqlite":
        assert stats["pgvector_available"] is False

    r = client.get(
        "/runbooks/search", params={"q": "checkout 401 key rotation", "top": 2}, headers=h[Role.viewer]
    )
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert hits[0]["document"] == "auth.md"
    assert hits[0]["section"] == "API auth > Meaning"
    assert hits[0]["rank"] == 1
    assert "lexical" in hits[0]["scores"]

    r = client.get("/runbooks/search", params={"q": "authorize 503"}, headers=h[Role.viewer])
    assert r.json()["hits"][0]["page"] == 2

    docs = client.get("/runbooks/documents", headers=h[Role.viewer]).json()
    assert sorted(d["name"] for d in docs) == ["auth.md", "psp.pdf", "webhook.md"]

    r = client.delete(f"/runbooks/documents/{document_id('auth.md')}", headers=h[Role.operator])
    assert r.status_code == 200
    assert client.get("/runbooks/stats", headers=h[Role.viewer]).json()["documents"] == 2
    r = client.delete(f"/runbooks/documents/{document_id('auth.md')}", headers=h[Role.operator])
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"

    assert client.post("/runbooks/clear", headers=h[Role.operator]).status_code == 403
    r = client.post("/runbooks/clear", headers=h[Role.admin])
    assert r.json()["documents"] == 2
    assert client.get("/runbooks/stats", headers=h[Role.viewer]).json()["chunks"] == 0


def test_reupload_replaces(env: tuple[TestClient, dict[Role, dict[str, str]], Store]) -> None:
    client, h, _ = env
    client.post("/runbooks/upload", files=_files(("webhook.md", WEBHOOK)), headers=h[Role.operator])
    r = client.post("/runbooks/upload", files=_files(("webhook.md", WEBHOOK)), headers=h[Role.operator])
    assert r.json()["documents"][0]["replaced"] is True
    stats = client.get("/runbooks/stats", headers=h[Role.viewer]).json()
    assert stats["documents"] == 1
    assert stats["chunks"] == r.json()["chunks"]


@pytest.mark.parametrize(
    ("name", "data", "status", "reason"),
    [
        ("locked.pdf", encrypt_pdf(make_pdf([["secret"]])), 422, "encrypted"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", 422, None),
        ("empty.md", b"", 422, "empty"),
        ("big.md", b"# big\n\n" + b"x " * 3000, 413, None),
        ("photo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00", 415, None),
        ("late-nul.md", b"# notes\n\n" + b"a " * 1500 + b"\x00", 415, None),
    ],
)
def test_bad_files_refuse_the_batch(
    env: tuple[TestClient, dict[Role, dict[str, str]], Store],
    name: str,
    data: bytes,
    status: int,
    reason: str | None,
) -> None:
    client, h, _ = env
    r = client.post(
        "/runbooks/upload", files=_files(("webhook.md", WEBHOOK), (name, data)), headers=h[Role.operator]
    )
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["details"]["file"] == name
    assert name in error["message"]
    if reason:
        assert error["details"]["reason"] == reason
    stats = client.get("/runbooks/stats", headers=h[Role.viewer]).json()
    assert (stats["documents"], stats["chunks"]) == (0, 0)


def test_upload_needs_files_and_roles(env: tuple[TestClient, dict[Role, dict[str, str]], Store]) -> None:
    client, h, _ = env
    r = client.post("/runbooks/upload", files=_files(("a.md", WEBHOOK)), headers=h[Role.viewer])
    assert r.status_code == 403
    assert client.post("/runbooks/upload", files=_files(("a.md", WEBHOOK))).status_code == 401
    r = client.post("/runbooks/upload", json={"files": []}, headers=h[Role.operator])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "files"
    r = client.post("/runbooks/upload", data={"other": "x"}, headers=h[Role.operator])
    assert r.status_code == 422
    r = client.post(
        "/runbooks/upload", files=_files(("a.md", WEBHOOK), ("a.md", AUTH)), headers=h[Role.operator]
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"]["duplicates"] == ["a.md"]


def test_search_validation(env: tuple[TestClient, dict[Role, dict[str, str]], Store]) -> None:
    client, h, _ = env
    assert client.get("/runbooks/search", headers=h[Role.viewer]).status_code == 422
    assert (
        client.get("/runbooks/search", params={"q": "x", "top": 0}, headers=h[Role.viewer]).status_code == 422
    )
    r = client.get("/runbooks/search", params={"q": "   "}, headers=h[Role.viewer])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "q"
    r = client.get("/runbooks/search", params={"q": "anything"}, headers=h[Role.viewer])
    assert r.status_code == 200
    assert r.json()["hits"] == []
