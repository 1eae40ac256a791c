"""A simulated migration fault: its tickets form themes that link to the fault's anomalies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store

START = datetime(2026, 3, 1, tzinfo=UTC)


def test_fault_tickets_form_themes_linked_to_the_fault(sqlite_store: Store, tmp_path: Path) -> None:
    fault = FaultSpec(
        name="webhook_403", start=START + timedelta(hours=10), duration_minutes=90, stages=("wave_1",)
    )
    result = simulate(SimConfig(seed=1, merchants=30, start=START, minutes=12 * 60, faults=(fault,)))
    load_into(sqlite_store, result)
    deps = CycleDeps(store=sqlite_store, settings=Settings(data_dir=tmp_path, dense_embeddings=False))
    findings = run_cycle(deps, as_of=START + timedelta(hours=11)).findings

    webhook_anomalies = {a.id for a in findings.anomalies if "webhook" in a.series}
    assert webhook_anomalies, "the detector should see the webhook failures"
    fault_merchants = set(result.truth.faults[0].merchants)
    fault_themes = [
        t for t in findings.themes if set(t.merchants) <= fault_merchants and t.stages == ("wave_1",)
    ]
    assert fault_themes
    assert all(webhook_anomalies & set(t.anomaly_ids) for t in fault_themes)
    assert all(t.trend.value == "new" for t in fault_themes)
    other = [t for t in findings.themes if not set(t.merchants) & fault_merchants]
    assert all(not webhook_anomalies & set(t.anomaly_ids) for t in other)
    assert findings.embedding_model == "tfidf-lsa"
