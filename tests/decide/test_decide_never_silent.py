"""Issue #14: the decide stage is never silent on a serious failure, tells causes apart by what the failing
requests are for and the status codes they got, and splits the money between concurrent causes."""

from __future__ import annotations

from datetime import timedelta

from kit import AS_OF, anomaly, baseline, gap, metrics, observation

from selfheal.decide import assess
from selfheal.decide.model import Category
from selfheal.observe.model import ErrorCodeCount
from selfheal.reason.model import Anomaly, AnomalyKind, Findings, Severity
from selfheal.settings import Settings

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")


def _with(a: Anomaly, **dims: object) -> Anomaly:
    return a.model_copy(update={"dimensions": a.dimensions.model_copy(update=dims)})


def _codes(*items: tuple[str, str, int, int]) -> tuple[ErrorCodeCount, ...]:
    return tuple(ErrorCodeCount(source=s, endpoint=e, status_code=str(c), count=n) for s, e, c, n in items)


def _obs_ab(orders_a: int = 0, **update: object):  # type: ignore[no-untyped-def]
    rows = metrics("A", "wave_1", [3] * 60, [orders_a] * 60, 50.0) + metrics(
        "B", "legacy", [2] * 60, [1] * 60, 40.0
    )
    bases = [baseline("A", "wave_1", 1500, 900, 45000.0), baseline("B", "legacy", 1000, 600, 24000.0)]
    return observation(rows, bases, {"A": "wave_1", "B": "legacy"}).model_copy(update=update)


def test_cold_start_webhook_403_opens_an_incident_costed_from_the_window() -> None:
    # A fresh installation: one hour of data, no baseline; 15 orders a minute, then 5 a minute for 20 minutes
    # while every order webhook is answered 403.
    rows = metrics("S", "headless", [25] * 60, [15] * 40 + [5] * 20, 60.0)
    obs = observation(rows, [], {"S": "headless"})
    webhook = anomaly(
        "wh",
        "error_rate",
        endpoint="POST /webhooks/order-created",
        status="4xx",
        merchants=("S",),
        onset_minutes_ago=20,
    )
    webhook = webhook.model_copy(
        update={
            "observed": 0.67,
            "dimensions": webhook.dimensions.model_copy(update={"sources": ("webhook",)}),
        }
    )
    a = assess(obs, Findings(anomalies=(webhook,)), SETTINGS)
    assert a is not None
    assert a.root_cause.category == Category.webhook_delivery
    assert a.blast_radius.stages == ("headless",)
    assert a.risk_report is not None and 150 <= a.risk_report.lost_orders.value <= 250  # 20 min x 10 a minute
    assert any("No history" in x for x in a.assumptions)
    assert any("no history yet" in x for x in a.uncertainties)


def test_provider_503_on_logs_without_stage_is_placed_by_the_merchants_stage() -> None:
    psp = anomaly(
        "psp",
        "error_rate",
        endpoint="POST /payments/authorize",
        status="5xx",
        merchants=("A",),
        severity=Severity.critical,
    )
    psp = _with(psp, sources=("payment",))
    obs = _obs_ab(codes=None, error_codes=_codes(("payment", "POST /payments/authorize", 503, 120)))
    a = assess(obs, Findings(anomalies=(psp,)), SETTINGS)
    assert a is not None
    assert a.root_cause.category == Category.payment_provider
    assert a.blast_radius.stages == ("wave_1",)
    assert [m.merchant_id for m in a.blast_radius.merchants] == ["A"]


def test_401_and_403_on_cart_and_checkout_is_auth_not_a_tie_with_cart_sync() -> None:
    cart = _with(
        anomaly("cart", "error_rate", endpoint="GET /api/cart", status="4xx", stages=("wave_1",)),
        sources=("api",),
    )
    checkout = _with(
        anomaly("co", "error_rate", endpoint="POST /api/checkout", status="4xx", stages=("wave_1",)),
        sources=("api",),
    )
    obs = _obs_ab(
        error_codes=_codes(
            ("api", "GET /api/cart", 401, 40),
            ("api", "GET /api/cart", 403, 35),
            ("api", "POST /api/checkout", 401, 60),
            ("api", "POST /api/checkout", 403, 50),
        )
    )
    a = assess(obs, Findings(anomalies=(cart, checkout)), SETTINGS)
    assert a is not None
    assert a.root_cause.category == Category.api_auth
    assert a.root_cause.confidence >= 0.8
    # the same endpoints answering 409 are a sync problem
    obs409 = _obs_ab(error_codes=_codes(("api", "GET /api/cart", 409, 80)))
    b = assess(obs409, Findings(anomalies=(cart,)), SETTINGS)
    assert b is not None and b.root_cause.category == Category.cart_sync


def test_graphql_endpoint_is_told_apart_by_its_status_codes() -> None:
    gql = _with(
        anomaly("gql", "error_rate", endpoint="POST /graphql", status="4xx", stages=("wave_1",)),
        sources=("api",),
    )
    for code, category in ((409, Category.cart_sync), (401, Category.api_auth)):
        obs = _obs_ab(error_codes=_codes(("api", "POST /graphql", code, 90)))
        a = assess(obs, Findings(anomalies=(gql,)), SETTINGS)
        assert a is not None and a.root_cause.category == category


def test_versioned_webhook_path_is_still_a_webhook() -> None:
    wh = _with(
        anomaly("wh", "error_rate", endpoint="POST /hooks/v2/orders", status="5xx", stages=("wave_1",)),
        sources=("webhook",),
    )
    a = assess(_obs_ab(), Findings(anomalies=(wh,), soft_failures=(gap("A", "wave_1", 90, 80),)), SETTINGS)
    assert a is not None and a.root_cause.category == Category.webhook_delivery


def test_critical_business_failure_without_a_known_cause_opens_unknown_with_alternatives() -> None:
    drop = anomaly(
        "orders-drop",
        "orders",
        stages=("wave_1",),
        kind=AnomalyKind.business,
        severity=Severity.critical,
    )
    a = assess(_obs_ab(), Findings(anomalies=(drop,)), SETTINGS)
    assert a is not None
    assert a.root_cause.category == Category.unknown
    assert a.alternatives
    assert a.blast_radius.stages == ("wave_1",)


def test_business_failure_without_stage_or_merchant_counts_every_merchant() -> None:
    drop = anomaly("drop", "checkout_failure_rate", kind=AnomalyKind.business, severity=Severity.high)
    a = assess(_obs_ab(), Findings(anomalies=(drop,)), SETTINGS)
    assert a is not None
    assert any("name no stage or merchant" in x for x in a.assumptions)


def test_an_uncertain_loss_behind_a_near_total_failure_still_opens_and_says_so() -> None:
    # A thinly known merchant: 40 attempts, 18 orders against 24 expected; the interval reaches zero.
    rows = metrics("A", "wave_1", [1] * 20 + [0] * 20 + [1] * 20, [1] * 18 + [0] * 42, 50.0)
    obs = observation(rows, [baseline("A", "wave_1", 30, 18, 900.0)], {"A": "wave_1"})
    drop = anomaly(
        "drop",
        "orders",
        stages=("wave_1",),
        kind=AnomalyKind.business,
        severity=Severity.critical,
        onset_minutes_ago=60,
    )
    # a business anomaly alone with a loss not measured above zero: no incident (a merchant's own outage)
    assert assess(obs, Findings(anomalies=(drop,)), SETTINGS) is None
    wh = anomaly(
        "wh",
        "error_rate",
        endpoint="POST /webhooks/order-created",
        status="4xx",
        stages=("wave_1",),
        merchants=("A",),
        onset_minutes_ago=60,
    )
    wh = _with(wh, sources=("webhook",)).model_copy(update={"observed": 0.8})
    half = wh.model_copy(update={"observed": 0.3})
    assert assess(obs, Findings(anomalies=(half,)), SETTINGS) is None
    a = assess(obs, Findings(anomalies=(wh,)), SETTINGS)
    assert a is not None and a.risk_report is not None
    assert a.risk_report.lost_orders.low <= 0
    assert any("reaches zero" in x for x in a.uncertainties)


def test_two_causes_each_have_their_own_money_and_the_parts_do_not_exceed_the_total() -> None:
    rows = metrics("A", "wave_1", [3] * 60, [0] * 60, 50.0) + metrics("B", "wave_2", [2] * 60, [0] * 60, 40.0)
    bases = [baseline("A", "wave_1", 1500, 900, 45000.0), baseline("B", "wave_2", 1000, 600, 24000.0)]
    obs = observation(rows, bases, {"A": "wave_1", "B": "wave_2"})
    wh = _with(
        anomaly(
            "wh", "error_rate", endpoint="POST /webhooks/order-created", status="4xx", stages=("wave_1",)
        ),
        sources=("webhook",),
    )
    lat = anomaly(
        "lat", "latency_p95", endpoint="POST /api/checkout", stages=("wave_2",), onset_minutes_ago=42
    )
    a = assess(obs, Findings(anomalies=(wh, lat), soft_failures=(gap("A", "wave_1", 90, 80),)), SETTINGS)
    assert a is not None and a.risk_report is not None
    causes = [a.root_cause, *a.concurrent_causes]
    assert {c.category for c in causes} == {Category.webhook_delivery, Category.checkout_latency}
    by = {c.category: c for c in causes}
    assert by[Category.webhook_delivery].merchants == ("A",)
    assert by[Category.checkout_latency].merchants == ("B",)
    parts = [c.lost_revenue.value for c in causes if c.lost_revenue is not None]
    assert len(parts) == 2 and all(p > 0 for p in parts)
    assert sum(parts) <= a.risk_report.lost_revenue.value + 0.01
    # The loss counts from the incident's onset (not the whole window): A's 3 checkouts a minute since then.
    since = a.risk_report.onset
    assert since is not None
    minutes = sum(1 for r in rows if r.merchant_id == "A" and r.ts >= since.replace(second=0, microsecond=0))
    assert 40 <= minutes < 60
    assert abs(by[Category.webhook_delivery].lost_revenue.value - 0.6 * 3 * minutes * 50) < 1  # type: ignore[union-attr]


def test_nothing_at_all_is_still_nothing() -> None:
    assert assess(_obs_ab(orders_a=2), Findings(), SETTINGS) is None
    _ = AS_OF - timedelta(minutes=1)
