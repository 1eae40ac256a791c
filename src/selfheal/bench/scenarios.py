"""Scenario benchmark for the decide stage: replay the simulator's fault catalogue through whole agent cycles.

Each scenario simulates a day of metrics-only history, then per-request logs and tickets from two hours before
the fault, stores everything in a fresh SQLite database, and runs `run_cycle` with `as_of` every 5 minutes from
the onset until the first incident (detection delay), then once at onset + 60 min with a 60-minute window that
covers the fault exactly (the assessment scored against the simulator's ground truth).

    python -m benchmarks.scenarios.run --seeds 5 --out docs/benchmarks/decide.json   (or: selfheal bench scenarios)
    selfheal bench scenarios --seeds 5

Figures: root-cause top-1 accuracy, affected-merchant F1 (against the merchants the fault was injected on),
median absolute relative error of the window's revenue-loss estimate, detection rate and delay, calibration of
the stated confidence, incidents opened over a fault-free week, and two concurrent faults.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from selfheal.cycle import CycleDeps, CycleResult, run_cycle
from selfheal.settings import Settings
from selfheal.simulate import FAULTS, FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store, incidents_repo

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
MIGRATED = ("pilot", "wave_1", "wave_2", "headless")
STEP = 5
WINDOW = 60
FAULT_MINUTES = 60


@dataclass
class ScenarioResult:
    fault: str
    seed: int
    stages: list[str]
    truth_category: str
    predicted: str | None
    confidence: float | None
    concurrent: list[str]
    merchant_precision: float
    merchant_recall: float
    merchant_f1: float
    truth_revenue: float
    estimated_revenue: float | None
    revenue_rel_error: float | None
    detected: bool
    detection_delay_min: int | None
    early_incident: bool
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def _settings(path: Path) -> Settings:
    return Settings(data_dir=path, database_url=f"sqlite:///{path / 'selfheal.db'}", dense_embeddings=False)


def _prepare(config: SimConfig, workdir: Path) -> tuple[Any, CycleDeps]:
    result = simulate(config)
    settings = _settings(workdir)
    store = Store.open(settings.resolved_database_url())
    load_into(store, result)
    return result, CycleDeps(store=store, settings=settings)


def _cycle(deps: CycleDeps, as_of: datetime) -> CycleResult:
    return run_cycle(deps, as_of=as_of, window_minutes=WINDOW, actor="bench")


def _f1(predicted: set[str], truth: set[str]) -> tuple[float, float, float]:
    if not predicted or not truth:
        return 0.0, 0.0, 0.0
    tp = len(predicted & truth)
    p, r = tp / len(predicted), tp / len(truth)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _onset(seed: int) -> datetime:
    return START + timedelta(hours=26, minutes=(seed * 17) % 45)


def _fault_config(seed: int, merchants: int, onset: datetime, faults: tuple[FaultSpec, ...]) -> SimConfig:
    """A simulation from START to the end of the faults, with request logs from two hours before the onset."""
    return SimConfig(
        seed=seed,
        merchants=merchants,
        start=START,
        minutes=int((onset - START).total_seconds() // 60) + FAULT_MINUTES,
        logs_from=onset - timedelta(hours=2),
        faults=faults,
    )


def run_fault(name: str, seed: int, merchants: int, root: Path) -> ScenarioResult:
    started = time.perf_counter()
    stage = MIGRATED[seed % len(MIGRATED)]
    onset = _onset(seed)
    config = _fault_config(
        seed,
        merchants,
        onset,
        (FaultSpec(name=name, start=onset, duration_minutes=FAULT_MINUTES, stages=(stage,)),),
    )
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-{seed}-", dir=root))
    result, deps = _prepare(config, workdir)
    truth = result.truth.faults[0]
    early = _cycle(deps, onset).outcome.incident_id is not None  # the window before onset: no incident
    # Cycles every minute after onset: the first anomaly on the fault's merchants or stage (detection delay)
    # and the first incident (decision delay).
    delay = None
    anomaly_delay = None
    affected = set(truth.merchants)
    for k in range(1, FAULT_MINUTES + 1):
        cycle = _cycle(deps, onset + timedelta(minutes=k))
        if anomaly_delay is None and any(
            a.severity.value != "low"
            and (stage in a.dimensions.stages or affected & set(a.dimensions.merchants))
            for a in cycle.findings.anomalies
        ):
            anomaly_delay = k
        if delay is None and cycle.assessment is not None:
            delay = k
        if delay is not None and anomaly_delay is not None:
            break
    final = _cycle(deps, onset + timedelta(minutes=FAULT_MINUTES))
    a = final.assessment
    predicted = {m.merchant_id for m in a.blast_radius.merchants} if a else set()
    p, r, f1 = _f1(predicted, set(truth.merchants))
    est = a.risk_report.lost_revenue.value if a and a.risk_report else None
    with deps.store.read() as conn:
        incidents = incidents_repo.count_incidents(conn)
    deps.store.dispose()
    return ScenarioResult(
        fault=name,
        seed=seed,
        stages=[stage],
        truth_category=truth.category,
        predicted=a.root_cause.category.value if a else None,
        confidence=a.root_cause.confidence if a else None,
        concurrent=[c.category.value for c in a.concurrent_causes] if a else [],
        merchant_precision=round(p, 4),
        merchant_recall=round(r, 4),
        merchant_f1=round(f1, 4),
        truth_revenue=truth.lost_revenue,
        estimated_revenue=est,
        revenue_rel_error=round(abs(est - truth.lost_revenue) / truth.lost_revenue, 4)
        if est is not None and truth.lost_revenue
        else None,
        detected=delay is not None,
        detection_delay_min=delay,
        early_incident=early,
        seconds=round(time.perf_counter() - started, 1),
        extra={
            "truth_lost_orders": truth.lost_orders,
            "estimated_lost_orders": a.risk_report.lost_orders.value if a and a.risk_report else None,
            "revenue_interval": [a.risk_report.lost_revenue.low, a.risk_report.lost_revenue.high]
            if a and a.risk_report
            else None,
            "incidents": incidents,
            "anomaly_delay_min": anomaly_delay,
            "alternatives": [(x.category.value, x.confidence) for x in a.alternatives] if a else [],
        },
    )


def run_concurrent(seed: int, merchants: int, root: Path) -> dict[str, Any]:
    """webhook_500 on wave_1 and checkout_latency on wave_2 at the same time."""
    started = time.perf_counter()
    onset = _onset(seed)
    faults = (
        FaultSpec(name="webhook_500", start=onset, duration_minutes=FAULT_MINUTES, stages=("wave_1",)),
        FaultSpec(name="checkout_latency", start=onset, duration_minutes=FAULT_MINUTES, stages=("wave_2",)),
    )
    config = _fault_config(seed, merchants, onset, faults)
    workdir = Path(tempfile.mkdtemp(prefix=f"two-{seed}-", dir=root))
    result, deps = _prepare(config, workdir)
    for k in range(1, FAULT_MINUTES // STEP + 1):
        _cycle(deps, onset + timedelta(minutes=k * STEP))
    a = _cycle(deps, onset + timedelta(minutes=FAULT_MINUTES)).assessment
    with deps.store.read() as conn:
        incidents = incidents_repo.list_incidents(conn)
    deps.store.dispose()
    found = set()
    for inc in incidents:
        found.add(inc.category)
    if a is not None:
        found.add(a.root_cause.category.value)
        found |= {c.category.value for c in a.concurrent_causes}
    truth = {f.category for f in result.truth.faults}
    return {
        "seed": seed,
        "truth": sorted(truth),
        "found": sorted(found),
        "both_found": truth <= found,
        "incidents": len(incidents),
        "final_root_cause": a.root_cause.category.value if a else None,
        "final_concurrent": [c.category.value for c in a.concurrent_causes] if a else [],
        "final_stages": list(a.blast_radius.stages) if a else [],
        "seconds": round(time.perf_counter() - started, 1),
    }


def run_quiet_week(seed: int, merchants: int, root: Path, days: int, step_minutes: int) -> dict[str, Any]:
    """A fault-free simulated week after a day of metrics-only history, with a cycle every `step_minutes`.

    To keep memory and time bounded the week is generated block by block (the simulator gives the same data
    in any chunking): each block is metrics-only except its last hour, which has per-request logs and tickets,
    and the cycle runs at the end of that hour with a 60-minute window, so every window is fully logged.
    """
    started = time.perf_counter()
    settings = _settings(Path(tempfile.mkdtemp(prefix=f"quiet-{seed}-", dir=root)))
    store = Store.open(settings.resolved_database_url())
    deps = CycleDeps(store=store, settings=settings)
    load_into(
        store,
        simulate(
            SimConfig(
                seed=seed,
                merchants=merchants,
                start=START,
                minutes=24 * 60,
                logs_from=START + timedelta(days=1),
            )
        ),
    )
    step = max(step_minutes, 2 * WINDOW)
    cycles = 0
    flagged: list[str] = []
    serious: list[str] = []
    anomalies = 0
    block = START + timedelta(days=1)
    end = START + timedelta(days=days + 1)
    while block + timedelta(minutes=step) <= end:
        as_of = block + timedelta(minutes=step)
        load_into(
            store,
            simulate(
                SimConfig(
                    seed=seed,
                    merchants=merchants,
                    start=block,
                    minutes=step,
                    logs_from=as_of - timedelta(minutes=WINDOW),
                )
            ),
        )
        c = _cycle(deps, as_of)
        cycles += 1
        if c.assessment is not None:
            flagged.append(f"{as_of:%a %H:%M} {c.assessment.title}")
        anomalies += len(c.findings.anomalies)
        serious.extend(
            f"{as_of:%a %H:%M} {a.severity.value} {a.series}"
            for a in c.findings.anomalies
            if a.severity.value in ("high", "critical")
        )
        block = as_of
    with store.read() as conn:
        incidents = incidents_repo.count_incidents(conn)
    store.dispose()
    return {
        "seed": seed,
        "days": days,
        "step_minutes": step,
        "cycles": cycles,
        "incidents": incidents,
        "flagged_cycles": flagged[:20],
        "anomalies": anomalies,
        "high_or_critical_anomalies": len(serious),
        "high_or_critical_examples": serious[:20],
        "seconds": round(time.perf_counter() - started, 1),
    }


def summarize(
    faults: list[ScenarioResult], concurrent: list[dict[str, Any]], quiet: dict[str, Any]
) -> dict[str, Any]:
    correct = [r.predicted == r.truth_category for r in faults]
    errors = [r.revenue_rel_error for r in faults if r.revenue_rel_error is not None]
    delays = [r.detection_delay_min for r in faults if r.detection_delay_min is not None]
    anomaly_delays = [
        r.extra["anomaly_delay_min"] for r in faults if r.extra.get("anomaly_delay_min") is not None
    ]
    conf = [(r.confidence or 0.0, r.predicted == r.truth_category) for r in faults]
    per_fault: dict[str, dict[str, Any]] = {}
    for name in sorted({r.fault for r in faults}):
        rs = [r for r in faults if r.fault == name]
        per_fault[name] = {
            "runs": len(rs),
            "top1": round(sum(r.predicted == r.truth_category for r in rs) / len(rs), 3),
            "merchant_f1": round(statistics.mean(r.merchant_f1 for r in rs), 3),
            "revenue_mare": round(
                statistics.median(
                    [r.revenue_rel_error for r in rs if r.revenue_rel_error is not None] or [float("nan")]
                ),
                3,
            ),
            "detected": sum(r.detected for r in rs),
            "median_incident_delay_min": statistics.median(
                [r.detection_delay_min for r in rs if r.detection_delay_min is not None] or [float("nan")]
            ),
            "median_anomaly_delay_min": statistics.median(
                [r.extra["anomaly_delay_min"] for r in rs if r.extra.get("anomaly_delay_min") is not None]
                or [float("nan")]
            ),
        }
    return {
        "scenarios": len(faults),
        "top1_accuracy": round(sum(correct) / len(correct), 4) if correct else None,
        "merchant_f1_mean": round(statistics.mean(r.merchant_f1 for r in faults), 4) if faults else None,
        "revenue_median_abs_rel_error": round(statistics.median(errors), 4) if errors else None,
        "detected": f"{sum(r.detected for r in faults)}/{len(faults)}",
        "median_incident_delay_min": statistics.median(delays) if delays else None,
        "anomaly_detected": f"{len(anomaly_delays)}/{len(faults)}",
        "median_anomaly_delay_min": statistics.median(anomaly_delays) if anomaly_delays else None,
        "incidents_before_onset": sum(r.early_incident for r in faults),
        "mean_confidence": round(statistics.mean(c for c, _ in conf), 4) if conf else None,
        "brier": round(statistics.mean((c - float(ok)) ** 2 for c, ok in conf), 4) if conf else None,
        "per_fault": per_fault,
        "concurrent_both_found": f"{sum(c['both_found'] for c in concurrent)}/{len(concurrent)}",
        "concurrent_incidents": [c["incidents"] for c in concurrent],
        "quiet_week_incidents": quiet.get("incidents"),
        "quiet_week_high_or_critical_anomalies": quiet.get("high_or_critical_anomalies"),
        "quiet_week_cycles": quiet.get("cycles"),
    }


def run(
    seeds: int = 5,
    merchants: int = 50,
    faults: tuple[str, ...] = tuple(FAULTS),
    quiet_days: int = 7,
    quiet_step_minutes: int = 120,
    concurrent_seeds: int = 3,
    workdir: Path | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> dict[str, Any]:
    root = workdir or Path(tempfile.mkdtemp(prefix="selfheal-scenarios-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: list[ScenarioResult] = []
    for name in faults:
        for seed in range(1, seeds + 1):
            r = run_fault(name, seed, merchants, root)
            results.append(r)
            log(
                f"{name:24s} seed {seed} stage {r.stages[0]:8s} -> {r.predicted} ({(r.confidence or 0):.2f}) "
                f"F1 {r.merchant_f1:.2f} revenue {r.estimated_revenue} vs {r.truth_revenue} "
                f"delay {r.detection_delay_min} [{r.seconds}s]"
            )
    concurrent = []
    for seed in range(1, concurrent_seeds + 1):
        c = run_concurrent(seed, merchants, root)
        concurrent.append(c)
        log(f"two faults seed {seed}: {c}")
    quiet = run_quiet_week(1, merchants, root, quiet_days, quiet_step_minutes) if quiet_days else {}
    log(f"quiet week: {quiet}")
    summary = summarize(results, concurrent, quiet)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return {
        "summary": summary,
        "scenarios": [asdict(r) for r in results],
        "concurrent": concurrent,
        "quiet_week": quiet,
        "config": {
            "seeds": seeds,
            "merchants": merchants,
            "window_minutes": WINDOW,
            "fault_minutes": FAULT_MINUTES,
            "step_minutes": STEP,
            "quiet_days": quiet_days,
            "quiet_step_minutes": quiet_step_minutes,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--merchants", type=int, default=50)
    parser.add_argument("--faults", default=",".join(FAULTS), help="Comma-separated fault names")
    parser.add_argument("--quiet-days", type=int, default=7)
    parser.add_argument("--quiet-step-minutes", type=int, default=120)
    parser.add_argument("--concurrent-seeds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="Where the scenario databases go (temp)")
    parser.add_argument("--out", type=Path, default=None, help="Write the full JSON report here")
    args = parser.parse_args(argv)
    report = run(
        seeds=args.seeds,
        merchants=args.merchants,
        faults=tuple(f for f in args.faults.split(",") if f),
        quiet_days=args.quiet_days,
        quiet_step_minutes=args.quiet_step_minutes,
        concurrent_seeds=args.concurrent_seeds,
        workdir=args.workdir,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report["summary"], indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
