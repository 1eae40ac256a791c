"""The Alertmanager receiver on the documented webhook payload (version 4), on SQLite and PostgreSQL: firing
then resolved, repeats, bad payloads, the http_config credentials, and the alerts the cycle observes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from payloads import alertmanager
from sqlalchemy import func, select

from selfheal.api.app import create_app
from selfheal.observe import observe
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store
from selfheal.store.alert_tables import AlertRow

TOKEN = "alertmanager-bearer-token-for-tests"
ADMIN = "admin-key-for-tests-only"
URL = "/connectors/alertmanager"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        auth_mode=AuthMode.closed,
        admin_key=ADMIN,
        alertmanager_bearer_token=TOKEN,
        alertmanager_basic_user="am",
        alertmanager_basic_password="am-password",
    )


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        yield c


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def post(client: TestClient, payload: Any, headers: dict[str, str] = BEARER) -> Any:
    return client.post(URL, json=payload, headers=headers)


def n_alerts(store: Store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(AlertRow)).scalar_one()


LABELS = {"merchant_id": "m-007", "migration_stage": "wave_1"}


def test_firing_then_resolved(client: TestClient, store: Store) -> None:
    res = post(client, alertmanager("firing", **LABELS))
    assert res.status_code == 200, res.text
    assert res.json() == {"received": 1, "stored": 1, "resolved": 0, "duplicates": 0}
    # Alertmanager re-sends a firing group every repeat_interval: a duplicate
    assert post(client, alertmanager("firing", **LABELS)).json()["duplicates"] == 1
    (alert,) = client.get("/connectors/alerts", headers={"X-API-Key": ADMIN}).json()
    assert alert["status"] == "firing" and alert["ends_at"] is None
    assert alert["merchant_id"] == "m-007" and alert["migration_stage"] == "wave_1"
    assert alert["alertname"] == "ProbeFailure" and alert["severity"] == "critical"
    assert alert["fingerprint"] == "1a30ba71cca2921f"
    assert alert["summary"] == "BlackBox Probe Failure: https://server.example.org"
    assert alert["starts_at"].startswith("2023-02-06T13:08:45.828")

    resolved = post(client, alertmanager("resolved", ends_at="2023-02-06T13:38:45.828Z", **LABELS))
    assert resolved.json() == {"received": 1, "stored": 0, "resolved": 1, "duplicates": 0}
    assert (
        post(client, alertmanager("resolved", ends_at="2023-02-06T13:38:45.828Z", **LABELS)).json()[
            "duplicates"
        ]
        == 1
    )
    # a late firing notice of the same occurrence does not reopen it
    assert post(client, alertmanager("firing", **LABELS)).json()["duplicates"] == 1
    (alert,) = client.get("/connectors/alerts?status=resolved", headers={"X-API-Key": ADMIN}).json()
    assert alert["ends_at"].startswith("2023-02-06T13:38:45.828")
    assert client.get("/connectors/alerts?status=firing", headers={"X-API-Key": ADMIN}).json() == []
    assert n_alerts(store) == 1


def test_a_new_start_is_a_new_occurrence(client: TestClient, store: Store) -> None:
    post(client, alertmanager("firing", **LABELS))
    again = alertmanager("firing", **LABELS)
    again["alerts"][0]["startsAt"] = "2023-02-07T09:00:00Z"
    assert post(client, again).json()["stored"] == 1
    assert n_alerts(store) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "3"}, "version"),
        ({"alerts": "none"}, "alerts"),
        ({"groupKey": None}, "groupKey"),
        (
            {"alerts": [{"status": "pending", "labels": {}, "startsAt": "2023-02-06T13:08:45Z"}]},
            "alerts.0.status",
        ),
        ({"alerts": [{"status": "firing", "labels": {}, "startsAt": "soon"}]}, "alerts.0.startsAt"),
        (
            {"alerts": [{"status": "firing", "labels": {"a": 1}, "startsAt": "2023-02-06T13:08:45Z"}]},
            "alerts.0.labels.a",
        ),
    ],
)
def test_bad_payload_is_422_and_stores_nothing(
    client: TestClient, store: Store, change: dict[str, Any], field: str
) -> None:
    payload = {**alertmanager("firing", **LABELS), **change}
    res = post(client, payload)
    assert res.status_code == 422, res.text
    assert res.json()["error"]["details"]["errors"][0]["field"] == field
    assert n_alerts(store) == 0


def test_a_payload_with_one_bad_alert_stores_none_of_it(client: TestClient, store: Store) -> None:
    payload = alertmanager("firing", **LABELS)
    payload["alerts"].append({**payload["alerts"][0], "startsAt": "1960-01-01T00:00:00Z"})
    assert post(client, payload).status_code == 422
    res = client.post(URL, content=b"{not json", headers={**BEARER, "Content-Type": "application/json"})
    assert res.status_code == 422
    assert n_alerts(store) == 0


def test_credentials(client: TestClient, store: Store) -> None:
    payload = alertmanager("firing", **LABELS)
    assert post(client, payload, headers={}).status_code == 401
    assert post(client, payload, headers={"Authorization": "Bearer wrong"}).status_code == 401
    bad_basic = base64.b64encode(b"am:wrong").decode()
    assert post(client, payload, headers={"Authorization": f"Basic {bad_basic}"}).status_code == 401
    assert n_alerts(store) == 0
    basic = base64.b64encode(b"am:am-password").decode()
    assert post(client, payload, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert post(client, payload, headers={"X-API-Key": ADMIN}).status_code == 200  # an API key works too


def test_the_cycle_observes_alerts_active_in_its_window(
    client: TestClient, store: Store, settings: Settings
) -> None:
    post(client, alertmanager("firing", **LABELS))
    other = alertmanager("firing", merchant_id="m-008")
    other["alerts"][0]["fingerprint"] = "2b41cb82ddb0303a"
    other["alerts"][0]["startsAt"] = "2023-02-06T15:00:00Z"
    other["alerts"][0]["status"] = other["status"] = "resolved"
    other["alerts"][0]["endsAt"] = "2023-02-06T15:10:00Z"
    post(client, other)

    during = observe(store, datetime(2023, 2, 6, 14, 0, tzinfo=UTC), 60, settings)
    assert [(a.fingerprint, a.merchant_id, a.migration_stage) for a in during.alerts] == [
        ("1a30ba71cca2921f", "m-007", "wave_1")
    ]
    later = observe(store, datetime(2023, 2, 6, 16, 0, tzinfo=UTC), 120, settings)
    assert {a.fingerprint for a in later.alerts} == {"1a30ba71cca2921f", "2b41cb82ddb0303a"}
    before = observe(store, datetime(2023, 2, 6, 13, 0, tzinfo=UTC), 60, settings)
    assert before.alerts == ()
    post(client, alertmanager("resolved", ends_at="2023-02-06T13:38:45.828Z", **LABELS))
    after_resolved = observe(store, datetime(2023, 2, 6, 15, 0, tzinfo=UTC), 60, settings)
    assert after_resolved.alerts == ()
