"""Recovery benchmark: a simulated fault that a fixing action ends, run through whole agent cycles.

The simulator injects a fault on one stage from `onset` to `fix` (the fault ends exactly when the fixing
action is marked executed, as a fix in the field would end it); cycles run every `step` minutes with the
standard 60-minute window until `after` minutes past the fix. Measured per run: cycles from the fix to the
first cycle that shows the incident `recovering` and to `resolved`, whether severity rose after the fix,
the incident's onset against the fault's, and the loss so far it shows against the simulator's counted
truth (the fault's lost orders and revenue at the merchants it hit).

    python -m benchmarks.recovery.run --seeds 3                       (or: selfheal bench recovery --seeds 3)
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store, actions_repo, incidents_repo

START = datetime(2024, 3, 4, tzinfo=UTC)
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass
class CycleTrace:
    minute: int
    """Minutes since the fault's onset."""
    status: str | None
    severity: str | None
    lost_orders_so_far: float | None
    story: str | None


@dataclass
class RecoveryRun:
    seed: int
    fault: str
    stage: str
    onset: str
    fix: str
    step_minutes: int
    resolve_cycles: int
    incident_id: str | None
    opened_minute: int | None
    cycles_to_recovering: int | None
    """Cycles after the fix until the incident first shows `recovering` (None: never)."""
    cycles_to_resolved: int | None
    severity_rose_after_fix: bool
    incident_onset: str | None
    onset_error_minutes: float | None
    lost_orders_so_far: float | None
    lost_revenue_so_far: float | None
    truth_lost_orders: int
    truth_lost_revenue: float
    loss_rel_error: float | None
    incidents: int
    """Incidents opened over the run (1: no duplicate after resolution)."""
    final_story: str | None
    trace: list[CycleTrace] = field(default_factory=list)


def _settings(path: Path, resolve_cycles: int) -> Settings:
    return Settings(
        data_dir=path,
        database_url=f"sqlite:///{path / 'selfheal.db'}",
        dense_embeddings=False,
        incident_resolve_cycles=resolve_cycles,
    )


def _execute_first_action(store: Store, incident_id: str, at: datetime) -> str | None:
    """Mark the incident's first live action succeeded at `at` (the fix; the simulated fault ends then)."""
    with store.transaction() as conn:
        for action in actions_repo.list_actions(conn, incident_id=incident_id, limit=100):
            if action.status in ("proposed", "approved"):
                finished = int(at.timestamp() * 1000)
                if actions_repo.update_if(
                    conn,
                    action.id,
                    {"status": action.status},
                    {"status": "succeeded", "finished_ms": finished},
                ):
                    return action.id
    return None


def run_recovery(
    store: Store,
    settings: Settings,
    *,
    seed: int = 1,
    merchants: int = 30,
    stage: str = "wave_1",
    fault: str = "webhook_403",
    history_hours: int = 8,
    fault_minutes: int = 30,
    step: int = 5,
    after_minutes: int = 60,
    execute_action: bool = True,
    fix_seconds: int = 0,
) -> RecoveryRun:
    """Simulate, load into `store`, run the cycles and measure (see the module doc). The fix lands
    `fault_minutes` and `fix_seconds` after the onset (anywhere between two cycles); the minute it lands
    in still carries the fault, as the demo's live feed has it."""
    onset = START + timedelta(hours=history_hours)
    fix = onset + timedelta(minutes=fault_minutes, seconds=fix_seconds)
    end = onset + timedelta(minutes=fault_minutes + after_minutes)
    faulty_minutes = fault_minutes + (1 if fix_seconds % 60 else 0) + fix_seconds // 60
    config = SimConfig(
        seed=seed,
        merchants=merchants,
        start=START,
        minutes=int((end - START).total_seconds() // 60),
        logs_from=onset - timedelta(hours=2),
        faults=(FaultSpec(name=fault, start=onset, duration_minutes=faulty_minutes, stages=(stage,)),),
    )
    result = simulate(config)
    load_into(store, result)
    truth = result.truth.faults[0]
    deps = CycleDeps(store=store, settings=settings)
    incident_id: str | None = None
    opened = recovering = resolved = None
    fixed = False
    rose = False
    severity_at_fix: str | None = None
    trace: list[CycleTrace] = []
    minute = step
    cycles_after = 0  # cycles run after the fix so far
    while onset + timedelta(minutes=minute) <= end:
        at = onset + timedelta(minutes=minute)
        if not fixed and at > fix:
            fixed = True
            if incident_id is not None and execute_action:
                _execute_first_action(store, incident_id, fix)
        cycle = run_cycle(deps, as_of=at, window_minutes=60, actor="bench")
        if incident_id is None and cycle.outcome.incident_id is not None:
            incident_id, opened = cycle.outcome.incident_id, minute
        if incident_id is not None:
            with store.read() as conn:
                inc = incidents_repo.get_incident(conn, incident_id)
            so_far = getattr(inc, "lost_orders_so_far", None)
            trace.append(CycleTrace(minute, inc.status, inc.severity, so_far, getattr(inc, "story", None)))
            if fixed:
                severity_at_fix = severity_at_fix or (trace[-2].severity if len(trace) > 1 else inc.severity)
                if SEVERITY_RANK.get(inc.severity, 0) > SEVERITY_RANK.get(severity_at_fix or "", 0):
                    rose = True
                cycles_after += 1
                if recovering is None and inc.status in ("recovering", "resolved"):
                    recovering = cycles_after
                if resolved is None and inc.status == "resolved":
                    resolved = cycles_after
        minute += step
    with store.read() as conn:
        count = incidents_repo.count_incidents(conn)
        final = incidents_repo.get_incident(conn, incident_id) if incident_id else None
    onset_at = getattr(final, "onset", None) if final else None
    orders = getattr(final, "lost_orders_so_far", None) if final else None
    revenue = getattr(final, "lost_revenue_so_far", None) if final else None
    return RecoveryRun(
        seed=seed,
        fault=fault,
        stage=stage,
        onset=onset.isoformat(),
        fix=fix.isoformat(),
        step_minutes=step,
        resolve_cycles=settings.incident_resolve_cycles,
        incident_id=incident_id,
        opened_minute=opened,
        cycles_to_recovering=recovering,
        cycles_to_resolved=resolved,
        severity_rose_after_fix=rose,
        incident_onset=onset_at.isoformat() if onset_at else None,
        onset_error_minutes=round((onset_at - onset).total_seconds() / 60, 1) if onset_at else None,
        lost_orders_so_far=orders,
        lost_revenue_so_far=revenue,
        truth_lost_orders=truth.lost_orders,
        truth_lost_revenue=truth.lost_revenue,
        loss_rel_error=round(abs(orders - truth.lost_orders) / truth.lost_orders, 4)
        if orders is not None and truth.lost_orders
        else None,
        incidents=count,
        final_story=getattr(final, "story", None) if final else None,
        trace=trace,
    )


def run(
    seeds: int = 3,
    merchants: int = 30,
    stage: str = "wave_1",
    fault: str = "webhook_403",
    resolve_cycles: int = 3,
    step: int = 5,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """One run per seed, each in a fresh SQLite database; the summary over the runs."""
    root = Path(workdir or tempfile.mkdtemp(prefix="selfheal-recovery-"))
    runs: list[RecoveryRun] = []
    for seed in range(1, seeds + 1):
        path = root / f"seed-{seed}"
        path.mkdir(parents=True, exist_ok=True)
        settings = _settings(path, resolve_cycles)
        store = Store.open(settings.resolved_database_url())
        try:
            runs.append(
                run_recovery(
                    store, settings, seed=seed, merchants=merchants, stage=stage, fault=fault, step=step
                )
            )
        finally:
            store.dispose()
    return {"summary": summarize(runs), "runs": [asdict(r) for r in runs]}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarize(runs: list[RecoveryRun]) -> dict[str, Any]:
    opened = [r for r in runs if r.incident_id is not None]
    return {
        "runs": len(runs),
        "incident_opened": f"{len(opened)}/{len(runs)}",
        "median_cycles_to_recovering": _median(
            [r.cycles_to_recovering for r in opened if r.cycles_to_recovering is not None]
        ),
        "recovering_within_2_cycles": f"{sum((r.cycles_to_recovering or 99) <= 2 for r in opened)}/{len(opened)}",
        "median_cycles_to_resolved": _median(
            [r.cycles_to_resolved for r in opened if r.cycles_to_resolved is not None]
        ),
        "resolved_within_2_plus_resolve_cycles": f"{sum((r.cycles_to_resolved or 99) <= r.resolve_cycles + 1 for r in opened)}/{len(opened)}",
        "severity_rose_after_fix": sum(r.severity_rose_after_fix for r in opened),
        "median_onset_error_minutes": _median(
            [abs(r.onset_error_minutes) for r in opened if r.onset_error_minutes is not None]
        ),
        "median_loss_rel_error": _median([r.loss_rel_error for r in opened if r.loss_rel_error is not None]),
        "incidents_per_run": [r.incidents for r in runs],
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--merchants", type=int, default=30)
    parser.add_argument("--stage", default="wave_1")
    parser.add_argument("--fault", default="webhook_403")
    parser.add_argument("--resolve-cycles", type=int, default=3)
    parser.add_argument("--step-minutes", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    report = run(
        seeds=args.seeds,
        merchants=args.merchants,
        stage=args.stage,
        fault=args.fault,
        resolve_cycles=args.resolve_cycles,
        step=args.step_minutes,
        workdir=args.workdir,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report["summary"], indent=2, default=str))
    return 0
