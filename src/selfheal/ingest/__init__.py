"""Ingestion: validate a batch against the signal contract and store it atomically and idempotently."""

from __future__ import annotations

from typing import Any

from selfheal import audit
from selfheal.errors import InvalidInput
from selfheal.ingest.parse import parse_batch
from selfheal.records import Record, dt_to_ms, utcnow
from selfheal.store import Store
from selfheal.store.retry import run_with_retry
from selfheal.store.signals_repo import StoreResult, store_logs, store_metrics, store_tickets


class IngestResult(Record):
    kind: str
    received: int
    stored: int
    duplicates: int


def store_batch(
    store: Store, kind: str, items: list[Any], actor: str = "system", retries: int = 5
) -> IngestResult:
    """Store validated signal objects in one transaction; the batch lands whole or not at all. A
    transaction that loses a race (a concurrent batch stored some of the same ids, a deadlock or
    serialization failure) is re-run whole with backoff (`store.retry`)."""

    def attempt() -> IngestResult:
        with store.transaction() as conn:
            result: StoreResult
            if kind == "tickets":
                result = store_tickets(conn, items, dt_to_ms(utcnow()))
            elif kind == "logs":
                result = store_logs(conn, items)
            elif kind == "metrics":
                result = store_metrics(conn, items)
            else:
                raise InvalidInput(f"unknown signal kind {kind!r}")
            audit.record(
                conn,
                actor=actor,
                action=f"ingest.{kind}",
                target_type="batch",
                after={"received": result.received, "stored": result.stored, "duplicates": result.duplicates},
            )
        return IngestResult(
            kind=kind, received=result.received, stored=result.stored, duplicates=result.duplicates
        )

    return run_with_retry(attempt, attempts=retries + 1)


def ingest_body(
    store: Store,
    kind: str,
    body: bytes,
    content_type: str | None,
    actor: str = "system",
    max_items: int | None = None,
) -> IngestResult:
    items = parse_batch(kind, body, content_type)
    if max_items is not None and len(items) > max_items:
        raise InvalidInput(f"batch has {len(items)} items; the limit is {max_items}", {"limit": max_items})
    return store_batch(store, kind, items, actor=actor)


__all__ = ["IngestResult", "ingest_body", "store_batch"]
