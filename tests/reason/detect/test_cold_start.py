"""With no or thin history, a normal decline rate must not raise a high alarm, and the doubt is stated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.reason.detect.anomalies import THIN_BASELINE_TRIALS
from selfheal.reason.model import AnomalyKind, Severity
from selfheal.settings import AuthMode, Settings
from selfheal.simulate import SimConfig, load_into, simulate
from selfheal.store import Store

START = datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def first_hours(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Settings]:
    path: Path = tmp_path_factory.mktemp("cold")
    store = Store.open(f"sqlite:///{path / 'cold.db'}")
    load_into(store, simulate(SimConfig(seed=5, merchants=30, start=START, minutes=3 * 60)))
    return store, Settings(data_dir=path, auth_mode=AuthMode.open)


def test_first_hour_of_data_raises_no_high_alarm_and_says_it_is_unsure(first_hours) -> None:  # type: ignore[no-untyped-def]
    store, settings = first_hours
    obs = observe(store, START + timedelta(minutes=60), 60, settings)
    found = reason(obs, ReasonContext(settings=settings)).anomalies
    assert not [a for a in found if a.severity in (Severity.high, Severity.critical)], [
        (a.series, a.severity, a.detail) for a in found
    ]
    # The ordinary card declines (402) on the payment endpoint look odd against the prior, but the finding,
    # if any, is low and says why it is uncertain.
    declines = [a for a in found if a.kind == AnomalyKind.hard and "payments/authorize" in a.series]
    assert declines, [a.series for a in found]
    for a in declines:
        assert a.severity == Severity.low
        assert "uncertain" in a.detail
        assert str(THIN_BASELINE_TRIALS) in a.detail


def test_with_two_hours_of_history_the_decline_rate_is_learned(first_hours) -> None:  # type: ignore[no-untyped-def]
    store, settings = first_hours
    obs = observe(store, START + timedelta(minutes=180), 60, settings)
    found = reason(obs, ReasonContext(settings=settings)).anomalies
    assert not [a for a in found if "payments/authorize" in a.series and a.severity != Severity.low]
