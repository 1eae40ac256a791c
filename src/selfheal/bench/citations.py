"""Runbook citation benchmark: does an incident cite the runbook written for its own fault?

Each catalogue fault of the simulator is simulated (as in the scenario benchmark: a day of metrics-only
history, then request logs and tickets from two hours before the onset), the starter runbooks are loaded into
the run's knowledge base, and whole agent cycles (`run_cycle`) run at onset + 15, 30 and 60 minutes with a
60-minute window. For every cycle the cited passages (`findings.runbook_context`) are compared with the runbook
written for the fault: top-1 (the first passage is from it) and top-3 (one of the first three is).

    python -m benchmarks.citations.run --seeds 4 --out docs/benchmarks/citations.json   [--dense]

The starter runbooks are the product's own and were written alongside the simulator's faults: these figures
are on tuned-on data, not held out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from selfheal.bench.scenarios import FAULT_MINUTES, MIGRATED, WINDOW, _fault_config, _onset
from selfheal.cycle import CycleDeps, run_cycle
from selfheal.knowledge.base import knowledge_base
from selfheal.knowledge.starter import load_starter_runbooks
from selfheal.settings import Settings
from selfheal.simulate import load_into, make_merchants, simulate
from selfheal.simulate.families import draw, fault_spec
from selfheal.store import Store

RUNBOOK_OF = {
    "webhook_403": "webhook-order-created-403.md",
    "webhook_500": "webhook-order-created-500.md",
    "api_auth_401": "api-auth-401-403.md",
    "cart_sync_mismatch": "cart-sync-mismatch.md",
    "checkout_latency": "checkout-latency.md",
    "payment_provider_errors": "payment-provider-errors.md",
}
"""The starter runbook written for each catalogue fault."""
CHECKPOINTS = (15, 30, 60)
"""Minutes after the onset at which a cycle's citations are scored."""


@dataclass
class Citation:
    fault: str
    seed: int
    stage: str
    minute: int
    expected: str
    cited: list[str]
    top1: bool
    top3: bool
    incident: bool
    query: str | None


def run_fault(fault: str, seed: int, merchants: int, root: Path, dense: bool) -> list[Citation]:
    stage = MIGRATED[seed % len(MIGRATED)]
    onset = _onset(seed)
    rv = draw("catalogue", fault, seed)
    shops = make_merchants(merchants, seed, "USD", rv.traffic_sigma)
    spec = fault_spec(fault, rv, stage, onset, FAULT_MINUTES, shops)
    workdir = Path(tempfile.mkdtemp(prefix=f"cite-{fault}-{seed}-", dir=root))
    settings = Settings(
        data_dir=workdir, database_url=f"sqlite:///{workdir / 'selfheal.db'}", dense_embeddings=dense
    )
    store = Store.open(settings.resolved_database_url())
    load_into(store, simulate(_fault_config(seed, merchants, onset, (spec,), rv)))
    load_starter_runbooks(knowledge_base(store, settings))
    deps = CycleDeps(store=store, settings=settings)
    out: list[Citation] = []
    for minute in CHECKPOINTS:
        result = run_cycle(
            deps, as_of=onset + timedelta(minutes=minute), window_minutes=WINDOW, actor="bench"
        )
        cited = [p.document for p in result.findings.runbook_context]
        expected = RUNBOOK_OF[fault]
        out.append(
            Citation(
                fault=fault,
                seed=seed,
                stage=stage,
                minute=minute,
                expected=expected,
                cited=cited,
                top1=bool(cited) and cited[0] == expected,
                top3=expected in cited[:3],
                incident=result.assessment is not None,
                query=result.findings.retrieval_query,
            )
        )
    store.dispose()
    return out


def summarise(rows: list[Citation]) -> dict[str, Any]:
    def rate(items: list[Citation], attr: str) -> str:
        return f"{sum(getattr(r, attr) for r in items)}/{len(items)}"

    per_fault = {
        fault: {"top1": rate(items, "top1"), "top3": rate(items, "top3")}
        for fault in RUNBOOK_OF
        if (items := [r for r in rows if r.fault == fault])
    }
    return {
        "cycles": len(rows),
        "top1": rate(rows, "top1"),
        "top3": rate(rows, "top3"),
        "per_fault": per_fault,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--merchants", type=int, default=40)
    parser.add_argument("--dense", action="store_true", help="dense + lexical retrieval and themes (MiniLM)")
    parser.add_argument("--faults", nargs="*", default=list(RUNBOOK_OF))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[Citation] = []
    with tempfile.TemporaryDirectory(prefix="selfheal-citations-") as tmp:
        for fault in args.faults:
            for seed in range(args.seeds):
                for row in run_fault(fault, seed, args.merchants, Path(tmp), args.dense):
                    rows.append(row)
                    mark = "ok " if row.top1 else ("top3" if row.top3 else "MISS")
                    print(f"{mark} {fault} seed {seed} +{row.minute}m cited {row.cited[:3]}", file=sys.stderr)
    report = {
        "mode": "hybrid (dense)" if args.dense else "lexical",
        "seeds": args.seeds,
        "merchants": args.merchants,
        "checkpoints_min": list(CHECKPOINTS),
        "seconds": round(time.perf_counter() - started, 1),
        "summary": summarise(rows),
        "runs": [asdict(r) for r in rows],
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(json.dumps(report["summary"], indent=2))
    return 0
