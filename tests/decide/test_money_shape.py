"""Issue #14, money for every fault shape: a failure that ramps up is costed from its first failing minutes (its
anomaly becomes significant minutes later), and with two causes a merchant's money belongs to the cause whose
stage holds it, not to another cause whose signal names it for one ordinary failure."""

from __future__ import annotations

from datetime import timedelta

from kit import AS_OF, SIGNATURES, WINDOW, anomaly, api_rollup, baseline, gap, metrics, observation

from selfheal.decide import assess
from selfheal.decide.model import Category
from selfheal.observe.model import MerchantBaseline, MetricRow, Observation
from selfheal.reason.model import Findings
from selfheal.settings import Settings
from selfheal.signals import N_BUCKETS

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")
CART = "GET /api/cart"
START = AS_OF - timedelta(minutes=WINDOW)
RAMP_FROM = 10
"""The cart failures begin at this minute of the window and rise by 2 failing requests a minute to 10 of 20."""
ANOMALY_AT = 20
"""The anomaly's onset (minute of the window): where the share became significant."""


def _failing(i: int, ramp_from: int) -> int:
    return 0 if i < ramp_from else min(10, 2 * (i - ramp_from + 1))


def _a_against_clean_e(a_orders: list[int]) -> tuple[list[MetricRow], list[MerchantBaseline]]:
    """KPI rows and baselines: A (wave_1) and E (legacy) take 20 checkout attempts a minute at a baseline
    conversion of 0.5 (order value 50); A's orders per minute are `a_orders`, E's stay at 10."""
    rows = metrics("A", "wave_1", [20] * WINDOW, a_orders, 50.0)
    rows += metrics("E", "legacy", [20] * WINDOW, [10] * WINDOW, 50.0)
    bases = [
        baseline("A", "wave_1", 20 * 1440, 10 * 1440, 10 * 1440 * 50.0),
        baseline("E", "legacy", 20 * 1440, 10 * 1440, 10 * 1440 * 50.0),
    ]
    return rows, bases


def _ramp_world(ramp_from: int = RAMP_FROM, stray_at: int | None = None) -> Observation:
    """A (wave_1): 20 cart requests and checkout attempts a minute, baseline conversion 0.5; its carts fail
    (409) from minute `ramp_from`, rising to half of them, and each failed cart is an attempt that cannot
    convert. E (legacy): the clean reference. `stray_at`: one ordinary failed cart at A long before."""
    failing = [_failing(i, ramp_from) for i in range(WINDOW)]
    if stray_at is not None:
        failing[stray_at] = 1
    rows, bases = _a_against_clean_e([10 - f // 2 for f in failing])
    rollups = []
    for i in range(WINDOW):
        ts = START + timedelta(minutes=i)
        rollups.append(api_rollup("A", "wave_1", ts, "2xx", 20 - failing[i]))
        if failing[i]:
            rollups.append(api_rollup("A", "wave_1", ts, "4xx", failing[i]))
        rollups.append(api_rollup("E", "legacy", ts, "2xx", 20))
    obs = observation(rows, bases, {"A": "wave_1", "E": "legacy"})
    return obs.model_copy(update={"rollups": tuple(rollups)})


def _cart_anomaly() -> Findings:
    a = anomaly(
        "a-cart",
        "error_rate",
        endpoint=CART,
        status="4xx",
        stages=("wave_1",),
        merchants=("A",),
        onset_minutes_ago=WINDOW - ANOMALY_AT,
    )
    a = a.model_copy(update={"dimensions": a.dimensions.model_copy(update={"sources": ("api",)})})
    return Findings(anomalies=(a,))


def test_a_ramped_failure_is_costed_from_its_first_failing_minute_not_from_its_anomaly() -> None:
    a = assess(_ramp_world(), _cart_anomaly(), SETTINGS)
    assert a is not None and a.root_cause.category == Category.cart_sync
    report = a.risk_report
    assert report is not None
    # Counted from the anomaly's onset the loss would be 40 minutes x 5 orders = 200; the ramp's 10 minutes
    # before it lost (2 + 4 + 6 + 8 + 10 x 6) / 2 = 40 more.
    assert report.onset == START + timedelta(minutes=RAMP_FROM)
    assert report.minutes_affected == WINDOW - RAMP_FROM
    assert abs(report.lost_orders.value - 240) < 1
    assert abs(report.lost_revenue.value - 240 * 50.0) < 50
    assert any(
        "first minutes" in x and f"{START + timedelta(minutes=RAMP_FROM):%H:%M}" in x for x in a.assumptions
    )


def test_one_ordinary_failure_long_before_does_not_move_the_start() -> None:
    a = assess(_ramp_world(stray_at=2), _cart_anomaly(), SETTINGS)
    assert a is not None and a.risk_report is not None
    assert a.risk_report.onset == START + timedelta(minutes=RAMP_FROM)


def test_no_requests_logged_before_the_anomaly_keeps_its_onset() -> None:
    # Request logs of A only from the anomaly's onset on (logs kept for a shorter span than the KPIs).
    obs = _ramp_world()
    start = START + timedelta(minutes=ANOMALY_AT)
    logged = tuple(r for r in obs.rollups if r.merchant_id != "A" or r.minute >= start)
    a = assess(obs.model_copy(update={"rollups": logged}), _cart_anomaly(), SETTINGS)
    assert a is not None and a.risk_report is not None
    assert a.risk_report.onset == start


def test_no_failure_before_the_anomaly_keeps_its_onset() -> None:
    # The same failure starting where the anomaly says it does.
    a = assess(_ramp_world(ramp_from=ANOMALY_AT), _cart_anomaly(), SETTINGS)
    assert a is not None and a.risk_report is not None
    assert a.risk_report.onset == START + timedelta(minutes=ANOMALY_AT)
    assert not any("first minutes" in x for x in a.assumptions)


def test_a_merchant_named_by_another_stages_signal_keeps_its_money_with_its_own_stages_cause() -> None:
    # Webhook failures on wave_1 (A); checkout latency on wave_2 (B, C). The webhook signal also names B for one
    # ordinary webhook failure there; B's loss is the latency's, not the webhook's (before: the first cause
    # whose signal named a merchant took its money, 226 % over on the webhook cause in the two-fault benchmark).
    rows = metrics("A", "wave_1", [2] * 60, [0] * 60, 50.0)
    rows += metrics("B", "wave_2", [4] * 60, [1] * 60, 40.0) + metrics(
        "C", "wave_2", [2] * 60, [0] * 60, 40.0
    )
    bases = [
        baseline("A", "wave_1", 1000, 600, 30000.0),
        baseline("B", "wave_2", 2000, 1200, 48000.0),
        baseline("C", "wave_2", 1000, 600, 24000.0),
    ]
    obs = observation(rows, bases, {"A": "wave_1", "B": "wave_2", "C": "wave_2"})
    webhook = tuple(
        x.model_copy(update={"dimensions": x.dimensions.model_copy(update={"merchants": ("A", "B")})})
        for x in SIGNATURES["webhook_delivery"]
    )
    latency = tuple(
        x.model_copy(
            update={
                "dimensions": x.dimensions.model_copy(update={"stages": ("wave_2",), "merchants": ("B", "C")})
            }
        )
        for x in SIGNATURES["checkout_latency"]
    )
    findings = Findings(anomalies=(*webhook, *latency), soft_failures=(gap("A", "wave_1", 60, 50),))
    a = assess(obs, findings, SETTINGS)
    assert a is not None
    causes = {c.category: c for c in (a.root_cause, *a.concurrent_causes)}
    assert set(causes) == {Category.webhook_delivery, Category.checkout_latency}
    assert causes[Category.webhook_delivery].merchants == ("A",)
    assert causes[Category.checkout_latency].merchants == ("B", "C")
    lost = {m.merchant_id: m.lost_revenue.value for m in a.blast_radius.merchants}
    web, lat = causes[Category.webhook_delivery].lost_revenue, causes[Category.checkout_latency].lost_revenue
    assert web is not None and lat is not None
    assert abs(web.value - lost["A"]) < 0.01
    assert abs(lat.value - lost["B"] - lost["C"]) < 0.01


def _slow_ramp_world() -> tuple[Observation, Findings]:
    """A (wave_1): 20 checkouts a minute at baseline conversion 0.5; from minute `RAMP_FROM` its checkouts turn
    slow (> 1 s, 4 more a minute until all 20 are), and a quarter of the would-be buyers of a fully slow minute
    leave without an error: silent abandonment. The slowness anomaly's onset is at minute `ANOMALY_AT`."""
    slow = [0 if i < RAMP_FROM else min(20, 4 * (i - RAMP_FROM + 1)) for i in range(WINDOW)]
    rows, bases = _a_against_clean_e([10 - s // 4 for s in slow])
    rollups = []
    for merchant, stage, n_slow in [("A", "wave_1", slow), ("E", "legacy", [0] * WINDOW)]:
        for i in range(WINDOW):
            hist = [0] * N_BUCKETS
            hist[9] = 20 - n_slow[i]  # 200-300 ms
            hist[14] = n_slow[i]  # 1-1.5 s
            rollups.append(
                api_rollup(
                    merchant, stage, START + timedelta(minutes=i), "2xx", 20, "POST /api/checkout"
                ).model_copy(update={"latency_hist": tuple(hist)})
            )
    obs = observation(rows, bases, {"A": "wave_1", "E": "legacy"})
    a = anomaly(
        "slow",
        "latency_p95",
        endpoint="POST /api/checkout",
        stages=("wave_1",),
        merchants=("A",),
        onset_minutes_ago=WINDOW - ANOMALY_AT,
    )
    a = a.model_copy(
        update={
            "observed": 1200.0,
            "expected": 300.0,
            "dimensions": a.dimensions.model_copy(update={"sources": ("api",)}),
        }
    )
    return obs.model_copy(update={"rollups": tuple(rollups)}), Findings(anomalies=(a,))


def test_a_ramped_slowdown_is_costed_from_its_first_slow_minute() -> None:
    # Silent abandonment: no request fails, the loss is expected minus actual orders. From the anomaly's onset
    # it would be 40 minutes x 5 = 200 orders; the ramp's 10 minutes before it lost 1 + 2 + 3 + 4 + 5 x 6 = 40.
    obs, findings = _slow_ramp_world()
    a = assess(obs, findings, SETTINGS)
    assert a is not None and a.root_cause.category == Category.checkout_latency
    report = a.risk_report
    assert report is not None
    assert report.onset == START + timedelta(minutes=RAMP_FROM)
    assert abs(report.lost_orders.value - 240) < 1
