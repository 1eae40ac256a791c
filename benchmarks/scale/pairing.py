"""What keeping payment/order pairing beyond raw retention costs: the prune and the pairing read.

    python -m benchmarks.scale.pairing --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --events 200000 [--repeats 3]

A fresh store (a `pairbench_<random>` schema on PostgreSQL, dropped afterwards; a SQLite URL is used as given) is
filled through `store_logs` with `selfheal bench ingest`'s events (3 ms apart, every other one a payment or an
order with a correlation id: the worst case for the copy). Then:

- prune: deleting the older half of the raw events alone (what pruning did before 0017) against
  `prune_raw_logs` (copy their payments and orders into `payment_order_events`, then delete), alternated, each in
  a transaction rolled back, so every repeat prunes the same rows;
- read: `window_repo.payment_events` (raw UNION ALL kept) against the raw-only query it replaced, over the whole
  span, first all raw (a live window), then after the prune (half kept; the old query then misses that half).

Synthetic shape, nothing tuned on it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import make_url

from selfheal.bench.ingest import make_batches
from selfheal.signals import PAIRING_EVENTS, LogEvent
from selfheal.store import Store, window_repo
from selfheal.store.signals_repo import prune_raw_logs, store_logs
from selfheal.store.tables import LogEventRow, table

T0_MS = 1_780_000_000_000
STEP_MS = 3
"""`make_batches` puts its events this far apart."""


def _raw_only(conn: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """The pairing read before 0017: raw log events only."""
    e = table(LogEventRow)
    rows = conn.execute(
        select(e.c.ts_ms, e.c.merchant_id, e.c.migration_stage, e.c.event, e.c.correlation_id)
        .where(
            e.c.event.in_(PAIRING_EVENTS),
            e.c.ts_ms >= start_ms,
            e.c.ts_ms < end_ms,
            e.c.correlation_id.is_not(None),
        )
        .order_by(e.c.ts_ms)
    )
    return [dict(row._mapping) for row in rows]


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def _time_prunes(store: Store, horizon_ms: int, repeats: int) -> dict[str, Any]:
    def delete_only(conn: Connection) -> int:
        tbl = table(LogEventRow)
        return int(conn.execute(tbl.delete().where(tbl.c.ts_ms < horizon_ms)).rowcount or 0)

    def copy_and_delete(conn: Connection) -> int:
        return prune_raw_logs(conn, horizon_ms)

    variants: dict[str, Callable[[Connection], int]] = {
        "delete only (before)": delete_only,
        "copy + delete (prune_raw_logs)": copy_and_delete,
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    pruned = 0
    for _ in range(repeats):
        for name, prune in variants.items():
            with store.engine.connect() as conn:
                tx = conn.begin()
                start = time.perf_counter()
                pruned = prune(conn)
                times[name].append(time.perf_counter() - start)
                tx.rollback()
    return {"raw_events_pruned": pruned, **{name: _median_ms(t) for name, t in times.items()}}


def _time_reads(store: Store, end_ms: int, repeats: int) -> dict[str, Any]:
    readers: dict[str, Callable[[Connection, int, int], list[dict[str, Any]]]] = {
        "raw only (before)": _raw_only,
        "raw UNION ALL kept (payment_events)": window_repo.payment_events,
    }
    out: dict[str, Any] = {}
    for name, read in readers.items():
        samples, rows = [], 0
        for _ in range(repeats):
            with store.read() as conn:
                start = time.perf_counter()
                rows = len(read(conn, T0_MS, end_ms))
                samples.append(time.perf_counter() - start)
        out[name] = {"rows": rows, "ms": _median_ms(samples)}
    return out


def run(url: str, events: int, repeats: int) -> dict[str, Any]:
    store = Store.open(url)
    try:
        for batch in make_batches(events, 10_000, T0_MS):
            parsed = [LogEvent.model_validate(orjson.loads(line)) for line in batch.split(b"\n")]
            with store.transaction() as conn:
                store_logs(conn, parsed)
        end_ms = T0_MS + events * STEP_MS + 1
        horizon_ms = T0_MS + events * STEP_MS // 2
        report: dict[str, Any] = {"events": events, "prune": _time_prunes(store, horizon_ms, repeats)}
        report["read_all_raw"] = _time_reads(store, end_ms, repeats)
        with store.transaction() as conn:
            prune_raw_logs(conn, horizon_ms)
        report["read_half_pruned"] = _time_reads(store, end_ms, repeats)
        return report
    finally:
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    url, schema = args.database_url, None
    admin = create_engine(url) if url.startswith("postgresql") else None
    if admin is not None:
        schema = f"pairbench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        url = url.render_as_string(hide_password=False)
    try:
        print(json.dumps(run(url, args.events, args.repeats), indent=2))
    finally:
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
