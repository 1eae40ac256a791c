"""Minutes without KPI points are missing data, not minutes without shoppers: the loss in them is estimated
from the covered minutes, the interval widens for it, and the assessment says so (an exporter that drops
minutes or a collector that restarts must not halve the money at risk)."""

from __future__ import annotations

from datetime import timedelta

from kit import AS_OF, SIGNATURES, WINDOW, baseline, metrics, observation

from selfheal.decide import assess
from selfheal.decide.impact import loss_between, loss_rate_since
from selfheal.observe.gaps import kpi_gap_minutes
from selfheal.observe.model import Observation
from selfheal.reason.model import Findings
from selfheal.settings import Settings

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")
START = AS_OF - timedelta(minutes=WINDOW)
SLOW_FROM = 18
"""Minute of the window the checkout slows down at (the latency anomaly's onset): A converts 0.25, not 0.5."""
GAP = range(30, 42)
"""Minutes of the window without any KPI point (12 of the 42 since the onset)."""
TRUE_LOSS = 5 * (WINDOW - SLOW_FROM)
"""A takes 20 checkout attempts a minute; from the slowdown on it takes 5 orders a minute fewer than 10."""


def _world(gap: range = GAP) -> Observation:
    slow_orders = [10 if i < SLOW_FROM else (4 if i % 2 else 6) for i in range(WINDOW)]
    rows = metrics("A", "wave_1", [20] * WINDOW, slow_orders, 50.0)
    rows += metrics("E", "legacy", [20] * WINDOW, [10] * WINDOW, 50.0)
    kept = [r for r in rows if not any(r.ts == START + timedelta(minutes=i) for i in gap)]
    bases = [
        baseline("A", "wave_1", 20 * 1440, 10 * 1440, 10 * 1440 * 50.0),
        baseline("E", "legacy", 20 * 1440, 10 * 1440, 10 * 1440 * 50.0),
    ]
    return observation(kept, bases, {"A": "wave_1", "E": "legacy"})


def _assess(obs: Observation):  # type: ignore[no-untyped-def]
    a = assess(obs, Findings(anomalies=SIGNATURES["checkout_latency"]), SETTINGS)
    assert a is not None and a.risk_report is not None
    return a


def test_minutes_without_any_kpi_point_are_found_from_the_onset() -> None:
    obs = _world()
    onset = START + timedelta(minutes=SLOW_FROM)
    assert kpi_gap_minutes(obs, onset) == tuple(START + timedelta(minutes=i) for i in GAP)
    assert kpi_gap_minutes(obs, START + timedelta(minutes=45)) == ()
    assert kpi_gap_minutes(_world(range(0)), onset) == ()


def test_the_loss_in_minutes_without_kpi_points_is_estimated_and_the_interval_covers_the_loss() -> None:
    full = _assess(_world(range(0))).risk_report
    a = _assess(_world())
    report = a.risk_report
    assert report is not None and full is not None
    assert abs(full.lost_orders.value - TRUE_LOSS) < 1
    # Counting only the 30 covered minutes would say about 150 orders with an interval well under 210.
    assert abs(report.lost_orders.value - TRUE_LOSS) < 5
    assert report.lost_orders.low <= TRUE_LOSS <= report.lost_orders.high
    assert report.lost_orders.high - report.lost_orders.low > full.lost_orders.high - full.lost_orders.low
    assert abs(report.lost_revenue.value - TRUE_LOSS * 50.0) < 300
    assert report.expected_orders - report.actual_orders == report.lost_orders.value


def test_the_assessment_says_which_minutes_had_no_kpi_points() -> None:
    a = _assess(_world())
    first, last = START + timedelta(minutes=GAP[0]), START + timedelta(minutes=GAP[-1] + 1)
    note = next(x for x in a.assumptions if "no KPI points" in x)
    assert f"12 of {WINDOW - SLOW_FROM} minutes" in note and f"{first:%H:%M}-{last:%H:%M}" in note
    assert "other 30 minutes" in note
    assert any("without KPI points is estimated" in x for x in a.uncertainties)
    assert not any("no KPI points" in x for x in _assess(_world(range(0))).assumptions)


def test_failed_requests_in_minutes_without_logs_are_estimated_from_the_other_minutes() -> None:
    # The cart failure of test_money_shape (240 orders lost from its ramp on, 5 a minute at full strength), with
    # no request logs at all in 6 of its minutes: the failed requests counted in the other minutes stand for them
    # too (counting only the logged minutes says about 210).
    from test_money_shape import RAMP_FROM, _cart_anomaly, _ramp_world

    obs = _ramp_world()
    holes = {START + timedelta(minutes=i) for i in range(30, 36)}
    logged = tuple(r for r in obs.rollups if r.minute not in holes)
    a = assess(obs.model_copy(update={"rollups": logged}), _cart_anomaly(), SETTINGS)
    assert a is not None and a.risk_report is not None
    report = a.risk_report
    assert report.onset == START + timedelta(minutes=RAMP_FROM)
    assert any("counted from the failed requests" in x for x in a.assumptions)
    assert abs(report.lost_orders.value - 240) < 5
    assert report.lost_orders.low <= 240 <= report.lost_orders.high
    note = next(x for x in a.assumptions if "no api logs" in x)
    assert "6 minute(s)" in note and "other 44 minutes" in note


def test_the_incidents_rates_leave_out_the_minutes_without_kpi_points() -> None:
    # The rate an open incident and an action's outcome are judged on: 5 orders a minute lost, 300 an hour,
    # measured over the 30 minutes that have KPI points (over all 42 it would look like 214 an hour, a recovery
    # that did not happen); the loss so far puts the measured rate in the 12 missing minutes too.
    obs, onset = _world(), START + timedelta(minutes=SLOW_FROM)
    span = loss_between(obs, {"A"}, onset, AS_OF)
    assert span.missing_minutes == len(GAP) and span.minutes == WINDOW - SLOW_FROM - len(GAP)
    assert abs(span.lost_orders_per_hour - 300) < 1
    assert abs(span.lost_orders * span.whole_span_share - TRUE_LOSS) < 1
    assert abs(loss_rate_since(obs, {"A"}, onset).lost_orders_per_hour - 300) < 1
    whole = loss_between(_world(range(0)), {"A"}, onset, AS_OF)
    assert whole.missing_minutes == 0 and whole.whole_span_share == 1.0
    assert abs(whole.lost_orders_per_hour - 300) < 1
