"""The API's shape: REST action moves beside their deprecated RPC aliases, `Prefer: respond-async` (202 and a
status URL), paginated listings (total and next cursor), and an OpenAPI document that validates and declares
its errors and the API-key scheme."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from selfheal.act import store_actions
from selfheal.api.app import create_app
from selfheal.decide.model import ProposedAction, Risk
from selfheal.records import dt_to_ms, utcnow
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store, incidents_repo

ADMIN = {"X-API-Key": "adm-shape"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Store, Settings]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'shape.db'}", auth_mode=AuthMode.closed, admin_key="adm-shape"
    )
    store = Store.open(settings.resolved_database_url())
    with TestClient(create_app(settings, store)) as client:
        yield client, store, settings
    store.dispose()


def _seed(store: Store, settings: Settings, n: int) -> list[str]:
    now = dt_to_ms(utcnow())
    with store.transaction() as conn:
        incident = incidents_repo.insert_incident(
            conn,
            {
                "created_ms": now,
                "updated_ms": now,
                "as_of_ms": now,
                "window_minutes": 60,
                "status": "open",
                "severity": "high",
                "category": "webhook_delivery",
                "title": "Paid orders missing",
                "assessment": {"blast_radius": {"stages": ["wave_1"], "merchants": [{"merchant_id": "m-1"}]}},
                "findings": {},
                "observation": {},
                "timeline": [],
            },
        )
        proposals = tuple(
            ProposedAction(
                key=f"k{i}",
                risk=Risk.medium,
                confidence=0.9,
                requires_approval=False,
                title=f"Run k{i}",
                description="d",
                rationale="r",
                expected_effect="e",
                params={},
            )
            for i in range(n)
        )
        return [o.action_id for o in store_actions(conn, incident, proposals, "cycle", settings)]


def test_rest_moves_and_their_deprecated_aliases(api: tuple[TestClient, Store, Settings]) -> None:
    client, store, settings = api
    a, b, c, d = _seed(store, settings, 4)
    approved = client.post(f"/actions/{a}/approve", json={"comment": "ok"}, headers=ADMIN)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert client.post(f"/actions/{a}/execute", headers=ADMIN).json()["status"] == "succeeded"
    again = client.post(f"/actions/{a}/execute", headers=ADMIN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.post(f"/actions/{b}/reject", headers=ADMIN).json()["status"] == "rejected"
    assert client.post(f"/actions/{c}/cancel", json={}, headers=ADMIN).json()["status"] == "cancelled"
    missing = client.post("/actions/act-nope/approve", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = client.post(f"/actions/{d}/approve", json={"comment": "x", "extra": 1}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "extra"
    # The old RPC routes still work, and say they are deprecated.
    old = client.post("/approve_action", json={"action_id": d}, headers=ADMIN)
    assert old.status_code == 200 and old.json()["status"] == "approved"
    assert (
        client.post("/execute_action", json={"action_id": d}, headers=ADMIN).json()["status"] == "succeeded"
    )
    paths = client.get("/openapi.json").json()["paths"]
    for move in ("approve", "reject", "cancel", "execute"):
        assert paths[f"/{move}_action"]["post"]["deprecated"] is True
        assert f"/actions/{{action_id}}/{move}" in paths[f"/{move}_action"]["post"]["description"]
        assert not paths[f"/actions/{{action_id}}/{move}"]["post"].get("deprecated")


def test_prefer_respond_async_answers_202_with_a_status_url(api: tuple[TestClient, Store, Settings]) -> None:
    client, store, settings = api
    a, b = _seed(store, settings, 2)
    for aid in (a, b):
        client.post(f"/actions/{aid}/approve", headers=ADMIN)
    answer = client.post(f"/actions/{a}/execute", headers={**ADMIN, "Prefer": "respond-async, wait=5"})
    assert answer.status_code == 202
    assert answer.headers["Location"] == f"/actions/{a}"
    assert answer.headers["Preference-Applied"] == "respond-async"
    assert answer.json()["status"] == "executing"
    deadline = time.monotonic() + 20
    while (status := client.get(answer.headers["Location"], headers=ADMIN).json()["status"]) == "executing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status == "succeeded"
    # Exactly once holds: the claim was committed before the 202.
    assert (
        client.post(f"/actions/{a}/execute", headers={**ADMIN, "Prefer": "respond-async"}).status_code == 409
    )
    # Without the header the answer is the finished action, as before.
    sync = client.post(f"/actions/{b}/execute", headers=ADMIN)
    assert sync.status_code == 200 and sync.json()["status"] == "succeeded"


def test_listings_return_the_total_and_a_next_cursor(api: tuple[TestClient, Store, Settings]) -> None:
    client, store, settings = api
    ids = _seed(store, settings, 5)
    first = client.get("/actions", params={"limit": 2, "status": "proposed"}, headers=ADMIN)
    assert first.headers["X-Total-Count"] == "5"
    assert isinstance(first.json(), list) and len(first.json()) == 2  # the body stays a JSON array
    seen = [a["id"] for a in first.json()]
    cursor = first.headers["X-Next-Cursor"]
    assert 'rel="next"' in first.headers["Link"] and "status=proposed" in first.headers["Link"]
    while cursor:
        page = client.get(
            "/actions", params={"limit": 2, "status": "proposed", "cursor": cursor}, headers=ADMIN
        )
        seen += [a["id"] for a in page.json()]
        cursor = page.headers.get("X-Next-Cursor", "")
    assert sorted(seen) == sorted(ids)
    assert "Link" not in page.headers
    bad = client.get("/actions", params={"cursor": "nonsense"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "cursor"
    incidents = client.get("/incidents", params={"limit": 1}, headers=ADMIN)
    assert incidents.headers["X-Total-Count"] == "1" and "X-Next-Cursor" not in incidents.headers
    audit = client.get("/audit", params={"limit": 2}, headers=ADMIN)
    assert int(audit.headers["X-Total-Count"]) >= 5 and audit.headers["X-Next-Cursor"]


def test_the_openapi_document_validates_and_declares_errors_and_the_key(
    api: tuple[TestClient, Store, Settings],
) -> None:
    client, _, _ = api
    document = client.get("/openapi.json").json()
    validate(document)  # raises on an invalid OpenAPI document
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"]["type"] == "apiKey" and schemes["ApiKey"]["name"] == "X-API-Key"
    assert schemes["Bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["Bearer"]["description"],
    }
    execute = document["paths"]["/actions/{action_id}/execute"]["post"]
    assert {"200", "202", "401", "403", "404", "409", "422"} <= set(execute["responses"])
    assert execute["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert {"ApiKey": []} in execute["security"]
    upload = document["paths"]["/runbooks/upload"]["post"]["responses"]
    assert {"401", "403", "413", "422"} <= set(upload)
    listing = document["paths"]["/actions"]["get"]
    assert {"X-Total-Count", "X-Next-Cursor", "Link"} <= set(listing["responses"]["200"]["headers"])
    assert any(p["name"] == "cursor" for p in listing["parameters"])
