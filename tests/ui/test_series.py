"""Chart series: expected orders from the baseline, the loss accumulating, an endpoint's error rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.observe.model import MerchantBaseline, MetricRow, Observation, RollupRow, SignalCounts
from selfheal.observe.series import error_series, kpi_series

T0 = datetime(2024, 3, 6, 11, 0, tzinfo=UTC)


def _metric(minute: int, stage: str, attempts: int, orders: int, revenue: float) -> MetricRow:
    return MetricRow(
        ts=T0 + timedelta(minutes=minute),
        merchant_id=f"m-{stage}",
        migration_stage=stage,
        interval_seconds=60,
        checkout_attempts=attempts,
        orders=orders,
        revenue=revenue,
    )


def _rollup(minute: int, endpoint: str, status_class: str, count: int, stage: str = "wave_1") -> RollupRow:
    return RollupRow(
        minute=T0 + timedelta(minutes=minute),
        merchant_id="m1",
        migration_stage=stage,
        source="webhook",
        endpoint=endpoint,
        status_class=status_class,
        count=count,
        latency_count=count,
        latency_sum=0.0,
        latency_max=0.0,
        latency_hist=(),
    )


def _obs(metrics: tuple[MetricRow, ...] = (), rollups: tuple[RollupRow, ...] = ()) -> Observation:
    return Observation(
        as_of=T0 + timedelta(minutes=3),
        window_start=T0,
        window_minutes=3,
        baseline_start=T0 - timedelta(days=1),
        counts=SignalCounts(tickets=0, log_events=0, metric_points=len(metrics)),
        rollups=rollups,
        metrics=metrics,
        tickets=(),
        payment_events=(),
        baselines=(
            MerchantBaseline(
                merchant_id="m-wave_1",
                migration_stage="wave_1",
                minutes=1440,
                checkout_attempts=1000,
                orders=500,
                revenue=25_000.0,
                currency="EUR",
            ),
            MerchantBaseline(
                merchant_id="m-legacy",
                migration_stage="legacy",
                minutes=1440,
                checkout_attempts=1000,
                orders=800,
                revenue=40_000.0,
                currency="EUR",
            ),
        ),
        merchant_stages={"m-wave_1": "wave_1", "m-legacy": "legacy"},
    )


def test_expected_orders_and_loss_accumulate_from_the_baseline() -> None:
    obs = _obs(
        (
            _metric(0, "wave_1", 10, 5, 250.0),
            _metric(1, "wave_1", 10, 1, 50.0),
            _metric(2, "wave_1", 20, 0, 0.0),
            _metric(0, "legacy", 10, 8, 400.0),
        )
    )
    series = kpi_series(obs, stage="wave_1")
    assert series.baseline_success_rate == 0.5
    assert series.baseline_average_order_value == 50.0
    assert series.currency == "EUR"
    assert [p.expected_orders for p in series.points] == [5.0, 5.0, 10.0]
    assert [p.lost_orders_cumulative for p in series.points] == [0.0, 4.0, 14.0]
    assert [p.lost_revenue_cumulative for p in series.points] == [0.0, 200.0, 700.0]
    whole = kpi_series(obs)
    assert whole.points[0].checkout_attempts == 20  # both stages in the first minute
    assert whole.baseline_success_rate == 1300 / 2000


def test_no_baseline_means_no_expectation_rather_than_a_guess() -> None:
    obs = _obs((_metric(0, "pilot", 10, 5, 250.0),))
    series = kpi_series(obs, stage="pilot", default_currency="USD")
    assert series.baseline_success_rate is None
    assert series.points[0].expected_orders is None
    assert series.points[0].lost_revenue_cumulative is None
    assert series.currency == "USD"


def test_error_rate_of_one_endpoint_and_status_class() -> None:
    ep = "POST /webhooks/order-created"
    obs = _obs(
        rollups=(
            _rollup(0, ep, "2xx", 90),
            _rollup(0, ep, "4xx", 10),
            _rollup(0, "GET /api/cart", "5xx", 50),
            _rollup(1, ep, "2xx", 50),
            _rollup(1, ep, "4xx", 40),
            _rollup(1, ep, "5xx", 10),
        )
    )
    series = error_series(obs, source="webhook", endpoint=ep, status_class="4xx")
    assert [(p.requests, p.errors) for p in series.points] == [(100, 10), (100, 40)]
    assert [p.error_rate for p in series.points] == [0.1, 0.4]
    both = error_series(obs, endpoint=ep)
    assert [p.errors for p in both.points] == [10, 50]
    assert error_series(obs, stage="legacy").points == ()


def test_loss_accumulates_from_since_with_an_interval_and_a_band() -> None:
    """Before `since` nothing is counted; from it, the loss is expected minus actual with a 90 % interval
    around it, and every minute has a band around its expected orders."""
    metrics = (
        _metric(0, "wave_1", 100, 20, 1000.0),  # 30 orders short, but before the onset
        _metric(1, "wave_1", 100, 50, 2500.0),  # as expected
        _metric(2, "wave_1", 100, 10, 500.0),  # 40 short
    )
    series = kpi_series(_obs(metrics), stage="wave_1", since=T0 + timedelta(minutes=1, seconds=30))
    first, second, third = series.points
    assert first.lost_orders_cumulative is None and first.lost_revenue_cumulative is None
    assert second.lost_orders_cumulative == 0.0
    assert third.lost_orders_cumulative == 40.0
    assert third.lost_revenue_cumulative == 2000.0  # 40 orders x AOV 50
    low, high = third.lost_orders_cumulative_low, third.lost_orders_cumulative_high
    assert low is not None and high is not None and low < 40.0 < high
    # p = 0.5 over 1000 baseline attempts: sd^2 = 2 x 100 x 0.25 + 200^2 x 0.25 / 1000 = 60
    assert abs((high - 40.0) - 1.6449 * 60**0.5) < 0.01
    for p in series.points:
        assert p.expected_low is not None and p.expected_high is not None
        assert p.expected_low < 50.0 < p.expected_high
    assert series.loss_so_far is not None
    assert series.loss_so_far.lost_revenue == 2000.0
    assert series.loss_so_far.until == T0 + timedelta(minutes=2)


def test_merchant_filter_keeps_only_those_merchants() -> None:
    metrics = (_metric(0, "wave_1", 100, 50, 2500.0), _metric(0, "legacy", 100, 10, 500.0))
    series = kpi_series(_obs(metrics), merchants=["m-legacy"])
    assert [p.checkout_attempts for p in series.points] == [100]
    assert series.merchants == ("m-legacy",)
    assert series.baseline_success_rate == kpi_series(_obs(metrics), stage="legacy").baseline_success_rate
