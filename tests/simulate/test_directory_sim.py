"""The demo's setup: merchants in the directory, tickets and KPI points without a stage. The cycle finds the
same incident, stages and merchants as when every signal carries its stage."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from selfheal.decide import assess
from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, directory_csv, load_into, simulate
from selfheal.store import Store, directory_repo

START = datetime(2024, 3, 4, tzinfo=UTC)
ONSET = START + timedelta(hours=8)


def _assessment(tmp_path: Path, name: str, from_directory: bool):  # type: ignore[no-untyped-def]
    config = SimConfig(
        seed=3,
        merchants=30,
        start=START,
        minutes=9 * 60,
        logs_from=ONSET - timedelta(hours=2),
        faults=(FaultSpec(name="webhook_403", start=ONSET, duration_minutes=60, stages=("wave_1",)),),
        stages_from_directory=from_directory,
    )
    result = simulate(config)
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / name}", dense_embeddings=False
    )
    store = Store.open(settings.resolved_database_url())
    load_into(store, result, with_directory=from_directory)
    obs = observe(store, ONSET + timedelta(minutes=60), 60, settings)
    return result, store, obs, assess(obs, reason(obs, ReasonContext(settings=settings)), settings)


def test_the_directory_gives_the_same_incident_as_stages_on_every_signal(tmp_path: Path) -> None:
    result, store, obs, with_dir = _assessment(tmp_path, "dir.db", True)
    assert all(t.migration_stage is None for t in result.tickets)
    assert all(m.migration_stage is None for m in result.metrics)
    with store.read() as conn:
        assert directory_repo.directory_size(conn) == 30
    stages = {m.id: m.stage for m in result.truth.merchants}
    assert obs.tickets and all(t.migration_stage == stages[t.merchant_id] for t in obs.tickets)
    assert all(m.migration_stage == stages[m.merchant_id] for m in obs.metrics)
    assert obs.unknown_merchants == ()
    _, _, _, plain = _assessment(tmp_path, "plain.db", False)
    assert with_dir is not None and plain is not None
    assert with_dir.root_cause.category == plain.root_cause.category
    assert with_dir.blast_radius.stages == plain.blast_radius.stages == ("wave_1",)
    assert {m.merchant_id for m in with_dir.blast_radius.merchants} == set(result.truth.faults[0].merchants)
    assert with_dir.risk_report is not None and plain.risk_report is not None
    assert with_dir.risk_report.lost_revenue.value == pytest.approx(plain.risk_report.lost_revenue.value)


def test_the_directory_file_lists_every_simulated_merchant() -> None:
    result = simulate(SimConfig(seed=1, merchants=12, start=START, minutes=5))
    rows = list(csv.DictReader(io.StringIO(directory_csv(result.truth.merchants).decode())))
    assert [(r["id"], r["stage"]) for r in rows] == [(m.id, m.stage) for m in result.truth.merchants]
    assert {r["plan"] for r in rows} <= {"plus", "basic"} and all(
        r["label.source"] == "simulator" for r in rows
    )
