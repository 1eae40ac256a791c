"""Hostile and odd input (issue #17): each defect found by the fuzz and hand-made cases, reproduced on SQLite and
PostgreSQL. Every answer is a 4xx naming the field, nothing of a refused batch is stored, and no secret shows."""

from __future__ import annotations

import json
from datetime import timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from selfheal.api.app import create_app
from selfheal.cycle import CycleDeps, run_cycle
from selfheal.ingest import ingest_body
from selfheal.records import utcnow
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store
from selfheal.store.tables import LogEventRow, MetricPointRow, TicketRow, table

LOG = {
    "id": "p",
    "ts": "2026-03-02T12:00:00Z",
    "merchant_id": "m001",
    "source": "api",
    "endpoint": "GET /x",
    "status_code": 200,
    "latency_ms": 12.5,
}
TICKET = {
    "id": "t1",
    "created_at": "2026-03-02T12:00:00Z",
    "merchant_id": "m001",
    "subject": "s",
    "body": "b",
    "migration_stage": "pilot",
}
METRIC = {
    "ts": "2026-03-02T12:00:00Z",
    "merchant_id": "m001",
    "checkout_attempts": 3,
    "orders": 2,
    "revenue": 10,
}
ROWS = {"tickets": TicketRow, "logs": LogEventRow, "metrics": MetricPointRow}


def _count(store: Store, kind: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table(ROWS[kind]))).scalar_one())


def _refused(client: TestClient, store: Store, kind: str, body: bytes, content_type: str) -> dict:  # type: ignore[type-arg]
    r = client.post(f"/ingest/{kind}", content=body, headers={"content-type": content_type})
    assert r.status_code == 422, r.text
    assert _count(store, kind) == 0
    return r.json()["error"]  # type: ignore[no-any-return]


def _json(items: object) -> bytes:
    return json.dumps(items).encode()


@pytest.mark.parametrize(
    ("kind", "item", "field"),
    [
        ("logs", {**LOG, "latency_ms": "INF"}, "latency_ms"),
        ("metrics", {**METRIC, "revenue": "REV"}, "revenue"),
    ],
)
def test_infinite_numbers_are_refused(
    client: TestClient,
    store: Store,
    kind: str,
    item: dict,
    field: str,  # type: ignore[type-arg]
) -> None:
    for token in (b"1e999", b"Infinity", b"-1e999"):
        body = _json([item]).replace(b'"INF"', token).replace(b'"REV"', token)
        error = _refused(client, store, kind, body, "application/json")
        if token != b"Infinity":  # not JSON at all: refused as such
            assert error["details"]["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("kind", "item", "field"),
    [
        ("tickets", {**TICKET, "channel": "c" * 129}, "channel"),
        ("tickets", {**TICKET, "priority": "p" * 65}, "priority"),
        ("logs", {**LOG, "source": "s" * 129}, "source"),
        ("logs", {**LOG, "event": "e" * 129}, "event"),
        ("logs", {**LOG, "migration_stage": "m" * 513}, "migration_stage"),
        ("tickets", {**TICKET, "subject": "a\u0000b"}, "subject"),
        ("logs", {**LOG, "message": "a\u0000b"}, "message"),
        ("metrics", {**METRIC, "orders": 2**31}, "orders"),
        ("metrics", {**METRIC, "checkout_attempts": 2**63}, "checkout_attempts"),
        ("logs", {**LOG, "region": 2**64}, "region"),
        ("tickets", {**TICKET, "score": 2**63}, "score"),
        ("metrics", {**METRIC, "note": "x\u0000"}, "note"),
    ],
)
def test_values_the_columns_cannot_hold_are_422_naming_the_field(
    client: TestClient,
    store: Store,
    kind: str,
    item: dict,
    field: str,  # type: ignore[type-arg]
) -> None:
    error = _refused(client, store, kind, _json([item]), "application/json")
    assert field in json.dumps(error["details"]) or "JSON" in error["message"], error


def test_out_of_range_and_numeric_parameters_are_422(client: TestClient) -> None:
    for params in ({"as_of": "0001-01-01T00:00:00Z"}, {"as_of": "0.5"}, {"as_of": "1700000000"}):
        assert client.get("/observe", params=params).status_code == 422, params
    for path in ("/actions", "/incidents", "/audit"):
        assert client.get(path, params={"offset": 9223372036854775808}).status_code == 422, path
    assert client.post("/run_cycle", json={"as_of": "0001-01-01T00:00:00Z"}).status_code == 422
    assert client.post("/run_cycle", json={"as_of": 0.5}).status_code == 422


def test_a_future_as_of_is_refused_and_pruning_counts_from_the_wall_clock(
    client: TestClient, store: Store, settings: Settings
) -> None:
    recent = (utcnow() - timedelta(hours=1)).isoformat()
    ingest_body(store, "logs", _json([{**LOG, "ts": recent}]), "application/json")
    far = (utcnow() + timedelta(days=400)).isoformat()
    r = client.post("/run_cycle", json={"as_of": far})
    assert r.status_code == 422 and "as_of" in r.text
    # A cycle called in-process with that as_of (no API in between) still prunes only past retention.
    run_cycle(CycleDeps(store=store, settings=settings), utcnow() + timedelta(days=400), 60)
    assert _count(store, "logs") == 1


def test_the_item_limit_is_counted_before_parsing(store: Store, settings: Settings) -> None:
    small = settings.model_copy(update={"max_batch_items": 10})
    with TestClient(create_app(small, store)) as c:
        for content_type, body in (
            ("application/json", _json([LOG] * 11)),
            ("application/x-ndjson", b"\n".join([orjson.dumps(LOG)] * 11)),
            (
                "text/csv",
                b"ts,merchant_id,source,endpoint,status_code\n" + b"2026-03-02T12:00:00Z,m,a,e,200\n" * 11,
            ),
        ):
            r = c.post("/ingest/logs", content=body, headers={"content-type": content_type})
            assert r.status_code == 413 and r.json()["error"]["details"] == {"limit": 10}, content_type
        assert c.post("/ingest/logs", json=[{**LOG, "id": str(i)} for i in range(10)]).status_code == 200


def test_the_same_instant_in_three_spellings_is_one_event(client: TestClient, store: Store) -> None:
    anonymous = {k: v for k, v in LOG.items() if k != "id"}
    spellings = ("2026-03-02T12:00:00Z", "2026-03-02T12:00:00", "2026-03-02T13:00:00+01:00")
    for ts in spellings:
        client.post("/ingest/logs", json=[{**anonymous, "ts": ts}])
    assert _count(store, "logs") == 1


def test_duplicates_inside_a_batch_keep_the_first_copy_for_every_kind(
    client: TestClient, store: Store
) -> None:
    batches = {
        "tickets": [{**TICKET, "subject": "first"}, {**TICKET, "subject": "second"}],
        "logs": [{**LOG, "message": "first"}, {**LOG, "message": "second"}],
        "metrics": [{**METRIC, "orders": 1}, {**METRIC, "orders": 2}],
    }
    for kind, items in batches.items():
        r = client.post(f"/ingest/{kind}", json=items)
        assert r.json() == {"kind": kind, "received": 2, "stored": 1, "duplicates": 1}
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT subject FROM tickets").scalar_one() == "first"
        assert conn.exec_driver_sql("SELECT message FROM log_events").scalar_one() == "first"
        assert conn.exec_driver_sql("SELECT orders FROM metric_points").scalar_one() == 1


def test_loose_bodies_are_refused(client: TestClient, store: Store) -> None:
    two_on_a_line = orjson.dumps(LOG) + b"," + orjson.dumps({**LOG, "id": "q"})
    error = _refused(client, store, "logs", two_on_a_line, "application/x-ndjson")
    assert error["details"]["line"] == 1
    _refused(client, store, "logs", b"[]", "text/csv")
    _refused(client, store, "logs", _json([{**LOG, "ts": 1772452800}]), "application/json")
    _refused(client, store, "logs", _json([{**LOG, "ts": "0.5"}]), "application/json")
    _refused(
        client, store, "logs", b"ts,merchant_id,source,endpoint,status_code\n0.5,m,a,e,200\n", "text/csv"
    )


def test_health_shows_no_database_location_without_a_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'secret-place.db'}",
        admin_key="adm-secret",
        auth_mode=AuthMode.closed,
    )
    with TestClient(create_app(settings)) as c:
        anonymous = c.get("/health").json()
        assert "secret-place" not in json.dumps(anonymous) and anonymous["database"]["backend"] == "sqlite"
        assert (
            "secret-place" in c.get("/health", headers={"X-API-Key": "adm-secret"}).json()["database"]["url"]
        )
        assert "secret-place" not in c.get("/health", headers={"X-API-Key": "wrong"}).text


def test_the_openapi_document_declares_errors_and_the_key_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (`selfheal keys create`; the first admin key with `--database`).",
    }
    ingest = document["paths"]["/ingest/logs"]["post"]
    assert {"401", "403", "413", "415", "422"} <= set(ingest["responses"])
    assert ingest["security"] == [{"ApiKey": []}, {"Bearer": []}]
    approve = document["paths"]["/approve_action"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(approve)


def test_key_names_identify_one_holder_and_product_names_are_reserved(store: Store) -> None:
    from selfheal.auth import Role
    from selfheal.errors import Conflict, InvalidInput
    from selfheal.keys import create_key, revoke_key

    alice = create_key(store, "alice", Role.approver, "test")
    with pytest.raises(Conflict):
        create_key(store, "Alice", Role.operator, "test")
    revoke_key(store, alice.id, "test")
    with pytest.raises(Conflict):  # a revoked holder's name stays theirs: approvals name them
        create_key(store, "alice", Role.approver, "test")
    for reserved in ("policy", "admin", "system", "Cycle"):
        with pytest.raises(InvalidInput):
            create_key(store, reserved, Role.approver, "test")


def test_settings_print_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from selfheal.cli.main import app

    secrets = {
        "SELFHEAL_ADMIN_KEY": "adm-s3cret",
        "SELFHEAL_API_KEY": "api-s3cret",
        "SELFHEAL_ACT_WEBHOOK_SECRET": "hook-s3cret",
        "SELFHEAL_DATABASE_URL": "postgresql+psycopg://u:db-s3cret@db.internal/x",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    out = CliRunner().invoke(app, ["settings", "--no-markdown"]).output
    assert "admin_key" in out
    for value in secrets.values():
        assert value not in out
    assert "db-s3cret" not in out and "db.internal" not in out


def test_a_csv_body_the_csv_reader_cannot_read_is_422(client: TestClient, store: Store) -> None:
    # Found by the Schemathesis run: a bare carriage return inside an unquoted field.
    _refused(client, store, "logs", b"!\xf3\x86\xb6\xa4\r\xc2\x99\xc3\x80\x0f\xc2\x8e d", "text/csv")
    header = b"ts,merchant_id,source,endpoint,status_code\n"
    _refused(client, store, "logs", header + b'2026-03-02T12:00:00Z,m,"a\rb\n', "text/csv")
