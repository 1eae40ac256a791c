"""Detection over simulated signals stored in a real SQLite database, through observe -> reason and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from selfheal.api.app import create_app
from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import AnomalyKind, Severity
from selfheal.settings import AuthMode, Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store

START = datetime(2024, 5, 1, tzinfo=UTC)
ONSET = START + timedelta(hours=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Settings]:
    path: Path = tmp_path_factory.mktemp("sim")
    cfg = SimConfig(
        seed=3,
        merchants=8,
        start=START,
        minutes=32 * 60,
        faults=(FaultSpec(name="webhook_403", start=ONSET, duration_minutes=90, stages=("wave_1",)),),
    )
    store = Store.open(f"sqlite:///{path / 'sim.db'}")
    load_into(store, simulate(cfg))
    return store, Settings(data_dir=path, auth_mode=AuthMode.open)


def _anomalies(world: tuple[Store, Settings], as_of: datetime):  # type: ignore[no-untyped-def]
    store, settings = world
    return reason(observe(store, as_of, 60, settings), ReasonContext(settings=settings)).anomalies


def test_webhook_403_is_a_hard_anomaly_with_onset_and_dimensions(world) -> None:  # type: ignore[no-untyped-def]
    found = _anomalies(world, ONSET + timedelta(minutes=20))
    hard = [a for a in found if a.kind == AnomalyKind.hard and "webhooks/order-created" in a.series]
    assert hard, [a.series for a in found]
    a = hard[0]
    assert a.dimensions.status_codes == ("4xx",)
    assert "wave_1" in a.dimensions.stages
    assert abs((a.onset - ONSET).total_seconds()) <= 5 * 60
    assert a.observed > a.expected
    assert 0.5 <= a.score <= 1.0
    assert a.method


def test_quiet_hour_before_the_fault_has_no_high_anomaly(world) -> None:  # type: ignore[no-untyped-def]
    found = _anomalies(world, ONSET - timedelta(minutes=30))
    assert not [a for a in found if a.severity in (Severity.high, Severity.critical)]


def test_get_anomalies_lists_them(world) -> None:  # type: ignore[no-untyped-def]
    store, settings = world
    client = TestClient(create_app(settings, store))
    as_of = (ONSET + timedelta(minutes=30)).isoformat()
    resp = client.get("/anomalies", params={"as_of": as_of, "window_minutes": 60})
    assert resp.status_code == 200
    body = resp.json()
    assert any("webhooks/order-created" in a["series"] for a in body)
    assert {"score", "method", "observed", "expected", "onset", "dimensions"} <= set(body[0])
    bad = client.get("/anomalies", params={"as_of": "yesterday", "window_minutes": 0})
    assert bad.status_code == 422
