"""The merchant directory over the API (SQLite and PostgreSQL): batch upsert from JSON and CSV, all or nothing,
listings, stage history, unknown merchants, and stages taken from the directory by the cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apikit import Api
from fastapi.testclient import TestClient

from selfheal.auth import Role
from selfheal.observe import observe
from selfheal.settings import Settings
from selfheal.store import Store, directory_repo

FIXTURES = Path(__file__).parents[1] / "connect" / "fixtures"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _merchant(mid: str, stage: str, moved_at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": mid, "name": f"Shop {mid}", "stage": stage, **extra}
    if moved_at is not None:
        body["moved_at"] = _iso(moved_at)
    return body


def _ticket(tid: str, merchant: str, at: datetime, stage: str | None = None) -> dict[str, Any]:
    body = {
        "id": tid,
        "created_at": _iso(at),
        "merchant_id": merchant,
        "subject": "checkout 403",
        "body": "b",
    }
    if stage is not None:
        body["migration_stage"] = stage
    return body


def test_json_import_creates_lists_and_shows_with_history(client: TestClient) -> None:
    r = client.post(
        "/merchants",
        json=[
            _merchant(
                "m-1", "pilot", NOW - timedelta(days=20), plan="plus", currency="USD", labels={"org": "7"}
            ),
            _merchant("m-2", "legacy"),
        ],
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 2, "created": 2, "updated": 0, "unchanged": 0, "stage_moves": 2}
    listing = client.get("/merchants").json()
    assert [m["id"] for m in listing] == ["m-1", "m-2"]
    assert listing[0]["labels"] == {"org": "7"} and listing[0]["plan"] == "plus"
    assert listing[1]["moved_at"] is None  # no date given: from the beginning
    assert [m["id"] for m in client.get("/merchants", params={"limit": 1, "offset": 1}).json()] == ["m-2"]
    first = client.get("/merchants", params={"limit": 1})
    assert first.headers["X-Total-Count"] == "2" and [m["id"] for m in first.json()] == ["m-1"]
    rest = client.get("/merchants", params={"limit": 1, "cursor": first.headers["X-Next-Cursor"]})
    assert [m["id"] for m in rest.json()] == ["m-2"] and "X-Next-Cursor" not in rest.headers
    assert client.get("/merchants", params={"stage": "pilot"}).headers["X-Total-Count"] == "1"
    assert [m["id"] for m in client.get("/merchants", params={"stage": "pilot"}).json()] == ["m-1"]

    # a stage change appends to the history; the current stage is the latest move
    r = client.post("/merchants", json=[_merchant("m-1", "wave_1", NOW - timedelta(days=2), plan="plus")])
    assert r.json()["updated"] == 1 and r.json()["stage_moves"] == 1
    detail = client.get("/merchants/m-1").json()
    assert detail["stage"] == "wave_1"
    assert [h["stage"] for h in detail["stage_history"]] == ["pilot", "wave_1"]
    assert detail["labels"] == {}  # labels are replaced by the import, not merged

    # the same file again changes nothing
    again = client.post("/merchants", json=[_merchant("m-1", "wave_1", NOW - timedelta(days=2), plan="plus")])
    assert again.json() == {"received": 1, "created": 0, "updated": 0, "unchanged": 1, "stage_moves": 0}
    assert len(client.get("/merchants/m-1").json()["stage_history"]) == 2


def test_csv_import_with_label_columns_and_dates(client: TestClient) -> None:
    body = (FIXTURES / "directory.csv").read_bytes()
    r = client.post("/merchants", content=body, headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3
    one = client.get("/merchants/m-0001").json()
    assert one["labels"] == {"zendesk_org": "509974", "freshdesk_company": "Shop One"}
    assert one["moved_at"].startswith("2026-11-20T00:00:00")
    assert one["currency"] == "USD"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([_merchant("ok", "pilot"), {"id": "bad", "name": "x"}], "stage"),
        ([_merchant("ok", "pilot"), _merchant("bad", "pilot", currency="usd")], "currency"),
        ([_merchant("ok", "pilot"), {**_merchant("bad", "pilot"), "moved_at": "yesterday"}], "moved_at"),
        ([_merchant("ok", "pilot"), {**_merchant("bad", "pilot"), "colour": "red"}], "colour"),
        ([_merchant("ok", "pilot"), _merchant("ok", "wave_1")], "id"),
    ],
)
def test_a_bad_merchant_refuses_the_batch_with_field_and_reason(
    client: TestClient, body: list[Any], field: str
) -> None:
    r = client.post("/merchants", json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["error"]["details"]["errors"]
    assert errors[0]["index"] == 1 and errors[0]["field"] == field and errors[0]["reason"]
    assert client.get("/merchants").json() == []


def test_a_bad_csv_row_names_its_line_and_stores_nothing(client: TestClient) -> None:
    body = b"id,name,stage,currency\nm-1,One,pilot,USD\nm-2,Two,,EUR\n"
    r = client.post("/merchants", content=body, headers={"content-type": "text/csv"})
    assert r.status_code == 422
    err = r.json()["error"]["details"]["errors"][0]
    assert (err["line"], err["field"]) == (3, "stage")
    assert client.get("/merchants").json() == []
    r = client.post("/merchants", content=b"id,name\nm-1,One\n", headers={"content-type": "text/csv"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "stage"
    r = client.post("/merchants", content=b"<x/>", headers={"content-type": "application/xml"})
    assert r.status_code == 415


def test_unknown_merchant_is_404(client: TestClient) -> None:
    r = client.get("/merchants/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_writing_the_directory_needs_the_operator_role(api: Api) -> None:
    body = [_merchant("m-1", "pilot")]
    assert api.client.post("/merchants", json=body, headers=api.as_(Role.viewer)).status_code == 403
    assert api.client.post("/merchants", json=body, headers=api.as_(None)).status_code == 401
    assert api.client.post("/merchants", json=body, headers=api.as_(Role.operator)).status_code == 200
    assert api.client.get("/merchants", headers=api.as_(Role.viewer)).status_code == 200


def test_ingest_reports_unknown_merchants_and_stores_their_signals(client: TestClient) -> None:
    # no directory: the answer is what it always was
    r = client.post("/ingest/tickets", json=[_ticket("t-0", "m-9", NOW - timedelta(minutes=5), "pilot")])
    assert r.json() == {"kind": "tickets", "received": 1, "stored": 1, "duplicates": 0}
    client.post("/merchants", json=[_merchant("m-1", "pilot")])
    r = client.post(
        "/ingest/tickets",
        json=[
            _ticket("t-1", "m-1", NOW - timedelta(minutes=5)),
            _ticket("t-2", "m-7", NOW - timedelta(minutes=4)),
            _ticket("t-3", "m-8", NOW - timedelta(minutes=3)),
        ],
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["stored"] == 3
    assert answer["unknown_merchants"] == ["m-7", "m-8"] and answer["unknown_merchant_count"] == 2
    unknown = client.get("/merchants/unknown", params={"window_minutes": 60}).json()
    assert [u["merchant_id"] for u in unknown] == ["m-7", "m-8", "m-9"]
    assert unknown[0]["tickets"] == 1
    cycle = client.post("/run_cycle", json={"window_minutes": 60, "use_llm": False})
    assert cycle.status_code == 200, cycle.text
    assert cycle.json()["observation"]["unknown_merchants"] == ["m-7", "m-8", "m-9"]


def test_a_replayed_cycle_uses_the_stages_of_its_day(store: Store, settings: Settings) -> None:
    """A merchant moved from pilot to wave_1 three days ago: observing last week gives pilot, today wave_1,
    for tickets, logs and metrics that carry no stage; a signal's own stage still wins."""
    week_ago = NOW - timedelta(days=7)
    app = create_client(store, settings)
    with app as client:
        client.post("/merchants", json=[_merchant("m-1", "pilot", NOW - timedelta(days=30))])
        client.post("/merchants", json=[_merchant("m-1", "wave_1", NOW - timedelta(days=3))])
        for at, tid in ((week_ago - timedelta(minutes=10), "old"), (NOW - timedelta(minutes=10), "new")):
            assert client.post("/ingest/tickets", json=[_ticket(tid, "m-1", at)]).status_code == 200
            log = {
                "ts": _iso(at),
                "merchant_id": "m-1",
                "source": "api",
                "endpoint": "POST /api/checkout",
                "status_code": 500,
                "id": f"log-{tid}",
            }
            metric = {
                "ts": _iso(at),
                "merchant_id": "m-1",
                "checkout_attempts": 10,
                "orders": 9,
                "revenue": 90.0,
            }
            assert client.post("/ingest/logs", json=[log]).status_code == 200
            assert client.post("/ingest/metrics", json=[metric]).status_code == 200
        client.post("/ingest/tickets", json=[_ticket("own", "m-1", NOW - timedelta(minutes=9), "headless")])

    last_week = observe(store, week_ago, 60, settings)
    assert [t.migration_stage for t in last_week.tickets] == ["pilot"]
    assert {r.migration_stage for r in last_week.rollups} == {"pilot"}
    assert {m.migration_stage for m in last_week.metrics} == {"pilot"}
    assert last_week.merchant_stages["m-1"] == "pilot"
    today = observe(store, NOW, 60, settings)
    assert {t.id: t.migration_stage for t in today.tickets} == {"new": "wave_1", "own": "headless"}
    assert {r.migration_stage for r in today.rollups} == {"wave_1"}
    assert today.unknown_merchants == ()
    with store.read() as conn:
        assert directory_repo.stage_at(conn, "m-1", int(week_ago.timestamp() * 1000)) == "pilot"
        assert directory_repo.stage_at(conn, "m-1", int(NOW.timestamp() * 1000)) == "wave_1"
        assert directory_repo.stage_at(conn, "m-1", 0) is None  # before its first known move
        assert directory_repo.stage_at(conn, "nope", int(NOW.timestamp() * 1000)) is None


def test_filling_in_older_history_keeps_the_current_stage(client: TestClient) -> None:
    client.post("/merchants", json=[_merchant("m-1", "wave_2", NOW - timedelta(days=1))])
    client.post("/merchants", json=[_merchant("m-1", "pilot", NOW - timedelta(days=40))])
    detail = client.get("/merchants/m-1").json()
    assert detail["stage"] == "wave_2"
    assert [h["stage"] for h in detail["stage_history"]] == ["pilot", "wave_2"]


def create_client(store: Store, settings: Settings) -> TestClient:
    from selfheal.api.app import create_app

    return TestClient(create_app(settings, store))


def test_concurrent_imports_never_duplicate_or_lose_a_move(store: Store) -> None:
    """Eight threads import the same new merchants, then eight move them to different stages at once: one
    merchant row each, every move in the history, and the current stage is the latest move's."""
    from concurrent.futures import ThreadPoolExecutor

    from selfheal.ingest.merchants import import_merchants
    from selfheal.signals import MerchantEntry

    ids = [f"m-{i}" for i in range(20)]
    first = [MerchantEntry(id=i, name=i, stage="pilot") for i in ids]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: import_merchants(store, first), range(8)))
    assert sum(r.created for r in results) == 20
    stages = [f"wave_{n}" for n in range(8)]
    moves = [
        [MerchantEntry(id=i, name=i, stage=s, moved_at=NOW - timedelta(hours=8 - n)) for i in ids]
        for n, s in enumerate(stages)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda batch: import_merchants(store, batch), moves))
    with store.read() as conn:
        assert directory_repo.directory_size(conn) == 20
        for i in ids:
            history = directory_repo.stage_history(conn, i)
            assert [h.stage for h in history] == ["pilot", *stages]
            record = directory_repo.get_merchant(conn, i)
            assert record is not None and record.stage == "wave_7"
