"""Late data across processes: after older history is backfilled, a worker that ran cycles before (warm
in-process caches) and a fresh process give byte-identical assessments for the same `as_of`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from cyclekit import T0

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.ingest import store_batch
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, simulate
from selfheal.store import Store

HELD_BACK = (T0 - timedelta(hours=30), T0 - timedelta(hours=20))
"""Settled history that arrives late (a backfill)."""

FRESH = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from selfheal.cycle import CycleDeps, run_cycle
    from selfheal.settings import Settings
    from selfheal.store import Store

    settings = Settings(data_dir=sys.argv[2], dense_embeddings=False)
    result = run_cycle(CycleDeps(store=Store.open(sys.argv[1]), settings=settings), as_of=datetime.fromisoformat(sys.argv[3]))
    sys.stdout.write(result.assessment.model_dump_json() if result.assessment else "null")
    """
)


def _late(ts: object) -> bool:
    return HELD_BACK[0] <= ts < HELD_BACK[1]  # type: ignore[operator]


def _fresh_assessment(url: str, tmp_path: Path, as_of: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", FRESH, url, str(tmp_path), as_of], env=env, capture_output=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return proc.stdout.decode()


def test_backfill_between_cycles_running_and_fresh_process_agree(store: Store, tmp_path: Path) -> None:
    fault = FaultSpec(
        name="webhook_403", start=T0 + timedelta(minutes=90), duration_minutes=60, stages=("wave_1",)
    )
    sim = simulate(
        SimConfig(
            seed=5,
            merchants=20,
            start=T0 - timedelta(days=2),
            minutes=2 * 1440 + 180,
            faults=(fault,),
            logs_from=T0 - timedelta(days=2),
        )
    )
    now_metrics = [m for m in sim.metrics if not _late(m.ts)]
    now_logs = [e for e in sim.logs if not _late(e.ts)]
    store_batch(store, "metrics", now_metrics)
    store_batch(store, "logs", now_logs)
    store_batch(store, "tickets", list(sim.tickets))
    settings = Settings(data_dir=tmp_path, dense_embeddings=False)
    deps = CycleDeps(store=store, settings=settings)
    url = store.engine.url.render_as_string(hide_password=False)

    for minutes in (120, 130):  # the running worker: caches warm with the history as it was
        run_cycle(deps, as_of=T0 + timedelta(minutes=minutes))
    store_batch(store, "metrics", [m for m in sim.metrics if _late(m.ts)])
    store_batch(store, "logs", [e for e in sim.logs if _late(e.ts)])

    as_of = T0 + timedelta(minutes=140)
    running = run_cycle(deps, as_of=as_of)
    fresh = _fresh_assessment(url, tmp_path, as_of.isoformat())
    assert running.assessment is not None
    assert running.assessment.model_dump_json() == fresh
