"""Property-based fuzz of the ingest contract (Hypothesis): batches of valid items with hostile values swapped
in (huge integers, non-finite and huge numbers, NUL characters, text past its column, numeric and out-of-range
timestamps, odd extra fields), sent as JSON, NDJSON and CSV. On SQLite and PostgreSQL, every answer is a
declared one (200, 413, 415, 422; never 5xx) and a batch lands whole or not at all."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report import Tally
from sqlalchemy import func, select

from selfheal.store import Store
from selfheal.store.tables import LogEventRow, MetricPointRow, TicketRow, table

DECLARED = {200, 413, 415, 422}
ROWS = {"tickets": TicketRow, "logs": LogEventRow, "metrics": MetricPointRow}

BASE: dict[str, dict[str, Any]] = {
    "tickets": {
        "id": "t",
        "created_at": "2026-01-05T10:00:00Z",
        "merchant_id": "m001",
        "subject": "checkout fails",
        "body": "since the migration",
        "migration_stage": "cutover",
        "channel": "email",
        "priority": "high",
    },
    "logs": {
        "ts": "2026-01-05T10:00:00Z",
        "merchant_id": "m001",
        "source": "api",
        "endpoint": "POST /checkout",
        "status_code": 500,
        "latency_ms": 120.5,
        "event": "payment.failed",
        "migration_stage": "cutover",
    },
    "metrics": {
        "ts": "2026-01-05T10:00:00Z",
        "merchant_id": "m001",
        "checkout_attempts": 10,
        "orders": 9,
        "revenue": 420.5,
        "sessions": 30,
    },
}

HOSTILE = st.one_of(
    st.sampled_from(
        [
            2**31,
            2**63,
            2**64,
            -1,
            10**30,
            1e308,
            -0.0,
            float("inf"),
            float("nan"),
            "",
            "a\x00b",
            "x" * 129,
            "y" * 600,
            0.5,
            0,
            "0.5",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59Z",
            "2026-01-05T11:00:00+01:00",
            "2026-01-05T10:00:00",
            "not a time",
            True,
            None,
            [],
            {},
            {"deep": [[[[1]]]]},
        ]
    ),
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def batches(draw: st.DrawFn, kind: str) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 4))
    items = []
    for i in range(n):
        item = dict(BASE[kind])
        if kind == "tickets":
            item["id"] = f"t{draw(st.integers(0, 3))}"
        else:
            item["merchant_id"] = f"m{i % 2}"
        fields = draw(st.lists(st.sampled_from([*item, "extra_a", "extra_b"]), max_size=3, unique=True))
        for name in fields:
            item[name] = draw(HOSTILE)
        items.append(item)
    return items


def _body(items: list[dict[str, Any]], fmt: str) -> tuple[bytes, str]:
    if fmt == "json":
        return json.dumps(items).encode(), "application/json"
    if fmt == "ndjson":
        return "\n".join(json.dumps(i) for i in items).encode(), "application/x-ndjson"
    out = io.StringIO()
    names = sorted({k for i in items for k in i})
    writer = csv.DictWriter(out, fieldnames=names)
    writer.writeheader()
    for item in items:
        writer.writerow({k: v if isinstance(v, str) else json.dumps(v) for k, v in item.items()})
    return out.getvalue().encode(), "text/csv"


def _count(store: Store, kind: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table(ROWS[kind]))).scalar_one())


@pytest.mark.parametrize("kind", ["tickets", "logs", "metrics"])
def test_hostile_batches_get_a_declared_answer_and_land_whole_or_not_at_all(
    fuzz_client: TestClient, store: Store, kind: str
) -> None:
    tally = Tally(f"ingest-{kind}", store.dialect)

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(items=batches(kind), fmt=st.sampled_from(["json", "ndjson", "csv"]))
    def check(items: list[dict[str, Any]], fmt: str) -> None:
        body, content_type = _body(items, fmt)
        before = _count(store, kind)
        r = fuzz_client.post(f"/ingest/{kind}", content=body, headers={"content-type": content_type})
        added = _count(store, kind) - before
        stored = r.json().get("stored") if r.status_code == 200 else 0
        tally.add(r.status_code, lost=added != stored)
        assert r.status_code in DECLARED, (r.status_code, r.text[:500])
        assert added == stored, f"{added} rows added, answer says {stored}: {r.text[:300]}"
        if r.status_code == 200:
            result = r.json()
            assert result["stored"] + result["duplicates"] == result["received"] == len(items)

    try:
        check()
    finally:
        tally.write()
