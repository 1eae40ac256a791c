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
from selfheal.simulate import FAULTS, FaultSpec, SimConfig, load_into, make_merchants, simulate
from selfheal.simulate.families import (
    FAMILIES,
    HELD_OUT,
    TUNED,
    RunVariant,
    background_faults,
    draw,
    fault_spec,
)
from selfheal.store import Store, incidents_repo

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
MIGRATED = ("pilot", "wave_1", "wave_2", "headless")
STEP = 5
WINDOW = 60
FAULT_MINUTES = 60
MATERIAL_LOST_ORDERS = 10


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
    family: str = "catalogue"
    truth_lost_orders: int = 0
    revenue_covered: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    truth_expected_revenue: float | None = None
    """Expected minus actual revenue of the fault's merchants (`FaultTruth.expected_lost_revenue`)."""
    revenue_rel_error_expected: float | None = None
    """The estimate's relative error against `truth_expected_revenue`."""


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


def _relative_error(estimate: float | None, truth: float) -> float | None:
    return round(abs(estimate - truth) / abs(truth), 4) if estimate is not None and truth else None


def _onset(seed: int, hour: int | None = None) -> datetime:
    """The fault's start on the second day: at `hour` (default 02:00, the night trough) plus 0-44 minutes."""
    return START + timedelta(hours=24 + (2 if hour is None else hour), minutes=(seed * 17) % 45)


def _fault_config(
    seed: int,
    merchants: int,
    onset: datetime,
    faults: tuple[FaultSpec, ...],
    rv: RunVariant | None = None,
    stage_merchants: tuple[str, ...] = (),
) -> SimConfig:
    """A simulation from START to the end of the faults, with request logs from two hours before the onset
    (`stage_merchants`: the fault stage's merchants, largest first, that the draw's merchant gaps pick from)."""
    return SimConfig(
        seed=seed,
        merchants=merchants,
        start=START,
        minutes=int((onset - START).total_seconds() // 60) + FAULT_MINUTES,
        logs_from=onset - timedelta(hours=2),
        faults=faults,
        traffic_sigma=rv.traffic_sigma if rv else 0.8,
        variant=rv.signal_variant(onset, stage_merchants) if rv else None,
    )


def run_fault(
    name: str, seed: int, merchants: int, root: Path, family: str = "catalogue", cycle_step: int = 1
) -> ScenarioResult:
    started = time.perf_counter()
    stage = MIGRATED[seed % len(MIGRATED)]
    rv = draw(family, name, seed)
    onset = _onset(seed, rv.onset_hour)
    shops = make_merchants(merchants, seed, "USD", rv.traffic_sigma)
    spec = fault_spec(name, rv, stage, onset, FAULT_MINUTES, shops)
    noise = background_faults(rv, shops, START, onset, onset + timedelta(minutes=FAULT_MINUTES), seed)
    on_stage = tuple(m.id for m in sorted(shops, key=lambda m: -m.attempts_per_minute) if m.stage == stage)
    config = _fault_config(seed, merchants, onset, (spec, *noise), rv, on_stage)
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-{family}-{seed}-", dir=root))
    result, deps = _prepare(config, workdir)
    truth = result.truth.faults[0]
    # The window before the fault's first record (the onset, or earlier by a provider clock running behind):
    # no incident may open in it.
    early = _cycle(deps, rv.fault_free_until(onset)).outcome.incident_id is not None
    # Cycles every minute after onset: the first anomaly on the fault's merchants or stage (detection delay)
    # and the first incident (decision delay).
    delay = None
    anomaly_delay = None
    affected = set(truth.merchants)
    # cycle_step 0: no cycles between the onset and the end (no delays measured; a shorter run).
    steps = range(cycle_step, FAULT_MINUTES + 1, cycle_step) if cycle_step > 0 else range(0)
    for k in steps:
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
    interval = (
        (a.risk_report.lost_revenue.low, a.risk_report.lost_revenue.high) if a and a.risk_report else None
    )
    with deps.store.read() as conn:
        incidents = incidents_repo.count_incidents(conn)
    deps.store.dispose()
    return ScenarioResult(
        fault=name,
        seed=seed,
        stages=list(spec.stages) or [stage],
        truth_category=truth.category,
        predicted=a.root_cause.category.value if a else None,
        confidence=a.root_cause.confidence if a else None,
        concurrent=[c.category.value for c in a.concurrent_causes] if a else [],
        merchant_precision=round(p, 4),
        merchant_recall=round(r, 4),
        merchant_f1=round(f1, 4),
        truth_revenue=truth.lost_revenue,
        estimated_revenue=est,
        revenue_rel_error=_relative_error(est, truth.lost_revenue),
        detected=delay is not None or (cycle_step <= 0 and a is not None),
        detection_delay_min=delay,
        early_incident=early,
        seconds=round(time.perf_counter() - started, 1),
        family=family,
        truth_lost_orders=truth.lost_orders,
        revenue_covered=interval[0] <= truth.lost_revenue <= interval[1] if interval else None,
        truth_expected_revenue=truth.expected_lost_revenue,
        revenue_rel_error_expected=_relative_error(est, truth.expected_lost_revenue),
        extra={
            "variant": rv.describe(),
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
    causes = [a.root_cause, *a.concurrent_causes] if a else []
    parts = {c.category.value: c.lost_revenue.value for c in causes if c.lost_revenue is not None}
    total = a.risk_report.lost_revenue.value if a and a.risk_report else 0.0
    truth_money = {f.category: f.lost_revenue for f in result.truth.faults}
    return {
        "per_cause_revenue": parts,
        "truth_revenue": truth_money,
        "per_cause_rel_error": {
            k: round(abs(v - truth_money[k]) / truth_money[k], 4)
            for k, v in parts.items()
            if truth_money.get(k)
        },
        "estimated_total_revenue": total,
        "parts_within_total": bool(parts)
        and len(parts) == len(causes)
        and sum(parts.values()) <= total + 0.01,
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


DECOY_CYCLE = ("deploy_blip", None, "merchant_own_outage", None, "marketing_spike", None)
"""Every other quiet cycle's logged hour carries a decoy, in this order."""


def _decoy(k: int, hour: datetime, shops: tuple[Any, ...]) -> FaultSpec | None:
    """The k-th quiet cycle's decoy: a 2-minute deploy blip on one stage, the largest merchant's own shop down
    for the hour, or a marketing campaign tripling one stage's sessions."""
    name = DECOY_CYCLE[k % len(DECOY_CYCLE)]
    stage = MIGRATED[(k // len(DECOY_CYCLE)) % len(MIGRATED)]
    if name == "deploy_blip":
        return FaultSpec(name=name, start=hour + timedelta(minutes=25), duration_minutes=2, stages=(stage,))
    if name == "merchant_own_outage":
        largest = max(shops, key=lambda m: m.attempts_per_minute)
        return FaultSpec(
            name=name, start=hour + timedelta(minutes=10), duration_minutes=50, merchants=(largest.id,)
        )
    if name == "marketing_spike":
        return FaultSpec(name=name, start=hour + timedelta(minutes=10), duration_minutes=50, stages=(stage,))
    return None


def run_quiet_week(
    seed: int, merchants: int, root: Path, days: int, step_minutes: int, with_decoys: bool = True
) -> dict[str, Any]:
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
    shops = make_merchants(merchants, seed)
    decoys: list[str] = []
    while block + timedelta(minutes=step) <= end:
        as_of = block + timedelta(minutes=step)
        decoy = _decoy(cycles, as_of - timedelta(minutes=WINDOW), shops) if with_decoys else None
        if decoy is not None:
            decoys.append(f"{as_of:%a %H:%M} {decoy.name} {decoy.stages or decoy.merchants}")
        load_into(
            store,
            simulate(
                SimConfig(
                    seed=seed,
                    merchants=merchants,
                    start=block,
                    minutes=step,
                    logs_from=as_of - timedelta(minutes=WINDOW),
                    faults=(decoy,) if decoy else (),
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
        "decoys": len(decoys),
        "decoy_examples": decoys[:12],
        "anomalies": anomalies,
        "high_or_critical_anomalies": len(serious),
        "high_or_critical_examples": serious[:20],
        "seconds": round(time.perf_counter() - started, 1),
    }


ECE_BINS = 10


def calibration(conf: list[tuple[float, bool]]) -> dict[str, float | None]:
    """Brier score and expected calibration error (10 equal-width bins) of the stated top-cause confidence."""
    if not conf:
        return {"brier": None, "ece": None, "mean_confidence": None, "accuracy": None}
    bins: dict[int, list[tuple[float, bool]]] = {}
    for c, ok in conf:
        bins.setdefault(min(int(c * ECE_BINS), ECE_BINS - 1), []).append((c, ok))
    ece = sum(
        len(items)
        / len(conf)
        * abs(statistics.mean(c for c, _ in items) - statistics.mean(float(o) for _, o in items))
        for items in bins.values()
    )
    return {
        "brier": round(statistics.mean((c - float(ok)) ** 2 for c, ok in conf), 4),
        "ece": round(ece, 4),
        "mean_confidence": round(statistics.mean(c for c, _ in conf), 4),
        "accuracy": round(statistics.mean(float(ok) for _, ok in conf), 4),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _group(rs: list[ScenarioResult]) -> dict[str, Any]:
    """Figures of a group of fault runs. Runs whose true loss is under 10 orders are `immaterial`: they are
    reported, but an incident is not required of them."""
    material = [r for r in rs if r.truth_lost_orders >= MATERIAL_LOST_ORDERS]
    covered = [r.revenue_covered for r in material if r.revenue_covered is not None]
    covered_expected = [
        low <= r.truth_expected_revenue <= high
        for r in material
        if r.truth_expected_revenue is not None and r.extra.get("revenue_interval")
        for low, high in [r.extra["revenue_interval"]]
    ]
    return {
        "runs": len(rs),
        "material_runs": len(material),
        "top1": round(sum(r.predicted == r.truth_category for r in material) / len(material), 3)
        if material
        else None,
        "incident_opened": f"{sum(r.predicted is not None for r in material)}/{len(material)}",
        "merchant_f1": round(statistics.mean(r.merchant_f1 for r in material), 3) if material else None,
        "revenue_median_error": _median(
            [r.revenue_rel_error for r in material if r.revenue_rel_error is not None]
        ),
        "revenue_median_error_vs_expected": _median(
            [r.revenue_rel_error_expected for r in material if r.revenue_rel_error_expected is not None]
        ),
        "interval_covers": f"{sum(covered)}/{len(covered)}",
        "interval_covers_expected": f"{sum(covered_expected)}/{len(covered_expected)}",
        "median_incident_delay_min": _median(
            [r.detection_delay_min for r in material if r.detection_delay_min is not None]
        ),
        **calibration([(r.confidence or 0.0, r.predicted == r.truth_category) for r in material]),
    }


def summarize(
    faults: list[ScenarioResult], concurrent: list[dict[str, Any]], quiet: dict[str, Any]
) -> dict[str, Any]:
    split = {
        "tuned": [r for r in faults if r.family in TUNED],
        "held_out": [r for r in faults if r.family in HELD_OUT],
    }
    out: dict[str, Any] = {
        "scenarios": len(faults),
        "incidents_before_onset": sum(r.early_incident for r in faults),
    }
    for part, rs in split.items():
        if not rs:
            continue
        out[part] = {
            "all": _group(rs),
            "per_fault": {n: _group([r for r in rs if r.fault == n]) for n in sorted({r.fault for r in rs})},
            "per_family": {
                f: _group([r for r in rs if r.family == f]) for f in sorted({r.family for r in rs})
            },
        }
    out["concurrent_both_found"] = f"{sum(c['both_found'] for c in concurrent)}/{len(concurrent)}"
    out["concurrent_money_within_total"] = (
        f"{sum(c.get('parts_within_total', False) for c in concurrent)}/{len(concurrent)}"
    )
    out["concurrent_incidents"] = [c["incidents"] for c in concurrent]
    out["quiet_week_incidents"] = quiet.get("incidents")
    out["quiet_week_decoys"] = quiet.get("decoys")
    out["quiet_week_high_or_critical_anomalies"] = quiet.get("high_or_critical_anomalies")
    out["quiet_week_cycles"] = quiet.get("cycles")
    return out


def run(
    seeds: int = 5,
    merchants: int = 50,
    faults: tuple[str, ...] = tuple(FAULTS),
    quiet_days: int = 7,
    quiet_step_minutes: int = 120,
    concurrent_seeds: int = 3,
    workdir: Path | None = None,
    families: tuple[str, ...] = ("catalogue",),
    quiet_decoys: bool = True,
    cycle_step: int = 1,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> dict[str, Any]:
    root = workdir or Path(tempfile.mkdtemp(prefix="selfheal-scenarios-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: list[ScenarioResult] = []
    for family in families:
        for name in faults:
            for seed in range(1, seeds + 1):
                r = run_fault(name, seed, merchants, root, family, cycle_step)
                results.append(r)
                log(
                    f"{family:18s} {name:24s} seed {seed} stage {r.stages[0]:8s} -> {r.predicted} ({(r.confidence or 0):.2f}) "
                    f"F1 {r.merchant_f1:.2f} revenue {r.estimated_revenue} vs {r.truth_revenue} "
                    f"delay {r.detection_delay_min} [{r.seconds}s]"
                )
    concurrent = []
    for seed in range(1, concurrent_seeds + 1):
        c = run_concurrent(seed, merchants, root)
        concurrent.append(c)
        log(f"two faults seed {seed}: {c}")
    quiet = (
        run_quiet_week(1, merchants, root, quiet_days, quiet_step_minutes, quiet_decoys) if quiet_days else {}
    )
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
            "cycle_step_minutes": cycle_step,
            "families": list(families),
            "tuned_families": list(TUNED),
            "held_out_families": list(HELD_OUT),
        },
    }


def merge_reports(paths: list[Path]) -> dict[str, Any]:
    """One summary of several reports (e.g. one process per family run side by side)."""
    reports = [json.loads(p.read_text()) for p in paths]
    faults = [ScenarioResult(**r) for rep in reports for r in rep.get("scenarios", [])]
    concurrent = [c for rep in reports for c in rep.get("concurrent", [])]
    quiet: dict[str, Any] = next((rep["quiet_week"] for rep in reports if rep.get("quiet_week")), {})
    return {
        "summary": summarize(faults, concurrent, quiet),
        "scenarios": [asdict(r) for r in faults],
        "concurrent": concurrent,
        "quiet_week": quiet,
        "config": {"merged": [str(p) for p in paths], "parts": [rep.get("config") for rep in reports]},
    }


def parse_families(text: str) -> tuple[str, ...]:
    names = FAMILIES if text.strip() == "all" else tuple(f for f in text.split(",") if f)
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    return names


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
    parser.add_argument(
        "--cycle-step",
        type=int,
        default=1,
        help="Minutes between cycles after the onset (0: none; no delays measured)",
    )
    parser.add_argument(
        "--families",
        default="catalogue",
        help=f"Comma-separated variant families or 'all' ({', '.join(FAMILIES)})",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="Where the scenario databases go (temp)")
    parser.add_argument("--out", type=Path, default=None, help="Write the full JSON report here")
    parser.add_argument("--merge", type=Path, nargs="*", default=None, help="Only merge these JSON reports")
    args = parser.parse_args(argv)
    if args.merge:
        merged = merge_reports(args.merge)
        if args.out:
            args.out.write_text(json.dumps(merged, indent=2, default=str))
        print(json.dumps(merged["summary"], indent=2, default=str))
        return 0
    report = run(
        seeds=args.seeds,
        merchants=args.merchants,
        faults=tuple(f for f in args.faults.split(",") if f),
        quiet_days=args.quiet_days,
        quiet_step_minutes=args.quiet_step_minutes,
        concurrent_seeds=args.concurrent_seeds,
        workdir=args.workdir,
        families=parse_families(args.families),
        cycle_step=args.cycle_step,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report["summary"], indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
