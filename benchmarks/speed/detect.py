"""Detection speed: one cycle's observe + reason over 30 days of one-minute history for 200 merchants.

    python -m benchmarks.speed.detect --db /tmp/detect_speed.db [--merchants 200 --days 30]

Builds (once; reused when the file exists) a SQLite database with one metric point and one log rollup per
merchant per minute, then times consecutive 60-minute cycles five minutes apart: the first is cold (the
hourly baseline cache is empty), the next ones warm (only new hours are read).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.settings import Settings
from selfheal.store import Store
from selfheal.store.tables import HIST_COLUMNS, LogRollupRow, MetricPointRow, table

START = datetime(2024, 3, 1, tzinfo=UTC)
STAGES = ("legacy", "pilot", "wave_1", "wave_2", "headless")


def build(store: Store, merchants: int, days: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    minutes = days * 1440
    start_ms = int(START.timestamp() * 1000)
    daily = 1 + 0.5 * np.sin(2 * np.pi * np.arange(minutes) / 1440)
    for m in range(merchants):
        mid, stage = f"m{m:03d}", STAGES[m % len(STAGES)]
        attempts = rng.poisson(3 * daily)
        orders = rng.binomial(attempts, 0.9)
        requests = rng.poisson(10 * daily)
        metric_rows = [
            {
                "merchant_id": mid,
                "ts_ms": start_ms + i * 60_000,
                "interval_seconds": 60,
                "checkout_attempts": int(attempts[i]),
                "orders": int(orders[i]),
                "revenue": float(orders[i]) * 50.0,
                "migration_stage": stage,
            }
            for i in range(minutes)
        ]
        empty_hist = dict.fromkeys(HIST_COLUMNS, 0)
        rollup_rows = [
            {
                "minute_ms": start_ms + i * 60_000,
                "merchant_id": mid,
                "migration_stage": stage,
                "source": "api",
                "endpoint": "POST /api/checkout",
                "status_class": "2xx",
                "count": int(requests[i]),
                "latency_count": int(requests[i]),
                "latency_sum": float(requests[i]) * 120.0,
                "latency_max": 300.0,
                **empty_hist,
                "h7": int(requests[i]),
            }
            for i in range(minutes)
        ]
        with store.transaction() as conn:
            conn.execute(insert(table(MetricPointRow)), metric_rows)
            conn.execute(insert(table(LogRollupRow)), rollup_rows)


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
    times = []
    for k in range(args.cycles):
        as_of = end - timedelta(minutes=5 * (args.cycles - 1 - k))
        t = time.perf_counter()
        obs = observe(store, as_of, 60, settings)
        findings = reason(obs, ReasonContext(settings=settings))
        times.append(time.perf_counter() - t)
    report = {
        "merchants": args.merchants,
        "days": args.days,
        "history_days": settings.detect_history_days,
        "cold_cycle_s": round(times[0], 3),
        "warm_cycle_s_median": round(statistics.median(times[1:]), 3),
        "warm_cycle_s_max": round(max(times[1:]), 3),
        "anomalies_last_cycle": len(findings.anomalies),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
