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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.settings import Settings
from selfheal.signals import HIST_COLUMNS
from selfheal.store import Store
from selfheal.store.tables import LogRollupRow, MetricPointRow

START = datetime(2024, 3, 1, tzinfo=UTC)
STAGES = ("legacy", "pilot", "wave_1", "wave_2", "headless")


def build(store: Store, merchants: int, days: int, seed: int = 0) -> None:
    """Fill the metric and rollup tables fast: generated rows through the raw DBAPI in one transaction.

    One metric point and one 2xx rollup of `POST /api/checkout` per merchant per minute, with a daily pattern,
    plus a small share of 4xx/5xx rollups, so the content has a realistic shape (not realistic detail).
    """
    rng = np.random.default_rng(seed)
    minutes = days * 1440
    start_ms = int(START.timestamp() * 1000)
    stamps = start_ms + np.arange(minutes, dtype=np.int64) * 60_000
    daily = 1 + 0.5 * np.sin(2 * np.pi * np.arange(minutes) / 1440)
    metric_cols = ("merchant_id", "ts_ms", "interval_seconds", "checkout_attempts", "orders", "revenue")
    metric_cols += ("migration_stage",)
    rollup_cols = (
        "minute_ms",
        "merchant_id",
        "migration_stage",
        "source",
        "endpoint",
        "status_class",
        "count",
    )
    rollup_cols += ("latency_count", "latency_sum", "latency_max", *HIST_COLUMNS)
    bucket = HIST_COLUMNS.index("h7")
    hist_before = (0,) * bucket
    hist_after = (0,) * (len(HIST_COLUMNS) - bucket - 1)
    ph = "?" if store.dialect == "sqlite" else "%s"  # PostgreSQL too (benchmarks/scale)
    metric_sql = (
        f"INSERT INTO {MetricPointRow.__tablename__} ({', '.join(metric_cols)}) "
        f"VALUES ({', '.join([ph] * len(metric_cols))})"
    )
    rollup_sql = (
        f"INSERT INTO {LogRollupRow.__tablename__} ({', '.join(rollup_cols)}) "
        f"VALUES ({', '.join([ph] * len(rollup_cols))})"
    )
    ids = [f"m{m:03d}" for m in range(merchants)]
    stages = [STAGES[m % len(STAGES)] for m in range(merchants)]
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect == "sqlite":
            # A throw-away benchmark database: no journal, no fsync, a large page cache.
            for pragma in ("synchronous = OFF", "cache_size = -800000"):
                cur.execute(f"PRAGMA {pragma}")
        # The engine's connections run in autocommit mode (SQLAlchemy emits BEGIN): open one transaction.
        if store.dialect == "sqlite":
            cur.execute("BEGIN")
        # Time-major order (day by day, minute by minute, merchant by merchant) keeps index inserts local.
        for day in range(days):
            span = slice(day * 1440, (day + 1) * 1440)
            ts = np.repeat(stamps[span], merchants).tolist()
            mids = ids * 1440
            stg = stages * 1440
            shape = np.tile(daily[span], merchants).reshape(merchants, 1440).T.ravel()
            attempts = rng.poisson(3 * shape)
            orders = rng.binomial(attempts, 0.9)
            requests = rng.poisson(10 * shape)
            errors = rng.binomial(requests, 0.01)
            n = len(ts)
            cur.executemany(
                metric_sql,
                zip(
                    mids,
                    ts,
                    [60] * n,
                    attempts.tolist(),
                    orders.tolist(),
                    (orders * 50.0).tolist(),
                    stg,
                    strict=True,
                ),
            )
            cur.executemany(
                rollup_sql,
                (
                    (
                        t,
                        mid,
                        st,
                        "api",
                        "POST /api/checkout",
                        "2xx",
                        k,
                        k,
                        k * 120.0,
                        300.0,
                        *hist_before,
                        k,
                        *hist_after,
                    )
                    for t, mid, st, k in zip(ts, mids, stg, (requests - errors).tolist(), strict=True)
                ),
            )
            cur.executemany(
                rollup_sql,
                (
                    (
                        ts[i],
                        mids[i],
                        stg[i],
                        "api",
                        "POST /api/checkout",
                        "5xx",
                        k,
                        k,
                        k * 200.0,
                        400.0,
                        *hist_before,
                        k,
                        *hist_after,
                    )
                    for i, k in ((i, int(errors[i])) for i in np.flatnonzero(errors).tolist())
                ),
            )
        raw.commit()
    finally:
        raw.close()


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
