"""A thin request history still bounds the normal rate: a failure far above the highest rate it allows (here
diluted: one stage's payments failing in bursts, judged over every stage's payments) is not capped at low."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.reason.detect.counts import highest_plausible_rate
from selfheal.reason.model import Anomaly, AnomalyKind, Severity
from selfheal.settings import AuthMode, Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store

START = datetime(2024, 5, 1, 1, tzinfo=UTC)  # the night: little traffic, so the logged hour is a thin history
ONSET = START + timedelta(minutes=60)


def _payment_5xx(path: Path, fault: FaultSpec | None) -> list[Anomaly]:
    store = Store.open(f"sqlite:///{path / 'thin.db'}")
    faults = (fault,) if fault else ()
    load_into(store, simulate(SimConfig(seed=3, merchants=24, start=START, minutes=120, faults=faults)))
    settings = Settings(data_dir=path, auth_mode=AuthMode.open)
    found = reason(
        observe(store, ONSET + timedelta(minutes=60), 60, settings), ReasonContext(settings=settings)
    )
    store.dispose()
    return [
        a
        for a in found.anomalies
        if a.kind == AnomalyKind.hard and "payments/authorize" in a.series and "5xx" in a.series
    ]


def test_the_highest_plausible_rate_of_a_clean_thin_history() -> None:
    assert 0.007 < highest_plausible_rate(0, 911, 0.001) < 0.008
    assert highest_plausible_rate(0, 0, 0.001) == 1.0
    assert highest_plausible_rate(5, 100, 0.001) > 0.1


def test_a_diluted_failure_far_above_a_thin_history_reaches_medium(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    flapping = FaultSpec(
        name="payment_provider_errors",
        start=ONSET,
        duration_minutes=60,
        stages=("wave_1", "wave_2"),
        burst_minutes=5,
        pause_minutes=5,
    )
    found = _payment_5xx(tmp_path_factory.mktemp("flap"), flapping)
    assert found, "the payment failure is found"
    a = found[0]
    assert a.observed < 0.5 and "fewer than 1000" in a.detail  # diluted, on a thin history
    assert a.severity == Severity.medium, (a.severity, a.detail)
    assert "highest normal rate" in a.detail


def test_a_quiet_thin_history_raises_nothing_on_payments(tmp_path_factory: pytest.TempPathFactory) -> None:
    assert not [a for a in _payment_5xx(tmp_path_factory.mktemp("quiet"), None) if a.severity != Severity.low]
