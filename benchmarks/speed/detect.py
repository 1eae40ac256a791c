"""Detection speed: one cycle's observe + reason over 30 days of one-minute history for 200 merchants.

    python -m benchmarks.speed.detect --db /tmp/detect_speed.db [--merchants 200 --days 30]

Builds (once; reused when the file exists) a SQLite database with one metric point and one log rollup per
merchant per minute, then times consecutive 60-minute cycles five minutes apart: the first is cold (a fresh
process: nothing in memory; settled hours are read from the `history_hours` table when an earlier run stored
them, else aggregated from raw rows and stored), the next ones warm (only new hours are read).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.settings import Settings
from selfheal.signals import HIST_COLUMNS
from selfheal.store import Store
from selfheal.store.tables import LogRollupRow, MetricPointRow

START = datetime(2024, 3, 1, tzinfo=UTC)
STAGES = ("legacy", "pilot", "wave_1", "wave_2", "headless")


def _day_columns(
    rng: np.random.Generator, merchants: int, days: int
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Per day: the metric points' and the log rollups' columns (time-major: minute by minute, merchant by
    merchant, which keeps index inserts local)."""
    minutes = days * 1440
    start_ms = int(START.timestamp() * 1000)
    stamps = start_ms + np.arange(minutes, dtype=np.int64) * 60_000
    daily = 1 + 0.5 * np.sin(2 * np.pi * np.arange(minutes) / 1440)
    ids = np.array([f"m{m:03d}" for m in range(merchants)], dtype=object)
    stages = np.array([STAGES[m % len(STAGES)] for m in range(merchants)], dtype=object)
    bucket = HIST_COLUMNS.index("h7")
    for day in range(days):
        span = slice(day * 1440, (day + 1) * 1440)
        ts = np.repeat(stamps[span], merchants)
        mids = np.tile(ids, 1440)
        stg = np.tile(stages, 1440)
        shape = np.tile(daily[span], merchants).reshape(merchants, 1440).T.ravel()
        attempts = rng.poisson(3 * shape)
        orders = rng.binomial(attempts, 0.9)
        requests = rng.poisson(10 * shape)
        errors = rng.binomial(requests, 0.01)
        n = len(ts)
        metric = {
            "merchant_id": mids,
            "ts_ms": ts,
            "interval_seconds": np.full(n, 60),
            "checkout_attempts": attempts,
            "orders": orders,
            "revenue": orders * 50.0,
            "migration_stage": stg,
        }
        failed = np.flatnonzero(errors)
        ok = requests - errors
        parts = []
        for rows, klass, count, mean_ms, max_ms in (
            (np.arange(n), "2xx", ok, 120.0, 300.0),
            (failed, "5xx", errors[failed], 200.0, 400.0),
        ):
            k = len(rows)
            part: dict[str, Any] = {
                "minute_ms": ts[rows],
                "merchant_id": mids[rows],
                "migration_stage": stg[rows],
                "source": np.full(k, "api", dtype=object),
                "endpoint": np.full(k, "POST /api/checkout", dtype=object),
                "status_class": np.full(k, klass, dtype=object),
                "count": count,
                "latency_count": count,
                "latency_sum": count * mean_ms,
                "latency_max": np.full(k, max_ms),
            }
            for i, h in enumerate(HIST_COLUMNS):
                part[h] = count if i == bucket else np.zeros(k, dtype=np.int64)
            parts.append(part)
        # Minute by minute, as live ingest writes them (the heap's order is what range scans read).
        order = np.argsort(np.concatenate([p["minute_ms"] for p in parts]), kind="stable")
        rollup = {c: np.concatenate([p[c] for p in parts])[order] for c in parts[0]}
        yield metric, rollup


def build(store: Store, merchants: int, days: int, seed: int = 0) -> None:
    """Fill the metric and rollup tables fast: generated rows through the raw DBAPI in one transaction
    (SQLite: `executemany`; PostgreSQL: `COPY ... FROM STDIN`, which builds 5,000 merchants in minutes).

    One metric point and one 2xx rollup of `POST /api/checkout` per merchant per minute, with a daily pattern,
    plus a small share of 4xx/5xx rollups, so the content has a realistic shape (not realistic detail).
    """
    rng = np.random.default_rng(seed)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect == "sqlite":
            # A throw-away benchmark database: no journal, no fsync, a large page cache.
            for pragma in ("synchronous = OFF", "cache_size = -800000"):
                cur.execute(f"PRAGMA {pragma}")
            # The engine's connections run in autocommit mode (SQLAlchemy emits BEGIN): open one transaction.
            cur.execute("BEGIN")
        write = _copy if store.dialect == "postgresql" else _insert
        for metric, rollup in _day_columns(rng, merchants, days):
            write(cur, MetricPointRow.__tablename__, metric)
            write(cur, LogRollupRow.__tablename__, rollup)
        raw.commit()
    finally:
        raw.close()


def _insert(cur: Any, table: str, columns: dict[str, Any]) -> None:
    names = list(columns)
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['?'] * len(names))})"
    cur.executemany(sql, zip(*(columns[c].tolist() for c in names), strict=True))


def _copy(cur: Any, table: str, columns: dict[str, Any], chunk: int = 200_000) -> None:
    """`COPY` the columns in CSV chunks (pandas writes the text in C; psycopg streams it)."""
    import pandas as pd

    frame = pd.DataFrame(columns)
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        for lo in range(0, len(frame), chunk):
            copy.write(frame.iloc[lo : lo + chunk].to_csv(header=False, index=False))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--cycles", type=int, default=6)
    args = parser.parse_args()
    fresh = not args.db.exists()
    store = Store.open(f"sqlite:///{args.db}")
    if fresh:
        t = time.perf_counter()
        build(store, args.merchants, args.days)
        print(f"built {args.db} in {time.perf_counter() - t:.0f} s")
    settings = Settings(data_dir=args.db.parent, detect_history_days=min(28, args.days - 1))
    end = START + timedelta(days=args.days)
    times: list[tuple[float, float]] = []
    for k in range(args.cycles):
        as_of = end - timedelta(minutes=5 * (args.cycles - 1 - k))
        t0 = time.perf_counter()
        obs = observe(store, as_of, 60, settings)
        t1 = time.perf_counter()
        findings = reason(obs, ReasonContext(settings=settings))
        times.append((t1 - t0, time.perf_counter() - t1))
    total = [o + r for o, r in times]
    report = {
        "merchants": args.merchants,
        "days": args.days,
        "history_days": settings.detect_history_days,
        "history_minutes": len(obs.history.minutes) if obs.history else 0,
        "cold_cycle_s": round(total[0], 3),
        "cold_observe_s": round(times[0][0], 3),
        "cold_reason_s": round(times[0][1], 3),
        "warm_cycle_s_median": round(statistics.median(total[1:]), 3),
        "warm_cycle_s_max": round(max(total[1:]), 3),
        "warm_observe_s_median": round(statistics.median(o for o, _ in times[1:]), 3),
        "warm_reason_s_median": round(statistics.median(r for _, r in times[1:]), 3),
        "anomalies_last_cycle": len(findings.anomalies),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
