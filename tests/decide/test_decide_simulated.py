"""Each catalogue fault, simulated and run through observe -> reason -> decide, gives its category."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from kit import SIM_ONSET as ONSET
from kit import one_fault

from selfheal.decide import assess
from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.settings import Settings
from selfheal.simulate import CATEGORY_OF, FAULTS, load_into, simulate
from selfheal.store import Store

HAS_DETECTION = importlib.util.find_spec("selfheal.reason.detect.anomalies") is not None
NEEDS_ANOMALIES = {"api_auth_401", "cart_sync_mismatch", "checkout_latency", "payment_provider_errors"}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_simulated_fault_gives_its_category(fault: str, tmp_path: Path) -> None:
    if fault in NEEDS_ANOMALIES and not HAS_DETECTION:
        pytest.skip("needs the anomaly detectors (reason.detect.anomalies)")
    result = simulate(one_fault(fault))
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}", dense_embeddings=False
    )
    store = Store.open(settings.resolved_database_url())
    load_into(store, result)
    as_of = ONSET + timedelta(minutes=60)
    obs = observe(store, as_of, 60, settings)
    a = assess(obs, reason(obs, ReasonContext(settings=settings)), settings)
    truth = result.truth.faults[0]
    assert a is not None
    assert a.root_cause.category.value == CATEGORY_OF[fault]
    assert a.blast_radius.stages == ("wave_2",)
    assert {m.merchant_id for m in a.blast_radius.merchants} == set(truth.merchants)
    assert a.risk_report is not None
    assert a.risk_report.lost_revenue.value == pytest.approx(truth.lost_revenue, rel=0.3)
    assert a.risk_report.lost_revenue.low <= truth.lost_revenue * 1.1

    # Before the onset, the same store gives no incident.
    quiet = observe(store, ONSET, 60, settings)
    assert assess(quiet, reason(quiet, ReasonContext(settings=settings)), settings) is None
