"""`GET /metrics` (Prometheus text) reports the installation from the database and this process's ingest
batches; `/health/live` and `/health/ready` (503 when the database is unreachable or behind)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from selfheal.api.app import create_app
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store
from selfheal.store.engine import make_engine

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_metrics_after_a_cycle_and_ingest(client: TestClient, store: Store) -> None:
    fault = FaultSpec(
        name="webhook_403", start=T0 + timedelta(minutes=90), duration_minutes=60, stages=("wave_1",)
    )
    load_into(
        store,
        simulate(
            SimConfig(seed=3, merchants=20, start=T0 - timedelta(hours=6), minutes=540, faults=(fault,))
        ),
    )
    r = client.post("/run_cycle", json={"as_of": (T0 + timedelta(minutes=150)).isoformat()})
    assert r.status_code == 200 and r.json()["outcome"]["incident_id"]
    severity = r.json()["assessment"]["severity"]
    ok = client.post(
        "/ingest/logs",
        json=[
            {
                "ts": T0.isoformat(),
                "merchant_id": "m-1",
                "source": "api",
                "endpoint": "GET /x",
                "status_code": 200,
            }
        ],
    )
    assert ok.status_code == 200, ok.text
    bad = client.post("/ingest/logs", json=[{"merchant_id": "m-1"}])
    assert bad.status_code in (400, 422)

    m = client.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    samples = _samples(m.text)
    assert samples[("selfheal_open_incidents", (("severity", severity),))] == 1
    assert sum(v for (n, _), v in samples.items() if n == "selfheal_revenue_at_risk_per_hour") > 0
    assert samples[("selfheal_ingest_batches_total", (("kind", "logs"), ("result", "stored")))] == 1
    assert samples[("selfheal_ingest_batches_total", (("kind", "logs"), ("result", "rejected")))] == 1
    stages = {
        dict(labels)["stage"] for (n, labels), _ in samples.items() if n == "selfheal_cycle_stage_seconds"
    }
    assert {"observe", "reason", "decide", "act"} <= stages
    assert ("selfheal_ingest_lag_seconds", (("kind", "logs"),)) in samples
    assert samples[("selfheal_scheduler_enabled", ())] == 0
    assert client.get("/health/live").json() == {"status": "alive"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_ready_is_503_when_migrations_are_behind(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = Store(make_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}"))
    with TestClient(create_app(settings, store)) as c:
        r = c.get("/health/ready")
        assert c.get("/health/live").status_code == 200
    store.dispose()
    assert r.status_code == 503
    assert r.json()["database"] is True and r.json()["migrations_pending"]


def test_ready_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = Store(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    with TestClient(create_app(settings, store)) as c:
        r = c.get("/health/ready")
        assert c.get("/health/live").status_code == 200
    assert r.status_code == 503 and r.json()["database"] is False
    assert sys.modules["prometheus_client"]
