"""Ingestion over HTTP: formats, atomic batches with per-item errors, limits, idempotency."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from selfheal.api.app import create_app
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store

LOG = {
    "ts": "2026-03-02T12:00:00",
    "merchant_id": "m1",
    "source": "webhook",
    "endpoint": "POST /webhooks/order-created",
    "status_code": 403,
    "latency_ms": 12.5,
}


def _observe(client: TestClient) -> dict:  # type: ignore[type-arg]
    r = client.get("/observe", params={"as_of": "2026-03-02T13:00:00Z", "window_minutes": 120})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_json_ndjson_and_csv_are_accepted(client: TestClient) -> None:
    r = client.post("/ingest/logs", json=[{**LOG, "id": "a"}, {**LOG, "id": "b"}])
    assert r.json() == {"kind": "logs", "received": 2, "stored": 2, "duplicates": 0}
    nd = b"\n".join(orjson.dumps({**LOG, "id": i}) for i in ("c", "d", "a"))
    r = client.post("/ingest/logs", content=nd, headers={"content-type": "application/x-ndjson"})
    assert r.json()["stored"] == 2 and r.json()["duplicates"] == 1
    csv = (
        "id,created_at,merchant_id,subject,body,migration_stage,tags\n"
        "t1,2026-03-02T12:10:00Z,m1,Paid no order,I was charged,wave_1,webhook;urgent\n"
    )
    r = client.post("/ingest/tickets", content=csv, headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["stored"] == 1
    obs = _observe(client)
    assert obs["counts"] == {"tickets": 1, "log_events": 4, "metric_points": 0}
    assert obs["error_rates"][0]["errors_4xx"] == 4


def test_ingested_logs_keep_their_status_codes_in_the_rollups(client: TestClient, store: Store) -> None:
    """The HTTP path (as every connector's) stores exact failure codes in the rollups, not only the class."""
    batch = [{**LOG, "id": f"c{i}", "status_code": code} for i, code in enumerate((401, 401, 422, 200))]
    assert client.post("/ingest/logs", json=batch).json()["stored"] == 4
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT status_class, status_code, count FROM log_rollups ORDER BY status_code"
        ).all()
    assert [tuple(r) for r in rows] == [("2xx", "2xx", 1), ("4xx", "401", 2), ("4xx", "422", 1)]


def test_naive_timestamps_are_utc_and_extra_fields_are_kept(client: TestClient, store: Store) -> None:
    client.post("/ingest/logs", json=[{**LOG, "id": "x", "region": "eu-west", "ts": "2026-03-02T12:30:00"}])
    with store.read() as conn:
        ts_ms, extra = conn.exec_driver_sql("SELECT ts_ms, extra FROM log_events WHERE id = 'x'").one()
    assert ts_ms == 1772454600000  # 2026-03-02T12:30:00Z
    assert "eu-west" in str(extra)


def test_a_batch_with_one_bad_item_is_rejected_whole_with_index_field_reason(client: TestClient) -> None:
    bad = [
        {**LOG, "id": "ok1"},
        {**LOG, "id": "bad", "status_code": "abc"},
        {**LOG, "id": "bad2", "ts": None},
    ]
    r = client.post("/ingest/logs", json=bad)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_input"
    fields = {(e["index"], e["field"]) for e in err["details"]["errors"]}
    assert (1, "status_code") in fields and (2, "ts") in fields
    assert all(e["reason"] for e in err["details"]["errors"])
    assert _observe(client)["counts"]["log_events"] == 0


def test_malformed_bodies_are_4xx_never_500(client: TestClient) -> None:
    cases = [
        (b"{not json", "application/json", 422),
        (b'{"a": 1}\n{oops', "application/x-ndjson", 422),
        (b"42", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"<xml/>", "application/xml", 415),
        (b"id,ts\n1,2,3,4\n", "text/csv", 422),
        (b"\xff\xfe", "text/csv", 422),
    ]
    for body, ctype, status in cases:
        r = client.post("/ingest/logs", content=body, headers={"content-type": ctype})
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["message"]


def test_oversized_body_is_413_and_nothing_stored(store: Store, settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(small, store)) as c:
        r = c.post("/ingest/logs", json=[{**LOG, "id": str(i)} for i in range(100)])
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        assert _observe(c)["counts"]["log_events"] == 0


def test_closed_mode_needs_a_key(store: Store) -> None:
    closed = Settings(auth_mode=AuthMode.closed, admin_key="s3cret-admin")
    with TestClient(create_app(closed, store)) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/incidents").status_code == 401
        assert c.get("/incidents", headers={"x-api-key": "wrong"}).status_code == 401
        assert c.get("/incidents", headers={"x-api-key": "s3cret-admin"}).status_code == 200
