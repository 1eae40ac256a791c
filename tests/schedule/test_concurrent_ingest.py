"""Eight senders posting log batches whose minutes overlap, all at once: every batch is stored (no deadlock
escapes as an error), every event is counted once in the rollups, and a resent event is stored once."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
from cyclekit import all_at_once
from sqlalchemy import text

from selfheal.ingest import IngestResult, ingest_body
from selfheal.store import Store
from selfheal.store.engine import make_engine

SENDERS = 8
BATCHES = 3
EVENTS = 300
T0_MS = int(datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp() * 1000)
SHARED = 20
"""Events every sender also sends (same ids): concurrent batches race on them."""


def _iso(ms: int) -> str:
    """Timestamps cross the wire as ISO 8601 (numbers are refused)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _batch(sender: int, batch: int) -> bytes:
    rng = random.Random(sender * 100 + batch)
    events = [
        {
            "id": f"s{sender}-b{batch}-{i}",
            "ts": _iso(T0_MS + rng.randrange(0, 10 * 60_000)),  # the same ten minutes for every sender
            "merchant_id": f"m-{rng.randrange(5)}",
            "source": "api",
            "endpoint": rng.choice(["POST /api/checkout", "GET /api/cart", "POST /webhooks/order"]),
            "status_code": rng.choice([200, 200, 200, 500]),
            "latency_ms": rng.uniform(5, 900),
        }
        for i in range(EVENTS)
    ]
    events += [
        {
            "id": f"shared-{batch}-{i}",
            "ts": _iso(T0_MS + i * 1000),
            "merchant_id": "m-0",
            "source": "api",
            "endpoint": "GET /api/cart",
            "status_code": 200,
        }
        for i in range(SHARED)
    ]
    rng.shuffle(events)
    return b"\n".join(orjson.dumps(e) for e in events)


def test_eight_concurrent_senders_lose_nothing(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    senders = [Store(make_engine(url)) for _ in range(SENDERS)]

    def send(i: int) -> list[IngestResult]:
        return [ingest_body(senders[i], "logs", _batch(i, b), "application/x-ndjson") for b in range(BATCHES)]

    try:
        results = all_at_once(SENDERS, send)
    finally:
        for s in senders:
            s.dispose()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    expected = SENDERS * BATCHES * EVENTS + BATCHES * SHARED
    stored = sum(r.stored for rs in results if isinstance(rs, list) for r in rs)
    assert stored == expected
    with store.read() as conn:
        raw = conn.execute(text("SELECT count(*) FROM log_events")).scalar()
        rolled = conn.execute(text("SELECT sum(count) FROM log_rollups")).scalar()
    assert raw == expected
    assert rolled == expected
