"""A failure confined to one merchant is found even when the endpoint-wide rate dilutes it below notice (#14).

One large merchant among 24 has about a sixth of its payment requests answered 503 by the provider (payment logs
carry no stage): the endpoint-wide 5xx share barely moves, yet the merchant loses orders every few minutes. The
detector names that merchant, and decide opens an incident on it instead of staying silent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from selfheal.decide import assess
from selfheal.observe import observe
from selfheal.observe.model import Observation
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import Findings, Severity
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, make_merchants, simulate
from selfheal.simulate.model import SignalVariant
from selfheal.store import Store

START = datetime(2024, 3, 4, tzinfo=UTC)
ONSET = START + timedelta(hours=26, minutes=18)
SEED, MERCHANTS, SIGMA = 9, 24, 1.2


def _largest_of(stage: str) -> str:
    shops = [m for m in make_merchants(MERCHANTS, SEED, "USD", SIGMA) if m.stage == stage]
    return max(shops, key=lambda m: m.attempts_per_minute).id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Settings, str]:
    path: Path = tmp_path_factory.mktemp("confined")
    merchant = _largest_of("wave_1")
    cfg = SimConfig(
        seed=SEED,
        merchants=MERCHANTS,
        start=START,
        minutes=26 * 60 + 18 + 60,
        logs_from=ONSET - timedelta(hours=2),
        traffic_sigma=SIGMA,
        variant=SignalVariant(stage_on_payment_logs=False),
        faults=(
            FaultSpec(
                name="payment_provider_errors",
                start=ONSET,
                duration_minutes=60,
                merchants=(merchant,),
                intensity=0.17,
                ramp_minutes=6,
                statuses=(503,),
            ),
        ),
    )
    settings = Settings(data_dir=path, database_url=f"sqlite:///{path / 'sim.db'}", dense_embeddings=False)
    store = Store.open(settings.resolved_database_url())
    load_into(store, simulate(cfg))
    return store, settings, merchant


def _look(world: tuple[Store, Settings, str], as_of: datetime) -> tuple[Observation, Findings]:
    store, settings, _ = world
    obs = observe(store, as_of, 60, settings)
    return obs, reason(obs, ReasonContext(settings=settings))


def test_the_merchant_is_named_though_the_endpoint_wide_rate_shows_nothing(world) -> None:  # type: ignore[no-untyped-def]
    _, _, merchant = world
    _, findings = _look(world, ONSET + timedelta(minutes=60))
    payment = [
        a for a in findings.anomalies if a.metric == "error_rate" and "payment" in a.dimensions.sources
    ]
    assert payment, [a.series for a in findings.anomalies]
    a = payment[0]
    # Not the endpoint-wide rate: the cell confined to the merchant, with its stage from the merchant's rows.
    assert a.dimensions.merchants == (merchant,)
    assert merchant in a.series
    assert a.severity in (Severity.high, Severity.critical)
    assert a.observed > 10 * a.expected


def test_decide_opens_an_incident_on_that_merchant(world) -> None:  # type: ignore[no-untyped-def]
    _, settings, merchant = world
    obs, findings = _look(world, ONSET + timedelta(minutes=60))
    a = assess(obs, findings, settings)
    assert a is not None
    assert a.root_cause.category.value == "payment_provider"
    assert [m.merchant_id for m in a.blast_radius.merchants] == [merchant]
    assert a.risk_report is not None and a.risk_report.lost_orders.value >= settings.decide_min_lost_orders


def test_no_serious_anomaly_before_the_onset(world) -> None:  # type: ignore[no-untyped-def]
    _, findings = _look(world, ONSET)
    assert not [a for a in findings.anomalies if a.severity in (Severity.high, Severity.critical)]
