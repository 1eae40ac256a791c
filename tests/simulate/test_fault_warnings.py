"""A fault that has no effect is said out loud: on stderr and in the ground truth's warnings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from selfheal.cli import app
from selfheal.simulate import FaultSpec, SimConfig, simulate
from selfheal.simulate.engine import fault_warnings
from selfheal.simulate.model import FaultTruth, Merchant

T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


def _merchant(mid: str, per_minute: float) -> Merchant:
    return Merchant(
        id=mid,
        name=mid,
        stage="wave_1",
        attempts_per_minute=per_minute,
        success_rate=0.6,
        aov=50.0,
        currency="USD",
    )


def _fault(merchants: tuple[str, ...], lost: int) -> FaultTruth:
    return FaultTruth(
        name="webhook_403",
        category="webhook_delivery",
        onset=T0,
        end=T0 + timedelta(minutes=30),
        merchants=merchants,
        stages=("wave_1",),
        lost_orders=lost,
        lost_revenue=lost * 50.0,
        per_merchant={},
    )


def test_fault_warnings_name_every_kind_of_no_effect() -> None:
    shops = (_merchant("m001", 0.02), _merchant("m002", 2.0))
    (nobody,) = fault_warnings((_fault((), 0),), shops)
    assert "no merchant of the 2 simulated is on stage(s) wave_1" in nobody
    (tiny,) = fault_warnings((_fault(("m001",), 0),), shops)
    assert "expect 0.36 orders in its 30 minutes (under 1)" in tiny
    (none_lost,) = fault_warnings((_fault(("m002",), 0),), shops)
    assert "lost no orders" in none_lost
    assert fault_warnings((_fault(("m002",), 12),), shops) == ()


def test_a_fault_on_nobody_warns_in_the_truth_and_on_stderr(tmp_path: Path) -> None:
    config = SimConfig(
        seed=7,
        merchants=5,
        start=T0,
        minutes=90,
        faults=(FaultSpec(name="webhook_403", start=T0 + timedelta(minutes=30), merchants=("m999",)),),
    )
    assert any("no merchant" in w for w in simulate(config).truth.warnings)

    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--merchants",
            "5",
            "--hours",
            "1.5",
            "--start",
            T0.isoformat(),
            "--fault",
            "webhook_403@30+30:#m999",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "warning: fault webhook_403 has no effect" in result.stderr
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["warnings"] and "no merchant" in truth["warnings"][0]
