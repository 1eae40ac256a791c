"""What resolving stages from the merchant directory costs the observe stage.

    python -m benchmarks.speed.directory [--merchants 200] [--repeats 5]

Simulates the same migration twice on SQLite (21 hours, the last 3 with logs, a webhook_403 fault), once
with every signal carrying its stage and once with the merchants in the directory and the tickets and KPI
points without a stage (`SimConfig.stages_from_directory`, the demo's setup), then times `observe` for the
last 60 minutes (after one warm-up run that fills the history cache) and prints the median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selfheal.observe import observe
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store

START = datetime(2024, 3, 4, tzinfo=UTC)
ONSET = START + timedelta(hours=20)


def measure(merchants: int, repeats: int, from_directory: bool) -> dict[str, float | int | bool]:
    config = SimConfig(
        seed=3,
        merchants=merchants,
        start=START,
        minutes=21 * 60,
        logs_from=ONSET - timedelta(hours=3),
        faults=(FaultSpec(name="webhook_403", start=ONSET, duration_minutes=60, stages=("wave_1",)),),
        stages_from_directory=from_directory,
    )
    result = simulate(config)
    folder = Path(tempfile.mkdtemp(prefix="selfheal-dir-bench-"))
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'b.db'}", dense_embeddings=False)
    store = Store.open(settings.resolved_database_url())
    load_into(store, result, with_directory=from_directory)
    as_of = ONSET + timedelta(minutes=60)
    observe(store, as_of, 60, settings)
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        obs = observe(store, as_of, 60, settings)
        runs.append(time.perf_counter() - started)
    store.dispose()
    return {
        "directory": from_directory,
        "rollups": len(obs.rollups),
        "metrics": len(obs.metrics),
        "tickets": len(obs.tickets),
        "observe_ms_median": round(statistics.median(runs) * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for from_directory in (False, True):
        print(measure(args.merchants, args.repeats, from_directory))


if __name__ == "__main__":
    main()
