"""Scale curve of the whole agent cycle on PostgreSQL: cycle time and memory against merchants and history.

    python -m benchmarks.scale.cycle --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --merchants 200 1000 5000 20000 --days 1 [--cycles 4 --incident-cycles 3 --profile DIR]

For each (merchants, days) a fresh schema (`bench_<random>`, dropped afterwards) is filled with one metric
point and one log rollup per merchant per minute (`benchmarks.speed.detect.build`: generated rows, a daily
pattern, 1% errors; `COPY`, an hour of rows at a time) by a child process, so the benchmark process's peak
resident set is the cycles' own. Then the scheduler's tick runs consecutive cycles five minutes apart
(leadership, the period rule, the whole cycle: observe, reason, decide, act, recovery):

- `--cycles` quiet ones: the first is cold (nothing in memory; settled hours are aggregated and stored), the
  next ones warm;
- `--incident-cycles` with an incident: from four minutes before the first of them, half the merchants of one
  stage (10% of all) fail 30% of their checkout requests, so the cycles open and then follow an incident,
  sizing its blast radius and counting its losses over the window's columns.

With `--profile DIR`, at the merchant counts of `--profile-merchants`, one more quiet and one more incident
tick run under cProfile (not in the medians); the stats go to DIR. Nothing is tuned on this data: it is
synthetic shape.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import resource
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.speed.detect import START, Fault, build
from selfheal.cycle import CycleDeps, CycleResult
from selfheal.schedule import Scheduler
from selfheal.settings import Settings
from selfheal.store import Store

PERIOD_S = 300
FAULT_LEAD = timedelta(minutes=4)
"""The fault starts this long before the first incident tick."""


def _schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


STATE_TABLES = (
    "actions",
    "simulator_effects",
    "audit_head",
    "incident_tracking",
    "action_outcomes",
    "notifications",
    "incidents",
    "cycle_runs",
    "audit_log",
    "ticket_vectors",
    "theme_identities",
)
"""What the cycles write, emptied before a kept schema's run. The signals and the knowledge base are the data;
the stored history hours are derived from the signals alone and stay (so a kept schema's first cycle reads
them: it is not a cold one)."""


def _kept_schema_url(base: str, schema: str) -> tuple[str, bool]:
    """The URL of `schema` (made when missing) and whether it holds a built data set (kept from a run
    before: its cycle state is emptied, so the run starts as on a fresh schema)."""
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        built = conn.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f'"{schema}".bench_built'}
        ).scalar_one()
        if built:
            tables = ", ".join(f'"{schema}".{t}' for t in STATE_TABLES)
            conn.execute(text(f"TRUNCATE {tables}"))
    admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), bool(built)


def _mark_built(url: str, merchants: int, days: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_built (merchants int, days int)"))
        conn.execute(text("INSERT INTO bench_built VALUES (:m, :d)"), {"m": merchants, "d": days})
    engine.dispose()


def _drop(base: str, schema: str) -> None:
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _build(url: str, merchants: int, days: int, fault: Fault, split_codes: bool) -> None:
    store = Store.open(url)
    try:
        build(store, merchants, days, fault=fault, split_codes=split_codes)
    finally:
        store.dispose()


def _build_apart(url: str, merchants: int, days: int, fault: Fault, split_codes: bool) -> float:
    """Build in a child process (its memory is not the cycles'); seconds taken."""
    t = time.perf_counter()
    child = multiprocessing.get_context("spawn").Process(
        target=_build, args=(url, merchants, days, fault, split_codes)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"building the data failed (exit code {child.exitcode})")
    return time.perf_counter() - t


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _stage_medians(results: list[CycleResult]) -> dict[str, float]:
    if not results:
        return {}
    return {
        stage: round(statistics.median(r.stage_ms.get(stage, 0.0) / 1000 for r in results), 3)
        for stage in results[0].stage_ms
    }


def _rollup_size(store: Store) -> dict[str, int]:
    """The log rollup table's rows and its size with indexes (MB)."""
    with store.read() as conn:
        rows = conn.execute(text("SELECT count(*) FROM log_rollups")).scalar_one()
        size = conn.execute(text("SELECT pg_total_relation_size('log_rollups')")).scalar_one()
    return {"log_rollup_rows": int(rows), "log_rollups_mb": round(int(size) / 2**20)}


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> int:
    return round(resource.getrusage(who).ru_maxrss / 1024)  # kilobytes on Linux


def run_one(
    base: str,
    merchants: int,
    days: int,
    cycles: int,
    incident_cycles: int,
    workdir: Path,
    profile_dir: Path | None,
    split_codes: bool = False,
    keep_schema: str | None = None,
) -> dict[str, object]:
    profiled = profile_dir is not None
    quiet_ticks = cycles + int(profiled)
    incident_ticks = incident_cycles + int(profiled and incident_cycles > 0)
    end = START + timedelta(days=days)
    ticks = [
        end - timedelta(seconds=PERIOD_S * (quiet_ticks + incident_ticks - 1 - k))
        for k in range(quiet_ticks + incident_ticks)
    ]
    fault_start = ticks[quiet_ticks] - FAULT_LEAD if incident_ticks else end + timedelta(days=1)
    if keep_schema is not None:
        schema = keep_schema
        url, built = _kept_schema_url(base, schema)
    else:
        (schema, url), built = _schema_url(base), False
    try:
        built_s = 0.0
        if not built:
            built_s = _build_apart(url, merchants, days, Fault(start=fault_start), split_codes)
            if keep_schema is not None:
                _mark_built(url, merchants, days)
        store = Store.open(url)
        settings = Settings(
            data_dir=workdir,
            dense_embeddings=False,
            detect_history_days=max(1, min(28, days - 1)) if days > 1 else 1,
            baseline_days=max(1, min(7, days)),
            cycle_every=PERIOD_S,
            cycle_lag_seconds=0,
        )
        quiet: list[tuple[float, CycleResult]] = []
        incident: list[tuple[float, CycleResult]] = []
        profiles: list[str] = []
        for k, now in enumerate(ticks):
            in_incident = k >= quiet_ticks
            last_of_phase = k == quiet_ticks - 1 or k == len(ticks) - 1
            profile = profiled and last_of_phase and k > 0
            scheduler = Scheduler(CycleDeps(store=store, settings=settings), clock=lambda now=now: now)
            profiler = cProfile.Profile() if profile else None
            t0 = time.perf_counter()
            result = profiler.runcall(scheduler.tick) if profiler is not None else scheduler.tick()
            elapsed = time.perf_counter() - t0
            scheduler.leadership.resign()
            if result is None:
                raise RuntimeError(f"the tick at {now} ran no cycle")
            if profiler is not None and profile_dir is not None:
                name = f"tick_{merchants}m_{days}d_{'incident' if in_incident else 'quiet'}"
                profiler.dump_stats(profile_dir / f"{name}.prof")
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
                (profile_dir / f"{name}.txt").write_text(
                    f"tick {elapsed:.2f} s under cProfile\n{out.getvalue()}"
                )
                profiles.append(name)
                continue
            (incident if in_incident else quiet).append((elapsed, result))
        rollups = _rollup_size(store)
        store.dispose()
        opened = [r for _, r in incident if r.assessment is not None]
        at_risk = [len(r.assessment.blast_radius.merchants) for r in opened if r.assessment is not None]
        return {
            "merchants": merchants,
            "days": days,
            "metric_rows": merchants * days * 1440,
            "window_cache": settings.window_cache,
            **rollups,
            "build_s": round(built_s, 1),
            "cold_cycle_s": round(quiet[0][0], 2),
            "warm_cycle_s_median": _median([t for t, _ in quiet[1:]]),
            "incident_cycle_s_median": _median([t for t, _ in incident]),
            "cold_stages_s": {s: round(v / 1000, 3) for s, v in quiet[0][1].stage_ms.items()},
            "warm_stages_s_median": _stage_medians([r for _, r in quiet[1:]]),
            "incident_stages_s_median": _stage_medians([r for _, r in incident]),
            "incident_cycles_with_assessment": f"{len(opened)}/{len(incident)}",
            "incident_merchants_at_risk": at_risk,
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "peak_rss_mb": _peak_rss_mb(),
            "builder_peak_rss_mb": _peak_rss_mb(resource.RUSAGE_CHILDREN),
            "profiles": profiles,
        }
    finally:
        if keep_schema is None:
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
    parser.add_argument("--cycles", type=int, default=4, help="quiet ticks (the first is cold)")
    parser.add_argument("--incident-cycles", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/selfheal-scale"))
    parser.add_argument("--profile", type=Path, default=None, help="directory for cProfile stats")
    parser.add_argument("--profile-merchants", type=int, nargs="*", default=[5000])
    parser.add_argument(
        "--split-codes",
        action="store_true",
        help="failed requests answer several 5xx codes (the rollups keep each apart where they key on codes)",
    )
    parser.add_argument(
        "--keep-schema",
        default=None,
        help="build into this schema once and keep it: a later run with the same name and the same "
        "--merchants/--days/--incident-cycles/--split-codes reuses the data (the cycles' state is emptied "
        "first); one merchant count and one history length per schema",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    for merchants in args.merchants:
        for days in args.days:
            profile_dir = args.profile if merchants in args.profile_merchants else None
            report = run_one(
                args.database_url,
                merchants,
                days,
                args.cycles,
                args.incident_cycles,
                args.workdir,
                profile_dir,
                args.split_codes,
                args.keep_schema,
            )
            print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
