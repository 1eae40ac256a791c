"""Ingestion: validate a batch against the signal contract and store it atomically and idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from selfheal import audit
from selfheal.errors import InvalidInput
from selfheal.ingest.parse import UNLIMITED, parse_batch
from selfheal.ingest.screen import screen
from selfheal.records import Record, dt_to_ms, utcnow
from selfheal.store import Store, directory_repo
from selfheal.store.retry import run_with_retry
from selfheal.store.signals_repo import StoreResult, store_logs, store_metrics, store_tickets

MAX_LISTED_UNKNOWN = 100


class IngestResult(Record):
    kind: str
    received: int
    stored: int
    duplicates: int
    unknown_merchants: list[str] | None = None
    """Merchants of the batch the directory does not list (stored all the same; the first 100, sorted).
    Absent when no directory is loaded."""
    unknown_merchant_count: int | None = None
    """How many distinct merchants of the batch the directory does not list (absent: no directory)."""


def _store(conn: Connection, kind: str, items: list[Any]) -> StoreResult:
    unique = first_of_each(kind, items)
    if kind == "tickets":
        result = store_tickets(conn, unique, dt_to_ms(utcnow()))
    elif kind == "logs":
        result = store_logs(conn, unique)
    elif kind == "metrics":
        result = store_metrics(conn, unique)
    else:
        raise InvalidInput(f"unknown signal kind {kind!r}")
    repeats = len(items) - len(unique)
    return StoreResult(len(items), result.stored, result.duplicates + repeats)


def _unknown_merchants(conn: Connection, items: Sequence[Any]) -> list[str] | None:
    """The batch's merchants that a loaded directory does not list, sorted (None when no directory)."""
    if not directory_repo.has_directory(conn):
        return None
    merchants = {item.merchant_id for item in items}
    return sorted(merchants - directory_repo.known_ids(conn, merchants))


def store_batch(
    store: Store, kind: str, items: list[Any], actor: str = "system", retries: int = 5
) -> IngestResult:
    """Store validated signal objects in one transaction; the batch lands whole or not at all. A
    transaction that loses a race (a concurrent batch stored some of the same ids, a deadlock or
    serialization failure) is re-run whole with backoff (`store.retry`)."""

    def attempt() -> IngestResult:
        with store.transaction() as conn:
            result = _store(conn, kind, items)
            unknown = _unknown_merchants(conn, items)
            after: dict[str, Any] = {
                "received": result.received,
                "stored": result.stored,
                "duplicates": result.duplicates,
            }
            if unknown:
                after["unknown_merchants"] = len(unknown)
            audit.record(conn, actor=actor, action=f"ingest.{kind}", target_type="batch", after=after)
        return IngestResult(
            kind=kind,
            received=result.received,
            stored=result.stored,
            duplicates=result.duplicates,
            unknown_merchants=None if unknown is None else unknown[:MAX_LISTED_UNKNOWN],
            unknown_merchant_count=None if unknown is None else len(unknown),
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
    """Parse, validate and screen a body, then store it; any bad item refuses the whole batch (422)."""
    items = parse_batch(kind, body, content_type, UNLIMITED if max_items is None else max_items)
    screen(kind, items, body)
    return store_batch(store, kind, items, actor=actor)


def first_of_each(kind: str, items: Sequence[Any]) -> list[Any]:
    """The batch without its repeats, the first copy of each event kept (the same rule as a repeat of a stored
    event: the stored copy stays). Identity: a ticket's id, a metric's merchant and moment, a log event's id
    or canonical content (`store.signals_repo.log_event_id`, which applies the same first-copy rule)."""
    if kind == "logs":
        return list(items)
    seen: set[Any] = set()
    kept = []
    for item in items:
        key = item.id if kind == "tickets" else (item.merchant_id, dt_to_ms(item.ts))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


__all__ = ["IngestResult", "ingest_body", "store_batch"]
