"""The decide stage on hand-built findings: categories, arithmetic of the risk report, gating, actions."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from kit import AS_OF, SIGNATURES, anomaly, baseline, gap, metrics, observation

from selfheal.decide import assess
from selfheal.decide.catalogue import HYPOTHESES, Hypothesis, Match, Rule
from selfheal.decide.facts import facts_from
from selfheal.decide.model import Category, EvidenceKind
from selfheal.decide.scoring import rank
from selfheal.reason.model import AnomalyKind, Findings, RunbookPassage, Severity, ThemeTrend, TicketTheme
from selfheal.settings import Settings

SETTINGS = Settings(data_dir="/nonexistent", database_url="sqlite://")


def _two_merchant_obs(orders_a: int = 1):
    rows = metrics("A", "wave_1", [2] * 60, [orders_a] * 60, 50.0) + metrics(
        "B", "legacy", [2] * 60, [1] * 60, 40.0
    )
    bases = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("B", "legacy", 1000, 600, 24000.0)]
    return observation(rows, bases, {"A": "wave_1", "B": "legacy"})


def _cart_4xx_at_a() -> Findings:
    """Cart reads answered 4xx at merchant A of wave_1, since 40 minutes ago."""
    return Findings(
        anomalies=(
            anomaly(
                "x",
                "error_rate",
                endpoint="GET /api/cart",
                status="4xx",
                stages=("wave_1",),
                merchants=("A",),
            ),
        )
    )


@pytest.mark.parametrize("category", sorted(SIGNATURES))
def test_each_fault_signature_gives_its_category(category: str) -> None:
    findings = Findings(
        anomalies=tuple(
            a.model_copy(update={"dimensions": a.dimensions.model_copy(update={"merchants": ("A",)})})
            for a in SIGNATURES[category]
        ),
        soft_failures=(gap("A", "wave_1", 60, 50),) if category == "webhook_delivery" else (),
    )
    a = assess(_two_merchant_obs(), findings, SETTINGS)
    assert a is not None
    assert a.root_cause.category.value == category
    assert a.root_cause.confidence >= 0.5
    assert a.blast_radius.stages == ("wave_1",)
    assert [m.merchant_id for m in a.blast_radius.merchants] == ["A"]
    assert all(e.source_id for e in a.evidence)
    assert {e.source_id for e in a.evidence if e.supports == category} >= {x.id for x in SIGNATURES[category]}


def test_risk_report_arithmetic_by_hand() -> None:
    # A: baseline 600 orders of 1000 attempts (60 %), AOV 30000 / 600 = 50. Window: 2 attempts and 1 order a
    # minute for 60 minutes; the onset is 40 minutes ago, so the loss counts the last 40: 80 attempts, 40 orders.
    findings = _cart_4xx_at_a()
    a = assess(_two_merchant_obs(), findings, SETTINGS)
    assert a is not None and a.risk_report is not None
    r = a.risk_report
    assert r.expected_orders == pytest.approx(48.0)  # 0.6 x 80 (shrinkage to the stage's own 60 % is neutral)
    assert r.actual_orders == 40
    assert r.lost_orders.value == pytest.approx(8.0)
    assert r.lost_revenue.value == pytest.approx(400.0)  # 8 x 50
    sd = math.sqrt(80 * 0.24 + 80**2 * 0.24 / 1020)  # binomial counterfactual + baseline estimate
    assert r.lost_orders.low == pytest.approx(8 - 1.6449 * sd, abs=0.01)
    assert r.lost_orders.high == pytest.approx(8 + 1.6449 * sd, abs=0.01)
    # Revenue per minute is exactly orders x AOV, so the measured value spread is 0: only the count varies.
    assert r.lost_revenue.high - r.lost_revenue.value == pytest.approx(1.6449 * sd * 50, abs=0.1)
    # Per hour = the loss so far over the same 40 minutes: 8 x 60 / 40; per day = loss per attempt since the
    # onset (8 / 80) x 1000 baseline attempts a day.
    assert r.minutes_affected == 40
    assert r.lost_orders_per_hour.value == pytest.approx(12.0)
    assert r.lost_revenue_per_hour.value == pytest.approx(600.0)
    assert r.lost_orders_per_day.value == pytest.approx(100.0)
    assert r.lost_revenue_per_day.value == pytest.approx(5000.0)
    (m,) = a.blast_radius.merchants
    assert (
        m.merchant_id == "A"
        and m.traffic_share == pytest.approx(0.5)
        and m.lost_revenue.value == pytest.approx(400.0)
        and m.expected_orders == pytest.approx(48.0)
    )
    # One figure per concept, each with its basis: the loss since the onset and the per-hour rate of the same
    # minutes, never the rolling window's sum beside them.
    onset = (AS_OF - timedelta(minutes=40)).strftime("%H:%M")
    assert f"Lost so far since {onset} UTC (40 minutes)" in r.text and "USD 400 in revenue" in r.text
    assert f"At the current rate (the average since {onset} UTC), USD 600 per hour" in r.text
    assert f"Lost so far since {onset} UTC: about 8 orders / USD 400" in a.summary
    assert "USD 600 per hour" in a.summary
    for text in (r.text, a.summary):
        assert (
            "last 60 minutes" not in text
            and "In the 60 minutes" not in text
            and "USD 600 in revenue" not in text
        )


def test_a_merchant_above_its_expectation_is_not_at_risk() -> None:
    # A takes no order (of an expected 1.2 a minute); B, on the same stage, takes 2 of an expected 1.2: the
    # stage is affected, but B is not at risk, and the money counts A's loss only (not A's minus B's gain).
    rows = metrics("A", "wave_1", [2] * 60, [0] * 60, 50.0) + metrics("B", "wave_1", [2] * 60, [2] * 60, 40.0)
    bases = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("B", "wave_1", 1000, 600, 24000.0)]
    obs = observation(rows, bases, {"A": "wave_1", "B": "wave_1"})
    findings = _cart_4xx_at_a()
    a = assess(obs, findings, SETTINGS)
    assert a is not None and a.risk_report is not None
    assert [m.merchant_id for m in a.blast_radius.merchants] == ["A"]
    assert all(m.lost_orders.value > 0 for m in a.blast_radius.merchants)
    assert a.risk_report.lost_orders.value == pytest.approx(48.0)  # 0.6 x 80 attempts since the onset
    assert a.risk_report.lost_revenue.value == pytest.approx(2400.0)
    assert a.root_cause.merchants == ("A",)
    assert "affecting 1 merchant(s)" in a.summary
    # B is judged per merchant (#14): clearly spared, so neither at risk nor in the money.
    assert any("clearly spared and not counted" in x for x in a.assumptions)


def test_a_lucky_merchant_of_a_stage_hit_whole_stays_at_risk_with_its_signed_loss() -> None:
    # The stage is hit whole (A loses half its orders since the onset, 40 minutes ago; C has too little traffic
    # to be judged spared). C took 5 orders of an expected 4.8: above its expectation, but within its noise. It
    # stays at risk (a hit merchant that was lucky), and its -0.2 orders net against A's loss.
    a_orders = [1] * 20 + [1, 0] * 20
    c_attempts = [1, 0, 0, 0, 0] * 12
    c_orders = [0] * 20 + [1, 0, 0, 0, 0] * 5 + [0] * 15
    rows = metrics("A", "wave_1", [2] * 60, a_orders, 50.0) + metrics(
        "C", "wave_1", c_attempts, c_orders, 50.0
    )
    bases = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("C", "wave_1", 1000, 600, 30000.0)]
    obs = observation(rows, bases, {"A": "wave_1", "C": "wave_1"})
    findings = _cart_4xx_at_a()
    a = assess(obs, findings, SETTINGS)
    assert a is not None and a.risk_report is not None
    lost = {m.merchant_id: m.lost_orders.value for m in a.blast_radius.merchants}
    assert set(lost) == {"A", "C"}
    assert lost["C"] == pytest.approx(-0.2)
    assert a.risk_report.lost_orders.value == pytest.approx(lost["A"] + lost["C"])
    assert not any("took at least their expected orders" in x for x in a.assumptions)


def test_no_loss_no_incident() -> None:
    findings = Findings(anomalies=SIGNATURES["api_auth"])
    assert assess(_two_merchant_obs(orders_a=1 + 0), Findings(), SETTINGS) is None
    # A's orders at its baseline rate (72 of 120 would be 1.2 a minute): 2 a minute is more than expected
    assert assess(_two_merchant_obs(orders_a=2), findings, SETTINGS) is None


def test_low_traffic_merchant_does_not_open_an_incident() -> None:
    rows = metrics("L", "wave_2", [0] * 57 + [1, 1, 1], [0] * 60, 80.0)
    obs = observation(rows, [baseline("L", "wave_2", 60, 36, 2880.0)], {"L": "wave_2"})
    findings = Findings(
        anomalies=(
            anomaly(
                "l",
                "error_rate",
                endpoint="POST /api/checkout",
                status="4xx",
                stages=("wave_2",),
                merchants=("L",),
                severity=Severity.medium,
            ),
        ),
        soft_failures=(gap("L", "wave_2", 2, 2),),
    )
    assert assess(obs, findings, SETTINGS) is None


def test_unknown_when_nothing_in_the_catalogue_fits() -> None:
    odd = anomaly(
        "odd",
        "error_rate",
        endpoint="GET /api/search",
        status="5xx",
        stages=("wave_1",),
        merchants=("A",),
        severity=Severity.critical,
    )
    a = assess(_two_merchant_obs(), Findings(anomalies=(odd,)), SETTINGS)
    assert a is not None
    assert a.root_cause.category == Category.unknown
    assert any(x.key == "open_investigation" for x in a.actions)


def test_tickets_and_runbooks_add_evidence_with_their_ids() -> None:
    theme = TicketTheme(
        id="theme-1",
        label="charged but no order",
        top_terms=("charged", "order", "missing"),
        size=6,
        representatives=(),
        trend=ThemeTrend.growing,
    )
    passage = RunbookPassage(
        chunk_id="rb-webhooks#3",
        document="webhooks.md",
        section="Signing secret",
        text="Rotate the webhook signing secret",
        score=0.8,
    )
    findings = Findings(
        anomalies=SIGNATURES["webhook_delivery"],
        themes=(theme,),
        runbook_context=(passage,),
        soft_failures=(gap("A", "wave_1", 60, 50),),
    )
    a = assess(_two_merchant_obs(), findings, SETTINGS)
    assert a is not None
    kinds = {(e.kind, e.source_id) for e in a.evidence if e.supports == "webhook_delivery"}
    assert (EvidenceKind.theme, "theme-1") in kinds
    assert (EvidenceKind.runbook, "rb-webhooks#3") in kinds
    assert (EvidenceKind.soft_failure, "soft_failure:wave_1") in kinds


def test_contradicting_evidence_lowers_confidence() -> None:
    base = rank(facts_from(Findings(soft_failures=(gap("A", "wave_1", 60, 50),))))
    against = rank(
        facts_from(
            Findings(soft_failures=(gap("A", "wave_1", 60, 50),), anomalies=SIGNATURES["payment_provider"])
        )
    )
    conf = lambda ranking: next(s.confidence for s in ranking if s.category == Category.webhook_delivery)
    assert conf(against) < conf(base)


def test_a_new_root_cause_is_one_catalogue_entry() -> None:
    search = Hypothesis(
        category=Category.unknown,
        hypothesis="Search is down",
        rules=(
            Rule(
                when=Match(signal="anomaly", endpoint="/api/search"),
                weight=4.0,
                says="search fails",
                locates=True,
            ),
        ),
    )
    facts = facts_from(
        Findings(anomalies=(anomaly("s", "error_rate", endpoint="GET /api/search", status="5xx"),))
    )
    assert rank(facts, (*HYPOTHESES, search))[0].hypothesis == "Search is down"
    assert rank(facts)[0].hypothesis != "Search is down"


def test_actions_follow_the_catalogue_and_page_when_severe() -> None:
    findings = Findings(anomalies=SIGNATURES["cart_sync"])
    a = assess(_two_merchant_obs(orders_a=0), findings, SETTINGS)
    assert a is not None
    keys = [x.key for x in a.actions]
    assert "rollback_stage_to_legacy" in keys
    rollback = next(x for x in a.actions if x.key == "rollback_stage_to_legacy")
    assert (
        rollback.requires_approval
        and rollback.risk.value == "high"
        and rollback.params["stages"] == ["wave_1"]
    )
    assert a.severity in (Severity.high, Severity.critical)
    assert "page_on_call" in keys
    w = assess(_two_merchant_obs(orders_a=0), Findings(soft_failures=(gap("A", "wave_1", 70, 60),)), SETTINGS)
    assert w is not None
    assert {"rotate_webhook_secret", "replay_failed_webhooks", "notify_merchants"} <= {
        x.key for x in w.actions
    }
    replay = next(x for x in w.actions if x.key == "replay_failed_webhooks")
    assert replay.params["example_correlation_ids"][0] == "pay-A-0"


def test_assumptions_are_written_from_the_data() -> None:
    # C has 4 baseline orders: its AOV comes from the stage, and the assessment says so with the count.
    rows = metrics("A", "wave_1", [2] * 60, [0] * 60, 50.0) + metrics("C", "wave_1", [1] * 60, [0] * 60, 50.0)
    bases = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("C", "wave_1", 7, 4, 200.0)]
    obs = observation(rows, bases, {"A": "wave_1", "C": "wave_1"})
    a = assess(obs, Findings(anomalies=SIGNATURES["api_auth"]), SETTINGS)
    assert a is not None
    text = " ".join(a.assumptions)
    assert "C (4 orders)" in text and "C (7 attempts)" in text
    assert a.summary and AS_OF.strftime("%H:%M") not in a.title
    assert all(kind != AnomalyKind.soft for kind in ())


def test_two_causes_on_separate_stages_are_both_reported() -> None:
    rows = metrics("A", "wave_1", [2] * 60, [0] * 60, 50.0) + metrics("B", "wave_2", [2] * 60, [0] * 60, 40.0)
    bases = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("B", "wave_2", 1000, 600, 24000.0)]
    obs = observation(rows, bases, {"A": "wave_1", "B": "wave_2"})
    latency = tuple(
        x.model_copy(update={"dimensions": x.dimensions.model_copy(update={"stages": ("wave_2",)})})
        for x in SIGNATURES["checkout_latency"]
    )
    findings = Findings(
        anomalies=(*SIGNATURES["webhook_delivery"], *latency), soft_failures=(gap("A", "wave_1", 60, 50),)
    )
    a = assess(obs, findings, SETTINGS)
    assert a is not None
    causes = {a.root_cause.category, *(c.category for c in a.concurrent_causes)}
    assert causes == {Category.webhook_delivery, Category.checkout_latency}
    assert set(a.blast_radius.stages) == {"wave_1", "wave_2"}
    by_cat = {c.category: c.stages for c in (a.root_cause, *a.concurrent_causes)}
    assert by_cat[Category.checkout_latency] == ("wave_2",)
