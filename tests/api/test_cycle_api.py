"""A replayable cycle over simulated history stores an incident that the API returns whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_run_cycle_on_a_webhook_fault_stores_an_incident(client: TestClient, store: Store) -> None:
    fault = FaultSpec(
        name="webhook_403", start=T0 + timedelta(minutes=90), duration_minutes=60, stages=("wave_1",)
    )
    # six hours of history before the window, so error-rate baselines are learned rather than assumed
    history = timedelta(hours=6)
    result = simulate(SimConfig(seed=3, merchants=20, start=T0 - history, minutes=180 + 360, faults=(fault,)))
    load_into(store, result)

    quiet = client.post("/run_cycle", json={"as_of": (T0 + timedelta(minutes=80)).isoformat()})
    assert quiet.status_code == 200, quiet.text
    assert quiet.json()["outcome"]["incident_id"] is None

    r = client.post(
        "/run_cycle", json={"as_of": (T0 + timedelta(minutes=150)).isoformat(), "window_minutes": 60}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    incident_id = body["outcome"]["incident_id"]
    assert incident_id
    gaps = [
        g for g in body["findings"]["soft_failures"] if g["missing_orders"] >= 3
    ]  # baseline noise is 0.1%
    assert gaps and {g["migration_stage"] for g in gaps} == {"wave_1"}
    truth_merchants = set(result.truth.faults[0].merchants)
    assert {g["merchant_id"] for g in gaps} <= truth_merchants

    listed = client.get("/incidents").json()
    assert listed[0]["id"] == incident_id
    whole = client.get(f"/incidents/{incident_id}").json()
    assert whole["assessment"]["summary"]
    assert whole["findings"]["soft_failures"]
    assert client.get("/incidents/nope").status_code == 404


def test_run_cycle_validates_its_body(client: TestClient) -> None:
    r = client.post("/run_cycle", json={"window_minutes": 0})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"].endswith("window_minutes")
    r = client.post("/run_cycle", json={"as_of": "yesterday"})
    assert r.status_code == 422


def test_health_reports_database_and_version(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["version"]
