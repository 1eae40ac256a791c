"""Scale curve of the whole agent cycle on PostgreSQL: cycle time and memory against merchants and history.

    python -m benchmarks.scale.cycle --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --merchants 200 1000 5000 --days 1 3 [--cycles 4]

For each (merchants, days) a fresh schema is filled with one metric point and one log rollup per merchant per
minute (`benchmarks.speed.detect.build`: generated rows, a daily pattern, 1% errors; written with `COPY`), then the scheduler's
tick runs consecutive cycles five minutes apart (leadership, the period rule, the whole cycle:
observe, reason, decide, act, recovery). The first cycle is cold (nothing in memory; settled hours are
aggregated and stored), the next ones warm. Memory is the process's resident set after the cycles and its
growth over them. The schema is dropped afterwards. Nothing is tuned on this data: it is synthetic shape.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.speed.detect import START, build
from selfheal.cycle import CycleDeps
from selfheal.schedule import Scheduler
from selfheal.settings import Settings
from selfheal.store import Store

PERIOD_S = 300


def _schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def _drop(base: str, schema: str) -> None:
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run_one(base: str, merchants: int, days: int, cycles: int, workdir: Path) -> dict[str, object]:
    schema, url = _schema_url(base)
    try:
        store = Store.open(url)
        t = time.perf_counter()
        build(store, merchants, days)
        built_s = time.perf_counter() - t
        settings = Settings(
            data_dir=workdir,
            dense_embeddings=False,
            detect_history_days=max(1, min(28, days - 1)) if days > 1 else 1,
            baseline_days=max(1, min(7, days)),
            cycle_every=PERIOD_S,
            cycle_lag_seconds=0,
        )
        end = START + timedelta(days=days)
        proc = psutil.Process()
        rss_before = proc.memory_info().rss
        times: list[float] = []
        stages: list[dict[str, float]] = []
        for k in range(cycles):
            now: datetime = end - timedelta(seconds=PERIOD_S * (cycles - 1 - k))
            scheduler = Scheduler(CycleDeps(store=store, settings=settings), clock=lambda now=now: now)
            t0 = time.perf_counter()
            result = scheduler.tick()
            times.append(time.perf_counter() - t0)
            if result is not None:
                stages.append({s: round(v / 1000, 3) for s, v in result.stage_ms.items()})
            scheduler.leadership.resign()
        rss_after = proc.memory_info().rss
        store.dispose()
        warm = stages[1:]
        return {
            "merchants": merchants,
            "days": days,
            "rows": merchants * days * 1440,
            "build_s": round(built_s, 1),
            "cold_cycle_s": round(times[0], 2),
            "warm_cycle_s_median": round(statistics.median(times[1:]), 2) if cycles > 1 else None,
            "cold_stages_s": stages[0] if stages else {},
            "warm_stages_s_median": {
                stage: round(statistics.median(w.get(stage, 0.0) for w in warm), 3) for stage in warm[0]
            }
            if warm
            else {},
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "rss_mb": round(rss_after / 2**20),
            "rss_growth_mb": round((rss_after - rss_before) / 2**20),
        }
    finally:
        _drop(base, schema)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", required=True, help="PostgreSQL URL (a schema per run is made there)"
    )
    parser.add_argument("--merchants", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--days", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/selfheal-scale"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for merchants in args.merchants:
        for days in args.days:
            print(
                json.dumps(run_one(args.database_url, merchants, days, args.cycles, args.workdir)), flush=True
            )


if __name__ == "__main__":
    main()
