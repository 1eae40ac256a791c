"""Gaps in one feed must not be read as failures on their edges (ninth pass, tuned families `gap_to_onset` and
`merchant_gap`): a payment whose order.created fell into a gap of the order webhooks' logs is no missing order,
a handful of payments without order.created at the prior's rate places no cause, and the minutes one busy
merchant's KPI feed dropped are estimated like the minutes nobody's feed reported."""

from __future__ import annotations

from datetime import timedelta

from kit import AS_OF, SIGNATURES, WINDOW, api_rollup, baseline, gap, metrics, observation

from selfheal.decide import assess
from selfheal.decide.facts import soft_failure_facts
from selfheal.observe.gaps import kpi_gap_minutes, kpi_missing_by_merchant, log_gap_minutes
from selfheal.observe.model import Observation, PaymentOrderEvent
from selfheal.reason.detect.pairing import pair_payments
from selfheal.reason.model import Findings
from selfheal.settings import Settings

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")
START = AS_OF - timedelta(minutes=WINDOW)
GRACE = timedelta(minutes=5)


def _event(minute: float, event: str, ref: str) -> PaymentOrderEvent:
    return PaymentOrderEvent(
        ts=START + timedelta(minutes=minute),
        merchant_id="A",
        migration_stage="wave_1",
        event=event,
        correlation_id=ref,
    )


def test_a_payment_whose_order_fell_into_a_webhook_log_gap_is_not_judged() -> None:
    # Orders are logged 10 s after their payments; the webhook logs are missing from minute 40 to 47.
    hole = tuple(START + timedelta(minutes=i) for i in range(40, 47))
    events = []
    for i, minute in enumerate([10.0, 20.0, 30.0, 39.9, 47.5]):
        events.append(_event(minute, "payment.succeeded", f"p{i}"))
        if not 40 <= minute + 1 / 6 < 47:
            events.append(_event(minute + 1 / 6, "order.created", f"p{i}"))
    (blind,) = pair_payments(tuple(events), START, AS_OF, GRACE)
    assert (blind.payments, blind.missing_orders) == (5, 1)
    (seen,) = pair_payments(tuple(events), START, AS_OF, GRACE, hole)
    # Not judged: 39.9, whose grace reaches the gap's minutes (its order may have been logged there).
    assert (seen.payments, seen.missing_orders) == (4, 0)


def _webhook_logs(minutes: list[int]) -> Observation:
    """Order webhook logs of merchant A, 20 records in each of `minutes` (window minutes)."""
    rows = [
        api_rollup("A", "wave_1", START + timedelta(minutes=i), "2xx", 20, "POST /webhooks/order-created")
        for i in minutes
    ]
    obs = observation([], [], {"A": "wave_1"})
    return obs.model_copy(update={"rollups": tuple(r.model_copy(update={"source": "webhook"}) for r in rows)})


def test_only_a_webhook_log_gap_the_records_came_back_after_excuses_payments() -> None:
    resumed = _webhook_logs([*range(0, 40), *range(47, WINDOW)])
    hole = tuple(START + timedelta(minutes=i) for i in range(40, 47))
    assert log_gap_minutes(resumed, None, ("webhook",)) == hole
    assert log_gap_minutes(resumed, None, ("webhook",), resumed_only=True) == hole
    # The order webhooks stopped at minute 40 and have not come back: that silence may be the failure itself
    # (orders no longer delivered), so the payments in it are still judged.
    stopped = _webhook_logs(list(range(0, 40)))
    assert len(log_gap_minutes(stopped, None, ("webhook",))) == WINDOW - 40
    assert log_gap_minutes(stopped, None, ("webhook",), resumed_only=True) == ()


def test_payments_without_orders_at_the_prior_rate_are_no_fact() -> None:
    noise = (gap("A", "headless", 321, 1), gap("B", "headless", 200, 1), gap("C", "headless", 63, 1))
    assert soft_failure_facts(noise) == []
    (real,) = soft_failure_facts((gap("A", "wave_1", 321, 9), gap("B", "wave_1", 200, 4)))
    assert real.stages == ("wave_1",) and real.count == 13


SLOW_FROM = 18
OWN_GAP = range(30, 42)
TRUE_LOSS = 5 * (WINDOW - SLOW_FROM)
"""A takes 20 checkout attempts a minute and 10 orders; from minute 18 on, 5 a minute fewer."""


def _one_feed_drops(gap_minutes: range = OWN_GAP) -> Observation:
    slow_orders = [10 if i < SLOW_FROM else (4 if i % 2 else 6) for i in range(WINDOW)]
    rows = metrics("A", "wave_1", [20] * WINDOW, slow_orders, 50.0)
    rows = [r for r in rows if not any(r.ts == START + timedelta(minutes=i) for i in gap_minutes)]
    rows += metrics("E", "legacy", [20] * WINDOW, [10] * WINDOW, 50.0)
    rows += metrics("F", "legacy", [2] * WINDOW, [1] * WINDOW, 50.0)
    bases = [
        baseline(m, s, n * 1440, n // 2 * 1440, n // 2 * 1440 * 50.0)
        for m, s, n in (("A", "wave_1", 20), ("E", "legacy", 20), ("F", "legacy", 2))
    ]
    return observation(rows, bases, {"A": "wave_1", "E": "legacy", "F": "legacy"})


def test_minutes_one_busy_merchants_feed_dropped_are_missing_data() -> None:
    obs = _one_feed_drops()
    onset = START + timedelta(minutes=SLOW_FROM)
    assert kpi_gap_minutes(obs, onset) == ()
    assert kpi_missing_by_merchant(obs, onset) == {"A": len(OWN_GAP), "E": 0, "F": 0}
    assert kpi_missing_by_merchant(_one_feed_drops(range(0)), onset) == {"A": 0, "E": 0, "F": 0}


def test_the_loss_in_one_merchants_dropped_minutes_is_estimated() -> None:
    a = assess(_one_feed_drops(), Findings(anomalies=SIGNATURES["checkout_latency"]), SETTINGS)
    assert a is not None and a.risk_report is not None
    report = a.risk_report
    # Counting only A's 30 reported minutes since the onset would say about 150 orders.
    assert abs(report.lost_orders.value - TRUE_LOSS) < 5
    assert report.lost_orders.low <= TRUE_LOSS <= report.lost_orders.high
    assert any("KPI feed of A dropped minutes" in x for x in a.assumptions)
