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
from dataclasses import dataclass
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
HOUR = 60
"""Minutes generated and written at a time: memory holds one hour of rows, whatever the merchants and days."""


@dataclass(frozen=True)
class Fault:
    """Failing checkouts for some merchants of one stage from `start` on: a share of their checkout requests
    answer 5xx and the shoppers they fail do not order (an incident the cycle has to open and size)."""

    start: datetime
    stage: str = "wave_1"
    every: int = 2
    """Every `every`-th merchant of the stage is hit (the others are its clean members)."""
    error_share: float = 0.3

    def hit(self, merchants: int) -> np.ndarray:
        index = np.arange(merchants)
        on_stage = np.array([STAGES[m % len(STAGES)] == self.stage for m in range(merchants)], dtype=bool)
        return on_stage & ((index // len(STAGES)) % self.every == 0)


FAILURE_CODE_MIX: tuple[tuple[int, float], ...] = ((500, 0.4), (502, 0.2), (503, 0.2), (504, 0.2))
"""With `split_codes`: the share of the failed requests answered with each code."""


def _failed_parts(
    failed: np.ndarray, errors: np.ndarray, rng: np.random.Generator, split_codes: bool, keyed: bool
) -> list[tuple[np.ndarray, str, np.ndarray, str]]:
    """(rows, class, count, status code) of the failed requests: one 5xx row per failing (merchant, minute);
    with `split_codes`, the requests drawn over FAILURE_CODE_MIX and one row per code the rollups keep apart
    (`keyed`: the table has the code column), or folded back into one row of the class (rollups before 0016:
    the same requests, the same draws)."""
    if not split_codes:
        return [(failed, "5xx", errors[failed], "")]
    per_code = rng.multinomial(errors[failed], [share for _, share in FAILURE_CODE_MIX])
    if not keyed:
        return [(failed, "5xx", per_code.sum(axis=1), "")]
    parts = []
    for j, (code, _) in enumerate(FAILURE_CODE_MIX):
        some = np.flatnonzero(per_code[:, j])
        parts.append((failed[some], "5xx", per_code[some, j], str(code)))
    return parts


def _hour_columns(
    rng: np.random.Generator,
    merchants: int,
    days: int,
    fault: Fault | None = None,
    split_codes: bool = False,
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Hour by hour: the metric points' and the log rollups' columns (time-major: minute by minute, merchant
    by merchant, as live ingest writes them, which keeps index inserts local and the heap in time order)."""
    keyed = "status_code" in LogRollupRow.__table__.c
    start_ms = int(START.timestamp() * 1000)
    ids = np.array([f"m{m:03d}" for m in range(merchants)], dtype=object)
    stages = np.array([STAGES[m % len(STAGES)] for m in range(merchants)], dtype=object)
    hit = fault.hit(merchants) if fault else np.zeros(merchants, dtype=bool)
    fault_ms = int(fault.start.timestamp() * 1000) if fault else None
    bucket = HIST_COLUMNS.index("h7")
    for first in range(0, days * 1440, HOUR):
        minute = np.arange(first, first + HOUR)
        ts = np.repeat(start_ms + minute.astype(np.int64) * 60_000, merchants)
        mids = np.tile(ids, HOUR)
        stg = np.tile(stages, HOUR)
        shape = np.repeat(1 + 0.5 * np.sin(2 * np.pi * minute / 1440), merchants)
        failing = (
            np.tile(hit, HOUR) & (ts >= fault_ms) if fault_ms is not None else np.zeros(len(ts), dtype=bool)
        )
        error_share = np.where(failing, fault.error_share if fault else 0.0, 0.01)
        attempts = rng.poisson(3 * shape)
        orders = rng.binomial(attempts, 0.9 * (1 - np.where(failing, error_share, 0.0)))
        requests = rng.poisson(10 * shape)
        errors = rng.binomial(requests, error_share)
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
        served = [(np.arange(n), "2xx", ok, "2xx" if split_codes else "", 120.0, 300.0)]
        failing_parts = [(*p, 200.0, 400.0) for p in _failed_parts(failed, errors, rng, split_codes, keyed)]
        for rows, klass, count, code, mean_ms, max_ms in served + failing_parts:
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
            if keyed and split_codes:
                part["status_code"] = np.full(k, code, dtype=object)
            for i, h in enumerate(HIST_COLUMNS):
                part[h] = count if i == bucket else np.zeros(k, dtype=np.int64)
            parts.append(part)
        order = np.argsort(np.concatenate([p["minute_ms"] for p in parts]), kind="stable")
        rollup = {c: np.concatenate([p[c] for p in parts])[order] for c in parts[0]}
        yield metric, rollup


def build(
    store: Store,
    merchants: int,
    days: int,
    seed: int = 0,
    fault: Fault | None = None,
    split_codes: bool = False,
) -> None:
    """Fill the metric and rollup tables fast: generated rows through the raw DBAPI in one transaction
    (SQLite: `executemany`; PostgreSQL: `COPY ... FROM STDIN`, streamed an hour of rows at a time, so
    20,000 merchants fit in memory).

    One metric point and one 2xx rollup of `POST /api/checkout` per merchant per minute, with a daily pattern,
    plus a small share of 5xx rollups, so the content has a realistic shape (not realistic detail); with a
    `fault`, the hit merchants' checkouts fail from its start. `split_codes`: the failed requests carry
    status codes (FAILURE_CODE_MIX) and the rollups keep them apart where the table has the code column."""
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
        for metric, rollup in _hour_columns(rng, merchants, days, fault, split_codes):
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
