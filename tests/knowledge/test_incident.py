from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.cycle import CycleDeps, run_cycle
from selfheal.knowledge.base import KnowledgeBase
from selfheal.knowledge.starter import load_starter_runbooks
from selfheal.reason.model import (
    Anomaly,
    AnomalyKind,
    Dimensions,
    Findings,
    RepresentativeTicket,
    Severity,
    SoftFailureGap,
    TicketTheme,
)
from selfheal.reason.runbooks import attach_runbooks, build_incident_query
from selfheal.settings import Settings
from selfheal.signals import LogEvent
from selfheal.store import Store, signals_repo

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _anomaly(
    endpoint: str, code: str, metric: str = "error_rate", severity: Severity = Severity.high
) -> Anomaly:
    return Anomaly(
        id=f"a-{endpoint}-{code}",
        kind=AnomalyKind.hard,
        severity=severity,
        score=0.9,
        method="test",
        series=f"error rate {endpoint} {code}",
        metric=metric,
        onset=T0,
        observed=0.4,
        expected=0.01,
        dimensions=Dimensions(endpoints=(endpoint,), status_codes=(code,), sources=("api",)),
    )


def test_query_built_from_findings() -> None:
    findings = Findings(
        anomalies=(
            _anomaly("POST /api/checkout", "401"),
            _anomaly("GET /api/cart", "409", severity=Severity.low),
        ),
        themes=(
            TicketTheme(
                id="t1",
                label="cannot check out",
                top_terms=("unauthorized", "logged", "checkout"),
                size=12,
                representatives=(RepresentativeTicket(ticket_id="x", subject="s", body="b"),),
            ),
        ),
    )
    query = build_incident_query(findings, hypothesis="API key rotated")
    assert query.startswith("API key rotated")
    assert query.index("/api/checkout") < query.index("/api/cart")  # worst anomaly first
    for word in ("401", "unauthorized", "logged"):
        assert word in query
    assert len(query.split()) == len({w.lower() for w in query.split()})
    assert build_incident_query(Findings()) == ""


def test_attach_runbooks_picks_the_matching_runbook(kb: KnowledgeBase) -> None:
    load_starter_runbooks(kb)
    cases = {
        "api-auth-401-403.md": Findings(anomalies=(_anomaly("POST /api/checkout", "401"),)),
        "payment-provider-errors.md": Findings(anomalies=(_anomaly("POST /payments/authorize", "503"),)),
        "cart-sync-mismatch.md": Findings(anomalies=(_anomaly("GET /api/cart", "409"),)),
        "checkout-latency.md": Findings(
            anomalies=(_anomaly("POST /api/checkout", "504", metric="latency_p95"),)
        ),
        "webhook-order-created-403.md": Findings(
            anomalies=(_anomaly("POST /webhooks/order-created", "403"),),
            soft_failures=(
                SoftFailureGap(
                    merchant_id="m1", migration_stage="wave_1", payments=10, missing_orders=9, rate=0.9
                ),
            ),
        ),
    }
    for expected, findings in cases.items():
        out = attach_runbooks(findings, kb, top=3)
        assert out.retrieval_query
        assert out.runbook_context[0].document == expected, (expected, out.retrieval_query)
        assert out.runbook_context[0].section
        assert out.runbook_context[0].score >= out.runbook_context[-1].score
    assert attach_runbooks(Findings(), kb, top=3).runbook_context == ()
    assert attach_runbooks(cases["cart-sync-mismatch.md"], None, top=3).runbook_context == ()


def test_cycle_attaches_runbook_context(kb: KnowledgeBase, store: Store, settings: Settings) -> None:
    load_starter_runbooks(kb)
    events = []
    for i in range(20):
        ts = T0 - timedelta(minutes=50) + timedelta(minutes=i)
        cid = f"c{i}"
        events.append(
            LogEvent(
                ts=ts,
                merchant_id="m1",
                source="payment",
                endpoint="POST /payments/capture",
                status_code=200,
                event="payment.succeeded",
                correlation_id=cid,
                migration_stage="wave_1",
            )
        )
        if i % 4 == 0:
            events.append(
                LogEvent(
                    ts=ts + timedelta(seconds=5),
                    merchant_id="m1",
                    source="webhook",
                    endpoint="POST /webhooks/order-created",
                    status_code=200,
                    event="order.created",
                    correlation_id=cid,
                    migration_stage="wave_1",
                )
            )
    with store.transaction() as conn:
        signals_repo.store_logs(conn, events)
    result = run_cycle(CycleDeps(store=store, settings=settings, retriever=kb), as_of=T0, window_minutes=60)
    findings = result.findings
    assert findings.soft_failures
    assert findings.retrieval_query and "order" in findings.retrieval_query
    assert findings.runbook_context
    assert findings.runbook_context[0].document.startswith("webhook-order-created")
