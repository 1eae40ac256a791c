"""Issue #14 item 4: money by failure shape. A loss that shows as failed requests is counted from them (far less
noise than expected minus actual orders over every attempt); a loss with a silent part (slowness, abandonment)
keeps expected minus actual orders."""

from __future__ import annotations

from datetime import timedelta

from kit import AS_OF, WINDOW, anomaly, baseline, metrics, observation

from selfheal.decide import assess
from selfheal.decide.model import Category
from selfheal.observe.model import Observation, RollupRow
from selfheal.reason.model import Findings, Severity
from selfheal.settings import Settings
from selfheal.signals import N_BUCKETS

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")
START = AS_OF - timedelta(minutes=WINDOW)
WEBHOOK = "POST /webhooks/order-created"
CHECKOUT = "POST /api/checkout"


def _rows(
    merchant: str, stage: str, source: str, endpoint: str, ok: int, failed: int, cls: str
) -> list[RollupRow]:
    out = []
    for i in range(WINDOW):
        for status_class, n in (("2xx", ok), (cls, failed)):
            if n:
                out.append(
                    RollupRow(
                        minute=START + timedelta(minutes=i),
                        merchant_id=merchant,
                        migration_stage=stage,
                        source=source,
                        endpoint=endpoint,
                        status_class=status_class,
                        count=n,
                        latency_count=n,
                        latency_sum=100.0 * n,
                        latency_max=150.0,
                        latency_hist=(0,) * N_BUCKETS,
                    )
                )
    return out


def _obs(orders_a: list[int], rollups: list[RollupRow]) -> Observation:
    # A: 20 attempts a minute at 50 % conversion before; E (legacy) is the clean reference.
    rows = metrics("A", "wave_1", [20] * WINDOW, orders_a, 40.0) + metrics(
        "E", "legacy", [20] * WINDOW, [10] * WINDOW, 40.0
    )
    bases = [baseline("A", "wave_1", 28800, 14400, 576000.0), baseline("E", "legacy", 28800, 14400, 576000.0)]
    obs = observation(rows, bases, {"A": "wave_1", "E": "legacy"})
    return obs.model_copy(update={"rollups": tuple(rollups)})


def _failing(metric: str, endpoint: str, status: str, source: str, **kw: object):  # type: ignore[no-untyped-def]
    a = anomaly("f", metric, endpoint=endpoint, status=status, stages=("wave_1",), merchants=("A",), **kw)  # type: ignore[arg-type]
    return a.model_copy(update={"dimensions": a.dimensions.model_copy(update={"sources": (source,)})})


def test_failed_order_webhooks_are_the_lost_orders() -> None:
    # 5 of A's ~10 webhooks a minute fail (5 orders a minute since the onset). A's orders also happen to run low by
    # chance: 4.5 a minute instead of 5 => expected minus actual says 5.5 a minute (within its noise of the
    # counted 5); the counted loss is the loss.
    webhooks = _rows("A", "wave_1", "webhook", WEBHOOK, 4, 5, "5xx") + _rows(
        "E", "legacy", "webhook", WEBHOOK, 10, 0, "5xx"
    )
    obs = _obs([5, 4] * (WINDOW // 2), webhooks)
    failing = _failing("error_rate", WEBHOOK, "5xx", "webhook", severity=Severity.critical)
    a = assess(obs, Findings(anomalies=(failing,)), SETTINGS)
    assert a is not None and a.root_cause.category == Category.webhook_delivery
    assert a.risk_report is not None
    assert abs(a.risk_report.lost_orders.value - 5 * a.risk_report.minutes_affected) < 2  # since the onset
    assert (
        a.risk_report.lost_orders.high - a.risk_report.lost_orders.low < 100
    )  # far tighter than +-1.645 x sqrt(A p q)
    assert abs(a.risk_report.lost_revenue.value - 5 * a.risk_report.minutes_affected * 40) < 100
    assert any("counted from the failed requests" in x for x in a.assumptions)


def test_failures_that_explain_only_part_of_the_loss_keep_expected_minus_actual() -> None:
    # Only 1 webhook a minute fails but orders fell from 10 to 3 a minute: something silent loses the rest.
    webhooks = _rows("A", "wave_1", "webhook", WEBHOOK, 3, 1, "5xx") + _rows(
        "E", "legacy", "webhook", WEBHOOK, 10, 0, "5xx"
    )
    obs = _obs([3] * WINDOW, webhooks)
    failing = _failing("error_rate", WEBHOOK, "5xx", "webhook", severity=Severity.critical)
    a = assess(obs, Findings(anomalies=(failing,)), SETTINGS)
    assert a is not None and a.risk_report is not None
    assert abs(a.risk_report.lost_orders.value - 7 * a.risk_report.minutes_affected) < 2
    assert not any("counted from the failed requests" in x for x in a.assumptions)


def test_slow_checkout_is_costed_as_expected_minus_actual_not_by_its_timeouts() -> None:
    # Checkout slow: 1 request a minute times out (504) but shoppers abandon silently: orders 10 -> 6 a minute.
    checkouts = _rows("A", "wave_1", "api", CHECKOUT, 19, 1, "5xx") + _rows(
        "E", "legacy", "api", CHECKOUT, 20, 0, "5xx"
    )
    obs = _obs([6] * WINDOW, checkouts)
    slow = _failing("latency_p95", CHECKOUT, "", "api", severity=Severity.critical)
    timeouts = _failing("error_rate", CHECKOUT, "5xx", "api")
    a = assess(obs, Findings(anomalies=(slow, timeouts)), SETTINGS)
    assert a is not None and a.root_cause.category == Category.checkout_latency
    assert (
        a.risk_report is not None
        and abs(a.risk_report.lost_orders.value - 4 * a.risk_report.minutes_affected) < 2
    )
